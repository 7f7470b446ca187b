package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/corridorlane/corridor/internal/bundle"
	"github.com/corridorlane/corridor/internal/certlogic"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/qr"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/internal/verify"
)

func init() {
	register(command{name: "verify", summary: "check an HC1 credential (text, file, PNG/JPEG photo or -) step by step; exit 0 valid, 1 invalid", run: runVerify})
}

const verifyUsage = "verify [--bundle FILE] [--trust FILE]... [--pin CSCA] [--revocation FILE] [--rules FILE] [--country CC] [--valuesets DIR] [--at RFC3339] [--json] INPUT | --batch FILE"

// maxTextInput bounds an HC1 file or standard input read as text: a QR code
// holds at most 4,296 characters.
const maxTextInput = 1 << 20

func runVerify(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "verify", verifyUsage)
	var trustFiles stringList
	fs.Var(&trustFiles, "trust", "trusted signers: a Corridor trust list, an EU gateway trust list, or one signer certificate (PEM, DER or base64 DER); repeatable")
	pin := fs.String("pin", "", "CSCA certificate (PEM or DER) that Corridor trust lists and revocation lists must be signed by")
	revFile := fs.String("revocation", "", "signed revocation list")
	rulesFile := fs.String("rules", "", "entry rules: EU business-rule JSON (one rule or an array) or a corridor policy document")
	country := fs.String("country", "", "country of arrival, for the rules (default: apply rules of every country)")
	region := fs.String("region", "", "region of arrival, for rules scoped to a region")
	valueSets := fs.String("valuesets", "", "folder of EU DCC value-set JSON files, passed to the rules")
	var at timeFlag
	fs.Var(&at, "at", "validation clock, RFC 3339 (default: now)")
	asJSON := fs.Bool("json", false, "print the verdict as one JSON object (JSON lines with --batch)")
	batch := fs.String("batch", "", "file with one HC1 string per line (a flight manifest); checked on every core")
	bundleFile := fs.String("bundle", "", "offline bundle from a node's /api/v1/bundle: its trust list, revocation list, entry rules and value sets, checked against --pin (or its own CSCA, with a warning)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if (*batch == "") == (fs.NArg() != 1) {
		return usageErrorf("give exactly one INPUT (an HC1 string, a file, a PNG/JPEG picture or -), or --batch FILE")
	}
	clock := at.t
	if clock.IsZero() {
		clock = time.Now()
	}

	v := &verify.Verifier{Country: strings.ToUpper(*country), Region: *region}
	if *bundleFile != "" {
		bv, err := loadBundle(e, *bundleFile, *pin, v.Country, v.Region, clock)
		if err != nil {
			return err
		}
		v = bv
		// Further --trust files add signers beside the bundle's.
		for _, f := range trustFiles {
			if _, err := v.Trust.LoadFile(f, trust.LoadOptions{At: clock}); err != nil {
				return usageErrorf("--trust %s: refused: %v", f, err)
			}
		}
		if *revFile != "" {
			return usageErrorf("--revocation: the bundle carries its own revocation list")
		}
	} else if err := loadTrust(v, trustFiles, *pin, *revFile, clock); err != nil {
		return err
	}
	if *rulesFile != "" {
		rules, err := loadRules(*rulesFile)
		if err != nil {
			return err
		}
		v.Rules = rules
	}
	if *valueSets != "" {
		vs, err := dcc.LoadValueSets(*valueSets)
		if err != nil {
			return usageErrorf("--valuesets %s: %v", *valueSets, err)
		}
		v.ValueSets = vs
	}

	if *batch != "" {
		return verifyBatch(e, v, *batch, clock, *asJSON)
	}
	res, err := verifyInput(e, v, fs.Arg(0), clock)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		printVerdict(e.stdout, res)
	}
	if !res.Valid {
		return &exitError{code: exitInvalid}
	}
	return nil
}

// loadTrust reads the trust inputs. A list whose signature fails is
// refused outright, never half-trusted.
func loadTrust(v *verify.Verifier, files []string, pinFile, revFile string, at time.Time) error {
	var pinned *x509.Certificate
	if pinFile != "" {
		var pinStore trust.Store
		rep, err := pinStore.LoadFile(pinFile, trust.LoadOptions{At: at})
		if err != nil {
			return usageErrorf("--pin %s: %v", pinFile, err)
		}
		if len(rep.Anchors) != 1 {
			return usageErrorf("--pin %s: want exactly one CA certificate, found %d", pinFile, len(rep.Anchors))
		}
		pinned = rep.Anchors[0]
	}
	v.Trust = &trust.Store{}
	for _, f := range files {
		if _, err := v.Trust.LoadFile(f, trust.LoadOptions{Pinned: pinned, At: at}); err != nil {
			return usageErrorf("--trust %s: refused: %v", f, err)
		}
	}
	if revFile == "" {
		return nil
	}
	data, err := os.ReadFile(revFile)
	if err != nil {
		return usageErrorf("--revocation: %v", err)
	}
	// The list must be signed by a CSCA we trust: the pinned one, or an
	// anchor that a trust list brought in.
	candidates := v.Trust.Anchors()
	if pinned != nil {
		candidates = []*x509.Certificate{pinned}
	}
	if len(candidates) == 0 {
		return usageErrorf("--revocation %s: no CSCA to check its signature against (give --pin or a trust list)", revFile)
	}
	var errs []error
	for _, c := range candidates {
		l, err := revocation.Verify(data, c)
		if err == nil {
			v.Revocation = l
			return nil
		}
		errs = append(errs, err)
	}
	return usageErrorf("--revocation %s: refused: %v", revFile, errors.Join(errs...))
}

