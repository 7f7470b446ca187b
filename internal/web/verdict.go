package web

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/corridorlane/corridor/internal/app"
	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/certlogic"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/verify"
)

// A traveller shows two credentials: the entry approval and a test result.
// Each is checked on its own by internal/verify (signature, trust, validity,
// revocation, the entry rules of the destination country); the verdict then
// asks what only the pair can answer: is there one valid approval and one
// valid test, do they name the same person, and does the passport in hand
// match the approval.

// maxCredentials bounds what one check takes.
const maxCredentials = 4

// maxHC1 bounds one credential's text: a QR code holds at most 4,296
// characters.
const maxHC1 = 4500

// reason is one "why not" of a verdict: a stable code, its arguments, and
// detail from a failed check (English, from internal/verify).
type reason struct {
	Code   string
	Args   []any
	Detail string
}

// verdict is the one answer a border officer gets.
type verdict struct {
	Allowed   bool
	Mode      string // "entry" (this node is the lane's destination) or "boarding"
	Reasons   []reason
	Results   []*verify.Result
	Approval  *approval.Approval
	Test      *verify.Result
	Reference string
	Checked   bool // false until something was checked
}

// judge verifies the credentials and decides.
func (s *Server) judge(texts []*verify.Result, passportCountry, passportNumber string) *verdict {
	v := &verdict{Results: texts, Checked: true, Mode: "entry"}
	var approvals, tests []*verify.Result
	for i, r := range texts {
		if !r.Valid {
			v.Reasons = append(v.Reasons, reason{Code: "credential_invalid", Args: []any{i + 1}, Detail: strings.Join(r.Reasons(), "; ")})
			continue
		}
		switch r.Kind {
		case verify.KindApproval:
			approvals = append(approvals, r)
		case "t":
			tests = append(tests, r)
		default:
			v.Reasons = append(v.Reasons, reason{Code: "credential_kind", Args: []any{i + 1}})
		}
	}
	switch len(approvals) {
	case 0:
		v.Reasons = append(v.Reasons, reason{Code: "no_approval"})
	case 1:
		v.Approval = approvals[0].Approval
		v.Reference = v.Approval.Itinerary
	default:
		v.Reasons = append(v.Reasons, reason{Code: "several_approvals"})
	}
	if len(tests) == 0 {
		v.Reasons = append(v.Reasons, reason{Code: "no_test"})
	} else {
		v.Test = tests[len(tests)-1]
	}
	if a := v.Approval; a != nil {
		origin, dest, _ := strings.Cut(a.Lane, "-")
		switch s.cfg.Country {
		case dest:
			v.Mode = "entry"
		case origin:
			v.Mode = "boarding"
		default:
			v.Reasons = append(v.Reasons, reason{Code: "other_lane", Args: []any{a.Lane}})
		}
		for _, t := range tests {
			if !sameHolder(a, t.Document) {
				v.Reasons = append(v.Reasons, reason{Code: "holder_mismatch"})
				break
			}
		}
		if passportNumber != "" {
			country := strings.ToUpper(strings.TrimSpace(passportCountry))
			if country == "" {
				country = a.PassportCountry
			}
			if !a.MatchesPassport(country, passportNumber) {
				v.Reasons = append(v.Reasons, reason{Code: "passport_mismatch"})
			}
		}
	}
	v.Allowed = len(v.Reasons) == 0
	return v
}

// sameHolder compares the holder of a test certificate with the
// approval's, by the ICAO transliterations and the date of birth that both
// carry, as an officer would compare them with the passport.
func sameHolder(a *approval.Approval, doc *dcc.Document) bool {
	if doc == nil {
		return false
	}
	nam, _ := doc.JSON["nam"].(map[string]any)
	fnt, _ := nam["fnt"].(string)
	gnt, _ := nam["gnt"].(string)
	dob, _ := doc.JSON["dob"].(string)
	return strings.EqualFold(fnt, a.Nam.Fnt) && strings.EqualFold(gnt, a.Nam.Gnt) && dob == a.Dob
}

// verifier returns the node's verifier set to judge by the entry rules of
// country (the approval's destination): a carrier at the origin applies
// the destination's rules, as the destination's border will.
func (s *Server) verifier(country string) *verify.Verifier {
	base := s.cfg.Verifier()
	if base == nil {
		return &verify.Verifier{Country: country}
	}
	v := *base
	if country != "" {
		v.Country = country
	}
	return &v
}

