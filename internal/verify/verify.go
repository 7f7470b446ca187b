// Package verify decides whether a credential may be accepted: it runs every
// check a border officer relies on, one by one, and reports each in words
// the officer understands. It is the one place that strings the wire format
// (hcert), trust (trust), key usage, validity, the DCC schema (dcc),
// revocation and the entry rules (certlogic) together, for the command line,
// the verifier page and the offline bundle alike.
package verify

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/certlogic"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/hcert"
	"github.com/corridorlane/corridor/internal/qr"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/trust"
)

// Step names one check.
type Step string

const (
	StepImage      Step = "image"
	StepPrefix     Step = "prefix"
	StepBase45     Step = "base45"
	StepZlib       Step = "zlib"
	StepCOSE       Step = "cose"
	StepCWT        Step = "cwt"
	StepSignature  Step = "signature"
	StepKeyUsage   Step = "keyusage"
	StepValidity   Step = "validity"
	StepSchema     Step = "schema"
	StepRevocation Step = "revocation"
	StepRules      Step = "rules"
)

// Steps lists every check in the order they run and are reported.
var Steps = []Step{StepImage, StepPrefix, StepBase45, StepZlib, StepCOSE, StepCWT, StepSignature,
	StepKeyUsage, StepValidity, StepSchema, StepRevocation, StepRules}

// Outcome of one check.
type Outcome string

const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip" // not asked for, or could not run
)

// Check is one step's outcome.
type Check struct {
	Step   Step    `json:"step"`
	Result Outcome `json:"result"`
	Detail string  `json:"detail"`
}

// KindApproval is the kind of a Corridor entry approval; DCC kinds are
// "v", "t" and "r".
const KindApproval = "approval"

// Result is the verdict on one credential.
type Result struct {
	Valid   bool    `json:"valid"`
	Kind    string  `json:"kind,omitempty"`
	Kid     string  `json:"kid,omitempty"`    // base64, as DCC trust lists write it
	Issuer  string  `json:"issuer,omitempty"` // the CWT iss claim
	Payload any     `json:"payload,omitempty"`
	Checks  []Check `json:"checks"`

	// For callers in Go; not part of the JSON answer.
	Text        string                 `json:"-"` // the HC1 text checked
	IssuedAt    time.Time              `json:"-"`
	ExpiresAt   time.Time              `json:"-"`
	Signer      *trust.Signer          `json:"-"`
	Approval    *approval.Approval     `json:"-"`
	Document    *dcc.Document          `json:"-"`
	RuleResults []certlogic.RuleResult `json:"-"`
	// The COSE signature and its algorithm, for revocation hashes.
	Signature []byte `json:"-"`
	Alg       int64  `json:"-"`
}

// UVCI is the credential's unique identifier: the DCC entry's "ci", or the
// entry approval's id; "" when it has none.
func (r *Result) UVCI() string {
	switch {
	case r.Approval != nil:
		return r.Approval.ID
	case r.Document != nil:
		if _, entry, err := r.Document.Entry(); err == nil {
			uvci, _ := entry["ci"].(string)
			return uvci
		}
	}
	return ""
}

// RevocationEntries are the entries that revoke this credential: by its
// UVCI (UCI hash) and by its signature (SIGNATURE hash), both scoped to its
// signer. The UCI entry survives a re-encoding of the same certificate;
// the signature entry covers a credential without a UVCI. The credential
// must have passed the signature check, so only its own issuer's signer is
// named.
func (r *Result) RevocationEntries() ([]revocation.Entry, error) {
	if r.Signer == nil || r.Check(StepSignature).Result != Pass {
		return nil, errors.New("only a credential whose signature verified can be revoked")
	}
	var out []revocation.Entry
	for typ, h := range revocation.Hashes(r.UVCI(), r.Issuer, r.Signature, r.Alg) {
		if typ == revocation.CountryCodeUCI {
			continue // the UCI entry, scoped to the signer, says the same
		}
		out = append(out, revocation.Entry{Kid: r.Signer.Kid, Type: typ, Hash: h})
	}
	return out, nil
}

