package certlogic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// SuiteKind tells the two test-suite formats of the CertLogic specification
// apart.
type SuiteKind int

const (
	// EvaluationSuite files (testSuite/*.json) give expressions, data and
	// the value each evaluates to.
	EvaluationSuite SuiteKind = iota
	// ValidationSuite files (validation-testSuite/*.json) give expressions
	// and the problems a validator must report for them.
	ValidationSuite
)

func (k SuiteKind) String() string {
	if k == ValidationSuite {
		return "validation"
	}
	return "evaluation"
}

// Test directives of the suite schema: "skip" leaves a suite, case or
// assertion out; "only" on a case leaves out the cases of its suite that do
// not carry it. ("only" on a suite, which the JavaScript runner applies
// across files, is ignored.)
const (
	directiveSkip = "skip"
	directiveOnly = "only"
)

// Suite is one test-suite file of either format.
type Suite struct {
	Name      string
	Path      string // the file it was read from, if any
	Kind      SuiteKind
	Directive string
	Cases     []Case
}

// Case is a named group of checks. In an evaluation suite, Expression is the
// default for assertions without one of their own; in a validation suite, it
// is the expression to validate and Issues the problems expected.
type Case struct {
	Name          string
	Directive     string
	Expression    any
	HasExpression bool // Expression is given (it may be null)
	Assertions    []Assertion
	Issues        []Issue
}

// Assertion is one evaluation check.
type Assertion struct {
	Expression    any
	HasExpression bool
	Data          any
	Expected      any
	Directive     string
	Message       string
}

// Issue is one problem a validator must report.
type Issue struct {
	Expr    any
	Message string
}

// LoadSuite reads a test-suite file and detects its format from its cases:
// "assertions" mark an evaluation suite, "issues" a validation suite.
func LoadSuite(path string) (*Suite, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("certlogic: reading test suite: %w", err)
	}
	s, err := ParseSuite(b)
	if err != nil {
		return nil, fmt.Errorf("certlogic: test suite %s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// ParseSuite is LoadSuite for a suite already in memory.
func ParseSuite(b []byte) (*Suite, error) {
	var raw struct {
		Name      *string           `json:"name"`
		Cases     []json.RawMessage `json:"cases"`
		Directive string            `json:"directive"`
	}
	if err := decodeStrict(b, &raw, false); err != nil {
		return nil, err
	}
	if raw.Name == nil {
		return nil, errors.New(`missing "name"`)
	}
	if raw.Cases == nil {
		return nil, errors.New(`missing "cases" array`)
	}
	if err := checkDirective(raw.Directive); err != nil {
		return nil, err
	}
	s := &Suite{Name: *raw.Name, Directive: raw.Directive}
	for i, rc := range raw.Cases {
		c, kind, err := parseCase(rc)
		if err != nil {
			return nil, fmt.Errorf("case #%d: %w", i+1, err)
		}
		if i == 0 {
			s.Kind = kind
		} else if kind != s.Kind {
			return nil, fmt.Errorf("case #%d is a %s case in a suite whose first case is a %s case", i+1, kind, s.Kind)
		}
		s.Cases = append(s.Cases, c)
	}
	return s, nil
}

func parseCase(b json.RawMessage) (Case, SuiteKind, error) {
	var raw struct {
		Name       *string           `json:"name"`
		Directive  string            `json:"directive"`
		Expression json.RawMessage   `json:"certLogicExpression"`
		Assertions []json.RawMessage `json:"assertions"`
		Issues     []json.RawMessage `json:"issues"`
	}
	if err := decodeStrict(b, &raw, true); err != nil {
		return Case{}, 0, err
	}
	if err := checkDirective(raw.Directive); err != nil {
		return Case{}, 0, err
	}
	c := Case{Directive: raw.Directive}
	if raw.Name != nil {
		c.Name = *raw.Name
	}
	var err error
	if c.Expression, c.HasExpression, err = decodeOptional(raw.Expression); err != nil {
		return Case{}, 0, fmt.Errorf("certLogicExpression: %w", err)
	}
	switch {
	case raw.Assertions != nil && raw.Issues != nil:
		return Case{}, 0, errors.New(`has both "assertions" and "issues"`)
	case raw.Issues != nil:
		if !c.HasExpression {
			return Case{}, 0, errors.New(`validation case without "certLogicExpression"`)
		}
		for j, ri := range raw.Issues {
			var issue struct {
				Expr    json.RawMessage `json:"expr"`
				Message *string         `json:"message"`
			}
			if err := decodeStrict(ri, &issue, false); err != nil {
				return Case{}, 0, fmt.Errorf("issue #%d: %w", j+1, err)
			}
			expr, has, err := decodeOptional(issue.Expr)
			if err != nil || !has || issue.Message == nil {
				return Case{}, 0, fmt.Errorf(`issue #%d: needs "expr" and a string "message"`, j+1)
			}
			c.Issues = append(c.Issues, Issue{Expr: expr, Message: *issue.Message})
		}
		if c.Issues == nil {
			c.Issues = []Issue{}
		}
		return c, ValidationSuite, nil
	case raw.Assertions != nil:
		if raw.Name == nil {
			return Case{}, 0, errors.New(`evaluation case without "name"`)
		}
		for j, ra := range raw.Assertions {
			a, err := parseAssertion(ra)
			if err != nil {
				return Case{}, 0, fmt.Errorf("%q assertion #%d: %w", c.Name, j+1, err)
			}
			if !a.HasExpression && !c.HasExpression {
				return Case{}, 0, fmt.Errorf(`%q assertion #%d: no "certLogicExpression" on the assertion nor on its case`, c.Name, j+1)
			}
			c.Assertions = append(c.Assertions, a)
		}
		return c, EvaluationSuite, nil
	}
	return Case{}, 0, errors.New(`has neither "assertions" nor "issues"`)
}

func parseAssertion(b json.RawMessage) (Assertion, error) {
	var raw struct {
		Expression json.RawMessage `json:"certLogicExpression"`
		Data       json.RawMessage `json:"data"`
		Expected   json.RawMessage `json:"expected"`
		Directive  string          `json:"directive"`
		Message    string          `json:"message"`
	}
	if err := decodeStrict(b, &raw, false); err != nil {
		return Assertion{}, err
	}
	if err := checkDirective(raw.Directive); err != nil {
		return Assertion{}, err
	}
	a := Assertion{Directive: raw.Directive, Message: raw.Message}
	var err error
	var hasData, hasExpected bool
	if a.Expression, a.HasExpression, err = decodeOptional(raw.Expression); err != nil {
		return Assertion{}, fmt.Errorf("certLogicExpression: %w", err)
	}
	if a.Data, hasData, err = decodeOptional(raw.Data); err != nil {
		return Assertion{}, fmt.Errorf("data: %w", err)
	}
	if a.Expected, hasExpected, err = decodeOptional(raw.Expected); err != nil {
		return Assertion{}, fmt.Errorf("expected: %w", err)
	}
	if !hasData || !hasExpected {
		return Assertion{}, errors.New(`needs both "data" and "expected"`)
	}
	return a, nil
}

func checkDirective(d string) error {
	if d != "" && d != directiveSkip && d != directiveOnly {
		return fmt.Errorf("unknown directive %q (want %q or %q)", d, directiveSkip, directiveOnly)
	}
	return nil
}

// decodeStrict decodes one JSON value into v, numbers as json.Number,
// rejecting trailing data and, if strict, unknown fields.
func decodeStrict(b []byte, v any, strict bool) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("unexpected data after the JSON value")
	}
	return nil
}

