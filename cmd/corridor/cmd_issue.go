package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/approval"
	"github.com/corridorlane/corridor/internal/dcc"
	"github.com/corridorlane/corridor/internal/issuer"
	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/qr"
)

func init() {
	register(command{name: "issue", summary: "sign a test result, an entry approval or any DCC; print HC1 and write a QR PNG", run: runIssue})
}

func runIssue(ctx context.Context, e *env, args []string) error {
	sub, rest, err := subcommand("issue", args, "test", "approval", "dcc")
	if err != nil {
		return err
	}
	switch sub {
	case "test":
		return runIssueTest(e, rest)
	case "approval":
		return runIssueApproval(e, rest)
	default:
		return runIssueDCC(e, rest)
	}
}

// signerFlags are the flags every issue subcommand shares.
type signerFlags struct {
	dir, name, png *string
}

func addSignerFlags(fs interface {
	String(string, string, string) *string
}, defaultSigner string) signerFlags {
	return signerFlags{
		dir:  fs.String("keys", "", "the node's key folder (made by `corridor keys init`)"),
		name: fs.String("signer", defaultSigner, "document signer to sign with"),
		png:  fs.String("png", "", "also write the QR code as a PNG to this file"),
	}
}

func (sf signerFlags) load() (issuer.Signer, error) {
	set, err := keys.Load(*sf.dir)
	if err != nil {
		return issuer.Signer{}, fmt.Errorf("loading keys from %s: %w", *sf.dir, err)
	}
	key, _, kid, err := set.Signer(*sf.name)
	if err != nil {
		return issuer.Signer{}, fmt.Errorf("--signer: %w", err)
	}
	return issuer.Signer{Key: key, Kid: kid, Country: set.Country}, nil
}

// emit prints the HC1 text and writes the QR picture if asked.
func (sf signerFlags) emit(e *env, hc1 string) error {
	if *sf.png != "" {
		png, err := qr.EncodePNG(hc1)
		if err != nil {
			return fmt.Errorf("drawing the QR code: %w", err)
		}
		if err := os.WriteFile(*sf.png, png, 0o644); err != nil {
			return fmt.Errorf("--png: %w", err)
		}
	}
	_, err := fmt.Fprintln(e.stdout, hc1)
	return err
}

func runIssueTest(e *env, args []string) error {
	fs := newFlags(e, "issue test", "issue test --keys DIR --signer LAB --family-name ... --dob ... --type NAAT|RAT --result negative|positive --sampled TIME --centre ... --issuer ... [--png FILE]")
	sf := addSignerFlags(fs, "")
	var tr issuer.TestResult
	var sampled timeFlag
	fs.StringVar(&tr.FamilyName, "family-name", "", "family name as on the passport")
	fs.StringVar(&tr.GivenName, "given-name", "", "given name(s) as on the passport")
	fs.StringVar(&tr.FamilyNameT, "family-name-icao", "", "ICAO 9303 transliteration of the family name (derived from Latin names when omitted)")
	fs.StringVar(&tr.GivenNameT, "given-name-icao", "", "ICAO 9303 transliteration of the given name(s)")
	fs.StringVar(&tr.DateOfBirth, "dob", "", "date of birth, YYYY-MM-DD (or YYYY-MM, YYYY)")
	fs.StringVar(&tr.Type, "type", "NAAT", "NAAT (PCR) or RAT (rapid antigen)")
	result := fs.String("result", "", "negative or positive")
	fs.Var(&sampled, "sampled", "time the sample was taken, RFC 3339")
	fs.StringVar(&tr.TestName, "test-name", "", "name of the NAAT test (optional)")
	fs.StringVar(&tr.Manufacturer, "manufacturer", "", "RAT device identifier from the EU list (required for RAT)")
	fs.StringVar(&tr.Centre, "centre", "", "testing centre or facility")
	fs.StringVar(&tr.Country, "country", "", "country of the test (default: the signer's country)")
	fs.StringVar(&tr.Issuer, "issuer", "", "certificate issuer, e.g. the lab's name")
	fs.StringVar(&tr.UVCI, "uvci", "", "unique certificate identifier (generated when omitted)")
	fs.DurationVar(&tr.ValidFor, "valid-for", issuer.DefaultTestValidity, "how long after sampling the credential expires")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "keys", "signer", "family-name", "dob", "result", "sampled", "centre", "issuer"); err != nil {
		return err
	}
	switch strings.ToLower(*result) {
	case "negative", "not-detected":
	case "positive", "detected":
		tr.Positive = true
	default:
		return usageErrorf("--result %q: want negative or positive", *result)
	}
	tr.SampledAt = sampled.t
	s, err := sf.load()
	if err != nil {
		return err
	}
	if tr.Country == "" {
		tr.Country = s.Country
	}
	hc1, _, err := issuer.IssueTest(s, tr, time.Now(), rand.Reader)
	if err != nil {
		return err
	}
	return sf.emit(e, hc1)
}