// Check returns the outcome of one step.
func (r *Result) Check(s Step) Check {
	for _, c := range r.Checks {
		if c.Step == s {
			return c
		}
	}
	return Check{Step: s, Result: Skip}
}

// Reasons lists the failed checks' details: the "why not" of a refusal.
func (r *Result) Reasons() []string {
	var out []string
	for _, c := range r.Checks {
		if c.Result == Fail {
			out = append(out, c.Detail)
		}
	}
	return out
}

// Verifier holds what checks need besides the credential. Fields left nil
// turn their step into "skip" (revocation, rules); a nil Trust means no
// signer is trusted and every signature check fails.
type Verifier struct {
	Trust      *trust.Store
	Revocation *revocation.List
	Rules      []certlogic.Rule
	ValueSets  dcc.ValueSets
	// Country and Region of arrival, passed to rules as external data.
	Country string
	Region  string
	// ClockSkew tolerates an issuer whose clock runs ahead of the
	// verifier's when checking that iat is not in the future.
	ClockSkew time.Duration
}

// Text checks an HC1 string at the given validation clock.
func (v *Verifier) Text(text string, at time.Time) *Result {
	r := newResult()
	r.set(StepImage, Skip, "the input is text, not a picture")
	v.run(r, strings.TrimSpace(text), at)
	return r
}

// Picture reads the QR code from a PNG or JPEG and checks it.
func (v *Verifier) Picture(rd io.Reader, at time.Time) *Result {
	r := newResult()
	text, err := qr.Decode(rd)
	if err != nil {
		r.set(StepImage, Fail, "no QR code could be read from the picture: "+strings.TrimPrefix(err.Error(), "qr: "))
		r.skipFrom(StepPrefix, "not run: the picture could not be read")
		return r
	}
	r.set(StepImage, Pass, "QR code read from the picture")
	v.run(r, text, at)
	return r
}

// Batch checks many credentials (a flight manifest) on every core; the
// results are in input order.
func (v *Verifier) Batch(texts []string, at time.Time) []*Result {
	out := make([]*Result, len(texts))
	workers := runtime.GOMAXPROCS(0)
	if workers > len(texts) {
		workers = len(texts)
	}
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				j := i
				i++
				next.Unlock()
				if j >= len(texts) {
					return
				}
				out[j] = v.Text(texts[j], at)
			}
		}()
	}
	wg.Wait()
	return out
}

func newResult() *Result {
	r := &Result{Checks: make([]Check, len(Steps))}
	for i, s := range Steps {
		r.Checks[i] = Check{Step: s, Result: Skip}
	}
	return r
}

func (r *Result) set(s Step, o Outcome, detail string) {
	for i := range r.Checks {
		if r.Checks[i].Step == s {
			r.Checks[i].Result, r.Checks[i].Detail = o, detail
			return
		}
	}
}

// skipFrom marks s and every later step as not run.
func (r *Result) skipFrom(s Step, why string) {
	on := false
	for i := range r.Checks {
		if r.Checks[i].Step == s {
			on = true
		}
		if on {
			r.Checks[i].Result, r.Checks[i].Detail = Skip, why
		}
	}
}

// decodeSteps are the steps hcert.Decode performs, in order.
var decodeSteps = []Step{StepPrefix, StepBase45, StepZlib, StepCOSE, StepCWT}