// destinationOf reads the lane of the first approval among texts without
// trusting it: it only chooses whose entry rules to apply, and every
// credential is still verified in full against them.
func destinationOf(results []*verify.Result) string {
	for _, r := range results {
		if r.Approval != nil {
			if _, dest, ok := strings.Cut(r.Approval.Lane, "-"); ok {
				return dest
			}
		}
	}
	return ""
}

// check verifies texts and pictures, two passes: the first finds the
// destination, the second applies its rules.
func (s *Server) check(texts []string, pictures [][]byte, passportCountry, passportNumber string) *verdict {
	at := s.now()
	run := func(v *verify.Verifier) []*verify.Result {
		var out []*verify.Result
		for _, t := range texts {
			out = append(out, v.Text(t, at))
		}
		for _, p := range pictures {
			out = append(out, v.Picture(bytes.NewReader(p), at))
		}
		return out
	}
	first := run(s.verifier(""))
	results := first
	if dest := destinationOf(first); dest != "" && dest != s.verifier("").Country {
		results = run(s.verifier(dest))
	}
	v := s.judge(results, passportCountry, passportNumber)
	outcome := "refused"
	if v.Allowed {
		outcome = "allowed"
	}
	s.metrics.verification(outcome)
	for _, r := range results {
		kind := r.Kind
		if kind == "" {
			kind = "unknown"
		}
		valid := "invalid"
		if r.Valid {
			valid = "valid"
		}
		s.metrics.credential(kind, valid)
	}
	return v
}

// reasonText words a reason in the reader's language.
func (s *Server) reasonText(l i18n.Lang, r reason) string {
	msg := s.cat.T(l, "verdict.reason."+r.Code, r.Args...)
	if r.Detail != "" {
		d, _ := s.cat.Message(l, r.Detail)
		msg += " " + s.cat.T(l, "verdict.detail", d)
	}
	return msg
}

// ruleDescription returns a rule's description in the reader's language,
// or English when the policy has none in it.
func ruleDescription(rules []certlogic.Rule, id string, l i18n.Lang) string {
	want := strings.ToLower(strings.SplitN(string(l), "-", 2)[0])
	for _, r := range rules {
		if r.Identifier != id {
			continue
		}
		for _, d := range r.Description {
			if strings.EqualFold(d.Lang, want) {
				return d.Desc
			}
		}
		return r.EnglishDescription()
	}
	return id
}

func (s *Server) apiVerify(r *http.Request, in *VerifyInputJSON) (VerdictJSON, error) {
	if err := s.mayVerify(principal(r)); err != nil {
		return VerdictJSON{}, err
	}
	if len(in.Credentials) == 0 {
		return VerdictJSON{}, invalidField("credentials", "give at least one HC1 text")
	}
	if len(in.Credentials) > maxCredentials {
		return VerdictJSON{}, invalidField("credentials", fmt.Sprintf("at most %d credentials at a time", maxCredentials))
	}
	for i, c := range in.Credentials {
		if len(c) > maxHC1 {
			return VerdictJSON{}, invalidField(fmt.Sprintf("credentials[%d]", i), fmt.Sprintf("must be at most %d characters", maxHC1))
		}
	}
	v := s.check(in.Credentials, nil, in.PassportCountry, in.PassportNumber)
	out := VerdictJSON{Allowed: v.Allowed, Mode: v.Mode, Reasons: []string{}, ReasonCodes: []string{}, Reference: v.Reference, Results: v.Results}
	for _, rs := range v.Reasons {
		out.Reasons = append(out.Reasons, s.reasonText(i18n.EN, rs))
		out.ReasonCodes = append(out.ReasonCodes, rs.Code)
	}
	return out, nil
}

// mayVerify: the verifier is for border and arrival officers. The
// application has no use case for it (verifying changes nothing), so the
// rule is written here.
func (s *Server) mayVerify(p app.Principal) error {
	if p.Kind == "" {
		return &app.Error{Code: app.CodeUnauthenticated, Msg: "sign in first"}
	}
	if !p.Has(trip.RoleBorder) && !p.Has(trip.RoleArrival) {
		return &app.Error{Code: app.CodeForbidden, Msg: "only border and arrival officers verify credentials here"}
	}
	return nil
}

// readUpload reads an uploaded picture of a QR code, if any.
func readUpload(r *http.Request, field string) ([]byte, error) {
	f, hdr, err := r.FormFile(field)
	if err != nil {
		return nil, nil // no file chosen
	}
	defer f.Close()
	if hdr.Size > maxPhotoBody {
		return nil, invalidField(field, "the picture is too large")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPhotoBody+1))
	if err != nil || len(data) > maxPhotoBody {
		return nil, invalidField(field, "the picture could not be read")
	}
	return data, nil
}