// loadBundle reads an offline bundle and returns a verifier over it. A
// bundle that fails its signature is refused, never half-trusted.
func loadBundle(e *env, path, pinFile, country, region string, at time.Time) (*verify.Verifier, error) {
	data, err := readFileLimited(path, bundle.MaxSize)
	if err != nil {
		return nil, usageErrorf("--bundle: %v", err)
	}
	var pinned *x509.Certificate
	if pinFile != "" {
		var st trust.Store
		rep, err := st.LoadFile(pinFile, trust.LoadOptions{At: at})
		if err != nil || len(rep.Anchors) != 1 {
			return nil, usageErrorf("--pin %s: want exactly one CA certificate (%v)", pinFile, err)
		}
		pinned = rep.Anchors[0]
	}
	b, err := bundle.LoadBundle(data, pinned)
	if err != nil {
		return nil, usageErrorf("--bundle %s: refused: %v", path, err)
	}
	if !b.AnchorPinned {
		fmt.Fprintf(e.stderr, "warning: --bundle %s is checked against its own CSCA (%s); give --pin to be sure whose it is\n", path, b.CSCA.Subject.CommonName)
	}
	if b.Stale(at) {
		fmt.Fprintf(e.stderr, "warning: --bundle %s was due for renewal on %s\n", path, b.NextUpdate.UTC().Format(time.RFC3339))
	}
	if country == "" {
		country = b.Country
	}
	v, err := b.Verifier(country, region, at)
	if err != nil {
		return nil, usageErrorf("--bundle %s: %v", path, err)
	}
	return v, nil
}

// loadRules reads EU business rules, or the entry rules of a policy
// document.
func loadRules(path string) ([]certlogic.Rule, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("--rules: %v", err)
	}
	var probe struct {
		EntryRules json.RawMessage `json:"entry_rules"`
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '{' && json.Unmarshal(data, &probe) == nil && probe.EntryRules != nil {
		data = probe.EntryRules
	}
	rules, err := certlogic.LoadRules(data)
	if err != nil {
		return nil, usageErrorf("--rules %s: %v", path, err)
	}
	return rules, nil
}

// verifyInput reads INPUT, which may be an HC1 string, a file with one, a
// picture, or - for standard input (text or picture).
func verifyInput(e *env, v *verify.Verifier, input string, at time.Time) (*verify.Result, error) {
	var data []byte
	switch {
	case input == "-":
		b, err := io.ReadAll(io.LimitReader(e.stdin, qr.MaxImageBytes+1))
		if err != nil {
			return nil, fmt.Errorf("reading standard input: %w", err)
		}
		data = b
	case looksLikeHC(input):
		return v.Text(input, at), nil
	default:
		b, err := readFileLimited(input, qr.MaxImageBytes)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return nil, usageErrorf("INPUT %q is neither an HC1 string nor a file", shorten(input))
			}
			return nil, usageErrorf("INPUT %s: %v", input, err)
		}
		data = b
	}
	if isPicture(data) {
		return v.Picture(bytes.NewReader(data), at), nil
	}
	if len(data) > maxTextInput {
		return nil, usageErrorf("INPUT %s: %d bytes of text, more than any credential holds", shorten(input), len(data))
	}
	return v.Text(string(data), at), nil
}

// looksLikeHC tells an HC1 string (or another context identifier, which
// the prefix step then refuses with a clear reason) from a file name.
func looksLikeHC(s string) bool {
	id, _, ok := strings.Cut(s, ":")
	if !ok || len(id) < 2 || len(id) > 4 {
		return false
	}
	for _, c := range id {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func isPicture(b []byte) bool {
	return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff})
}

func readFileLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("larger than %d MiB", max>>20)
	}
	return b, nil
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

var kindNames = map[string]string{"t": "test result", "v": "vaccination certificate", "r": "recovery certificate", verify.KindApproval: "entry approval"}

func printVerdict(w io.Writer, r *verify.Result) {
	verdict := "INVALID"
	if r.Valid {
		verdict = "VALID"
	}
	what := kindNames[r.Kind]
	if what == "" {
		what = "credential"
	}
	fmt.Fprintf(w, "%s %s", verdict, what)
	if r.Issuer != "" {
		fmt.Fprintf(w, " issued in %s", r.Issuer)
	}
	if r.Kid != "" {
		fmt.Fprintf(w, ", signer %s", r.Kid)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range r.Checks {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Step, c.Result, c.Detail)
	}
	tw.Flush()
}

func verifyBatch(e *env, v *verify.Verifier, path string, at time.Time, asJSON bool) error {
	data, err := readFileLimited(path, 64<<20)
	if err != nil {
		return usageErrorf("--batch %s: %v", path, err)
	}
	var texts []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), maxTextInput)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			texts = append(texts, line)
		}
	}
	if err := sc.Err(); err != nil {
		return usageErrorf("--batch %s: %v", path, err)
	}
	results := v.Batch(texts, at)
	invalid := 0
	enc := json.NewEncoder(e.stdout)
	for i, r := range results {
		if !r.Valid {
			invalid++
		}
		if asJSON {
			if err := enc.Encode(r); err != nil {
				return err
			}
			continue
		}
		status := "VALID"
		if !r.Valid {
			status = "INVALID: " + strings.Join(r.Reasons(), "; ")
		}
		fmt.Fprintf(e.stdout, "%d\t%s\n", i+1, status)
	}
	if !asJSON {
		fmt.Fprintf(e.stdout, "%d valid, %d invalid\n", len(results)-invalid, invalid)
	}
	if invalid > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}