func runIssueApproval(e *env, args []string) error {
	fs := newFlags(e, "issue approval", "issue approval --keys DIR --family-name ... --dob ... --passport-country CC --passport N --lane CN-KR --region R --purpose P --valid-from T --valid-until T --itinerary REF --authority NAME [--png FILE]")
	sf := addSignerFlags(fs, keys.AuthorityName)
	var a approval.Approval
	var from, until timeFlag
	fs.StringVar(&a.Nam.Fn, "family-name", "", "family name as on the passport")
	fs.StringVar(&a.Nam.Gn, "given-name", "", "given name(s) as on the passport")
	fs.StringVar(&a.Nam.Fnt, "family-name-icao", "", "ICAO 9303 transliteration of the family name (derived from Latin names when omitted)")
	fs.StringVar(&a.Nam.Gnt, "given-name-icao", "", "ICAO 9303 transliteration of the given name(s)")
	fs.StringVar(&a.Dob, "dob", "", "date of birth, YYYY-MM-DD")
	ppc := fs.String("passport-country", "", "passport issuing country, ISO 3166-1 alpha-2")
	passport := fs.String("passport", "", "passport number (only its salted hash goes into the approval)")
	fs.StringVar(&a.Lane, "lane", "", "lane, ORIGIN-DESTINATION, e.g. CN-KR")
	fs.StringVar(&a.Region, "region", "", "destination region")
	fs.StringVar(&a.Purpose, "purpose", "", "purpose of travel")
	fs.Var(&from, "valid-from", "start of validity, RFC 3339")
	fs.Var(&until, "valid-until", "end of validity, RFC 3339")
	fs.StringVar(&a.Itinerary, "itinerary", "", "itinerary reference")
	fs.StringVar(&a.Authority, "authority", "", "approving authority")
	fs.StringVar(&a.Sponsor, "sponsor", "", "sponsor (inviting enterprise), optional")
	id := fs.String("id", "", "approval identifier (a UVCI is generated when omitted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "keys", "family-name", "dob", "passport-country", "passport", "lane", "region", "purpose", "valid-from", "valid-until", "itinerary", "authority"); err != nil {
		return err
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	a.Ver = approval.Version
	a.ValidFrom, a.ValidUntil = from.t.UTC().Format(time.RFC3339), until.t.UTC().Format(time.RFC3339)
	if a.Nam.Fnt == "" {
		if a.Nam.Fnt, err = dcc.Transliterate(a.Nam.Fn); err != nil {
			return usageErrorf("--family-name: %v (give --family-name-icao)", err)
		}
	}
	if a.Nam.Gnt == "" && a.Nam.Gn != "" {
		if a.Nam.Gnt, err = dcc.Transliterate(a.Nam.Gn); err != nil {
			return usageErrorf("--given-name: %v (give --given-name-icao)", err)
		}
	}
	a.ID = *id
	if a.ID == "" {
		if a.ID, err = dcc.NewUVCI(s.Country, "AP", rand.Reader); err != nil {
			return err
		}
	}
	if err := a.SetPassport(strings.ToUpper(*ppc), *passport, rand.Reader); err != nil {
		return usageErrorf("--passport: %v", err)
	}
	hc1, err := issuer.IssueApproval(s, &a, time.Now())
	if err != nil {
		return err
	}
	return sf.emit(e, hc1)
}

func runIssueDCC(e *env, args []string) error {
	fs := newFlags(e, "issue dcc", "issue dcc --keys DIR --signer NAME --payload FILE.json [--expires TIME] [--png FILE]")
	sf := addSignerFlags(fs, "")
	payload := fs.String("payload", "", "the DCC payload as JSON (vaccination, test or recovery), checked against the DCC schema")
	var expires timeFlag
	fs.Var(&expires, "expires", "credential expiry, RFC 3339 (default: one year from now)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "keys", "signer", "payload"); err != nil {
		return err
	}
	raw, err := os.ReadFile(*payload)
	if err != nil {
		return fmt.Errorf("--payload: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("--payload %s: not a JSON object: %w", *payload, err)
	}
	s, err := sf.load()
	if err != nil {
		return err
	}
	now := time.Now()
	exp := expires.t
	if exp.IsZero() {
		exp = now.AddDate(1, 0, 0)
	}
	hc1, err := issuer.IssueDCC(s, doc, now, exp)
	if err != nil {
		return fmt.Errorf("--payload %s: %w", *payload, err)
	}
	return sf.emit(e, hc1)
}
