package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/revocation"
	"github.com/corridorlane/corridor/internal/trust"
	"github.com/corridorlane/corridor/internal/verify"
)

func init() {
	register(command{name: "revoke", summary: "publish a signed revocation list for credentials this node issued", run: runRevoke})
}

func runRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "revoke", "revoke --keys DIR [--list FILE] [--out FILE] CREDENTIAL...")
	dir := fs.String("keys", "", "the node's key folder; its CSCA signs the list")
	prev := fs.String("list", "", "an earlier revocation list of this node to extend")
	out := fs.String("out", "", "file to write the signed list to (default: standard output)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "keys"); err != nil {
		return err
	}
	if fs.NArg() == 0 && *prev == "" {
		return usageErrorf("name at least one CREDENTIAL (HC1 string or file) to revoke")
	}
	set, err := keys.Load(*dir)
	if err != nil {
		return fmt.Errorf("--keys %s: %w", *dir, err)
	}
	now := time.Now().UTC()
	list := &revocation.List{Country: set.Country, Sequence: uint64(now.UnixNano()), IssuedAt: now, NextUpdate: now.AddDate(0, 0, 1)}
	if *prev != "" {
		data, err := os.ReadFile(*prev)
		if err != nil {
			return usageErrorf("--list: %v", err)
		}
		old, err := revocation.Verify(data, set.CSCA)
		if err != nil {
			return usageErrorf("--list %s: refused: %v", *prev, err)
		}
		if old.Sequence >= list.Sequence {
			list.Sequence = old.Sequence + 1
		}
		for _, en := range old.Entries() {
			if err := list.Add(en); err != nil {
				return err
			}
		}
	}
	// Only credentials this node signed can be revoked by it: each must
	// verify against the node's own signers.
	var store trust.Store
	for _, sg := range set.Signers() {
		if err := store.AddDirect(trust.NewSigner(sg.Cert, "own signer "+sg.Name)); err != nil {
			return err
		}
	}
	v := &verify.Verifier{Trust: &store}
	for _, arg := range fs.Args() {
		text := arg
		if !looksLikeHC(arg) {
			b, err := readFileLimited(arg, maxTextInput)
			if err != nil {
				return usageErrorf("CREDENTIAL %s: %v", shorten(arg), err)
			}
			text = strings.TrimSpace(string(b))
		}
		entries, err := revocationEntries(v, text, now)
		if err != nil {
			return usageErrorf("CREDENTIAL %s: %v", shorten(arg), err)
		}
		for _, en := range entries {
			if err := list.Add(en); err != nil {
				return err
			}
		}
	}
	data, err := revocation.Sign(list, set.CSCA, set.CSCAKey())
	if err != nil {
		return fmt.Errorf("signing the list: %w", err)
	}
	fmt.Fprintf(e.stderr, "revocation list %s #%d: %d entries\n", list.Country, list.Sequence, list.Len())
	return writeOutput(e, *out, data)
}

// revocationEntries checks that this node signed the credential and names
// the entries that revoke it.
func revocationEntries(v *verify.Verifier, text string, now time.Time) ([]revocation.Entry, error) {
	r := v.Text(text, now)
	if c := r.Check(verify.StepSignature); c.Result != verify.Pass {
		return nil, errors.New("not a credential signed by this node: " + c.Detail)
	}
	return r.RevocationEntries()
}