func (v *Verifier) run(r *Result, text string, at time.Time) {
	r.Text = text
	u, err := hcert.Decode(text)
	if err != nil {
		var de *hcert.DecodeError
		failed := StepPrefix
		if errors.As(err, &de) {
			failed = Step(de.Step)
		}
		for _, s := range decodeSteps {
			if s == failed {
				r.set(s, Fail, err.Error())
				break
			}
			r.set(s, Pass, "")
		}
		after := false
		for _, s := range Steps {
			if after {
				r.set(s, Skip, "not run: the credential could not be decoded")
			}
			if s == failed {
				after = true
			}
		}
		return
	}
	for _, s := range decodeSteps {
		r.set(s, Pass, "")
	}
	r.Kid = base64.StdEncoding.EncodeToString(u.Kid())
	r.Signature = u.Message.Signature()
	r.Alg, _ = u.Message.Alg()
	r.Issuer = u.Claims.Issuer
	r.IssuedAt, r.ExpiresAt = u.Claims.IssuedAt, u.Claims.ExpiresAt

	// What the credential carries; a payload that cannot be read is a
	// schema failure, reported after the signature so the officer still
	// learns who signed it.
	var payloadErr error
	var payload map[string]any
	switch {
	case u.Claims.HCert != nil && u.Claims.Approval != nil:
		r.set(StepCWT, Fail, "the credential carries both a health certificate and an entry approval; issuers never do")
		r.skipFrom(StepSignature, "not run: the credential's claims are contradictory")
		return
	case u.Claims.HCert != nil:
		doc, err := dcc.Parse(u.Claims.HCert)
		if err != nil {
			payloadErr = err
			break
		}
		r.Document = doc
		payload = doc.JSON
		r.Payload = doc.JSON
		if k, err := doc.Kind(); err == nil {
			r.Kind = string(k)
		} else {
			payloadErr = err
		}
	case u.Claims.Approval != nil:
		r.Kind = KindApproval
		a, err := approval.Unmarshal(u.Claims.Approval)
		if err != nil {
			payloadErr = err
			break
		}
		r.Approval = a
		payload = approvalJSON(a)
		r.Payload = payload
	default:
		r.set(StepCWT, Fail, "the credential carries neither a health certificate (claim -260) nor a Corridor entry approval")
		r.skipFrom(StepSignature, "not run: there is nothing to check")
		return
	}

	v.checkSignature(r, u)
	v.checkKeyUsage(r)
	v.checkValidity(r, at)
	if payloadErr != nil {
		r.set(StepSchema, Fail, "the certificate's content is malformed: "+payloadErr.Error())
	} else if r.Document != nil {
		if err := dcc.ValidateSchema(r.Document.JSON); err != nil {
			r.set(StepSchema, Fail, "the certificate's content does not follow the EU DCC schema: "+err.Error())
		} else {
			r.set(StepSchema, Pass, "DCC schema "+r.Document.Version())
		}
	} else {
		r.set(StepSchema, Pass, "entry approval layout "+r.Approval.Ver)
	}
	v.checkRevocation(r, u)
	v.checkRules(r, payload, at)

	r.Valid = r.Check(StepSignature).Result == Pass
	for _, c := range r.Checks {
		if c.Result == Fail {
			r.Valid = false
		}
	}
}

func (v *Verifier) checkSignature(r *Result, u *hcert.Unverified) {
	kid := u.Kid()
	if len(kid) == 0 {
		r.set(StepSignature, Fail, "the credential does not name its signer (no kid): it cannot be checked")
		return
	}
	var signers []*trust.Signer
	if v.Trust != nil {
		signers = v.Trust.Lookup(kid)
	}
	if len(signers) == 0 {
		r.set(StepSignature, Fail, fmt.Sprintf("the signer %s is not in the trust list: the credential's origin cannot be confirmed", r.Kid))
		return
	}
	// Several signers may share a kid (it is only 8 bytes); the DCC
	// specification asks verifiers to try each.
	var last error
	for _, s := range signers {
		if err := u.VerifySignature(s.PublicKey); err != nil {
			last = err
			continue
		}
		r.Signer = s
		detail := "signed by " + r.Kid
		if s.Source != "" {
			detail += " (" + s.Source + ")"
		}
		r.set(StepSignature, Pass, detail)
		return
	}
	r.set(StepSignature, Fail, "the signature does not match the trusted signer "+r.Kid+": the credential was altered or forged ("+last.Error()+")")
}

func (v *Verifier) checkKeyUsage(r *Result) {
	switch {
	case r.Signer == nil:
		r.set(StepKeyUsage, Skip, "not run: no trusted signer")
	case r.Signer.Cert == nil:
		r.set(StepKeyUsage, Skip, "the signer is a bare key with no certificate to state its usage")
	case r.Kind == "":
		r.set(StepKeyUsage, Skip, "not run: the kind of certificate is unknown")
	default:
		if err := trust.CheckKeyUsage(r.Signer.Cert, r.Kind); err != nil {
			r.set(StepKeyUsage, Fail, err.Error())
			return
		}
		r.set(StepKeyUsage, Pass, "")
	}
}