// decodeOptional decodes a field kept raw so that a missing field (no
// bytes) and an explicit null can be told apart.
func decodeOptional(raw json.RawMessage) (any, bool, error) {
	if raw == nil {
		return nil, false, nil
	}
	var v any
	if err := decodeStrict(raw, &v, false); err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// CaseResult is the outcome of one check: an assertion of an evaluation
// suite, or the single validation check of a validation case (Assertion 1).
// Assertion counts from 1. Message says why a check failed, and is empty for
// one that passed or was skipped.
type CaseResult struct {
	Suite     string
	Case      string
	Assertion int
	Passed    bool
	Skipped   bool
	Message   string
}

// RunSuite runs every check of a suite and reports each.
func RunSuite(s *Suite) []CaseResult {
	onlySome := false
	for _, c := range s.Cases {
		onlySome = onlySome || c.Directive == directiveOnly
	}
	var results []CaseResult
	for i, c := range s.Cases {
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("case #%d %s", i+1, render(c.Expression))
		}
		skipCase := s.Directive == directiveSkip || c.Directive == directiveSkip || (onlySome && c.Directive != directiveOnly)
		if s.Kind == ValidationSuite {
			r := CaseResult{Suite: s.Name, Case: name, Assertion: 1, Skipped: skipCase}
			if !skipCase {
				r.Message = checkValidation(c)
				r.Passed = r.Message == ""
			}
			results = append(results, r)
			continue
		}
		for j, a := range c.Assertions {
			r := CaseResult{Suite: s.Name, Case: name, Assertion: j + 1, Skipped: skipCase || a.Directive == directiveSkip}
			if !r.Skipped {
				r.Message = checkAssertion(c, a)
				r.Passed = r.Message == ""
			}
			results = append(results, r)
		}
	}
	return results
}

// checkAssertion returns why an assertion fails, or "" if it holds.
func checkAssertion(c Case, a Assertion) string {
	expr := c.Expression
	if a.HasExpression {
		expr = a.Expression
	}
	prefix := ""
	if a.Message != "" {
		prefix = a.Message + ": "
	}
	got, err := Evaluate(expr, a.Data)
	if err != nil {
		return fmt.Sprintf("%sexpected %s, got error: %v", prefix, render(a.Expected), err)
	}
	if !jsonEqual(got, a.Expected) {
		return fmt.Sprintf("%sexpected %s, got %s", prefix, render(a.Expected), render(got))
	}
	return ""
}

// checkValidation returns why Validate disagrees with the expected issues,
// or "" if it reports exactly those (in any order).
func checkValidation(c Case) string {
	errs := Validate(c.Expression)
	got := make([]Issue, 0, len(errs))
	for _, err := range errs {
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return fmt.Sprintf("validator returned an error of unexpected type: %v", err)
		}
		got = append(got, Issue{Expr: ve.Expr, Message: ve.Message})
	}
	if issuesMatch(got, c.Issues) {
		return ""
	}
	return fmt.Sprintf("expected issues %s, got %s", renderIssues(c.Issues), renderIssues(got))
}

// issuesMatch compares two issue lists as multisets.
func issuesMatch(got, want []Issue) bool {
	if len(got) != len(want) {
		return false
	}
	used := make([]bool, len(got))
	for _, w := range want {
		found := false
		for i, g := range got {
			if !used[i] && g.Message == w.Message && jsonEqual(g.Expr, w.Expr) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func renderIssues(issues []Issue) string {
	if len(issues) == 0 {
		return "none"
	}
	parts := make([]string, len(issues))
	for i, is := range issues {
		parts[i] = fmt.Sprintf("%q at %s", is.Message, render(is.Expr))
	}
	sort.Strings(parts)
	return "[" + strings.Join(parts, "; ") + "]"
}