const dateLayout = "2006-01-02 15:04 MST"

func (v *Verifier) checkValidity(r *Result, at time.Time) {
	var problems []string
	if !r.ExpiresAt.IsZero() && at.After(r.ExpiresAt) {
		problems = append(problems, "the credential expired on "+r.ExpiresAt.UTC().Format(dateLayout))
	}
	if !r.IssuedAt.IsZero() && r.IssuedAt.After(at.Add(v.ClockSkew)) {
		problems = append(problems, "the credential claims to be issued in the future, on "+r.IssuedAt.UTC().Format(dateLayout))
	}
	if r.Signer != nil {
		if err := trust.CheckValidity(r.Signer, at); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if a := r.Approval; a != nil {
		if from, until, err := a.Window(); err == nil {
			if at.Before(from) {
				problems = append(problems, "the entry approval is valid only from "+from.UTC().Format(dateLayout))
			}
			if at.After(until) {
				problems = append(problems, "the entry approval expired on "+until.UTC().Format(dateLayout))
			}
		}
	}
	if len(problems) > 0 {
		r.set(StepValidity, Fail, strings.Join(problems, "; "))
		return
	}
	detail := "valid at " + at.UTC().Format(dateLayout)
	if !r.ExpiresAt.IsZero() {
		detail += ", until " + r.ExpiresAt.UTC().Format(dateLayout)
	}
	r.set(StepValidity, Pass, detail)
}

func (v *Verifier) checkRevocation(r *Result, u *hcert.Unverified) {
	if v.Revocation == nil {
		r.set(StepRevocation, Skip, "no revocation list given")
		return
	}
	hashes := revocation.Hashes(r.UVCI(), u.Claims.Issuer, r.Signature, r.Alg)
	if revoked, how := v.Revocation.IsRevoked(u.Kid(), hashes); revoked {
		r.set(StepRevocation, Fail, fmt.Sprintf("the credential has been revoked by its issuer (matched by %s hash)", how))
		return
	}
	r.set(StepRevocation, Pass, fmt.Sprintf("not among %d revoked credentials", v.Revocation.Len()))
}

func (v *Verifier) checkRules(r *Result, payload map[string]any, at time.Time) {
	if v.Rules == nil {
		r.set(StepRules, Skip, "no entry rules given")
		return
	}
	if payload == nil {
		r.set(StepRules, Skip, "not run: the content could not be read")
		return
	}
	certType := certlogic.CertificateTypeOf(payload)
	if r.Kind == KindApproval {
		certType = certlogic.CertApproval
	}
	ext := certlogic.External{
		ValidationClock:   at,
		ValueSets:         v.ValueSets,
		CountryCode:       v.Country,
		Region:            v.Region,
		IssuerCountryCode: r.Issuer,
		Exp:               r.ExpiresAt,
		Iat:               r.IssuedAt,
		Kid:               r.Kid,
	}
	r.RuleResults = certlogic.Apply(v.Rules, payload, certType, ext)
	var failed []string
	for _, rr := range r.RuleResults {
		if !rr.Passed {
			msg := rr.Identifier + ": " + rr.Description
			if rr.Err != nil {
				msg += " (" + rr.Err.Error() + ")"
			}
			failed = append(failed, msg)
		}
	}
	switch {
	case len(failed) > 0:
		r.set(StepRules, Fail, strings.Join(failed, "; "))
	case len(r.RuleResults) == 0:
		r.set(StepRules, Pass, "no entry rule applies to this certificate")
	default:
		r.set(StepRules, Pass, fmt.Sprintf("%d entry rules passed", len(r.RuleResults)))
	}
}

// approvalJSON is the approval as the JSON object rules and answers see.
func approvalJSON(a *approval.Approval) map[string]any {
	b, err := json.Marshal(a)
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}
