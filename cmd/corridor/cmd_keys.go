package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/corridorlane/corridor/internal/keys"
	"github.com/corridorlane/corridor/internal/trust"
)

func init() {
	register(command{name: "keys", summary: "create a node's CSCA and document signers; export its signed trust list", run: runKeys})
}

func runKeys(ctx context.Context, e *env, args []string) error {
	sub, rest, err := subcommand("keys", args, "init", "add-signer", "list", "trustlist")
	if err != nil {
		return err
	}
	switch sub {
	case "init":
		return runKeysInit(e, rest)
	case "add-signer":
		return runKeysAddSigner(e, rest)
	case "list":
		return runKeysList(e, rest)
	default:
		return runKeysTrustList(e, rest)
	}
}

func runKeysInit(e *env, args []string) error {
	fs := newFlags(e, "keys init", "keys init --country CC --dir DIR")
	country := fs.String("country", "", "ISO 3166-1 alpha-2 code of the node's country, e.g. KR")
	dir := fs.String("dir", "", "folder to create the key material in")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "country", "dir"); err != nil {
		return err
	}
	set, err := keys.Init(*dir, *country, keys.Options{})
	if err != nil {
		return fmt.Errorf("keys init %s: %w", *dir, err)
	}
	fmt.Fprintf(e.stdout, "created CSCA for %s and signer %q in %s\n", set.Country, keys.AuthorityName, set.Dir)
	return printSigners(e, set)
}

func runKeysAddSigner(e *env, args []string) error {
	fs := newFlags(e, "keys add-signer", "keys add-signer --dir DIR --name NAME [--kind lab|authority]")
	dir := fs.String("dir", "", "the node's key folder (made by keys init)")
	name := fs.String("name", "", "signer name: lower-case letters, digits and dashes, e.g. lab-seoul")
	kind := fs.String("kind", "lab", "lab (signs test results) or authority (signs entry approvals)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "dir", "name"); err != nil {
		return err
	}
	k := keys.SignerKind(*kind)
	if !k.Valid() {
		return usageErrorf("--kind %q: want lab or authority", *kind)
	}
	sg, err := keys.AddSigner(*dir, *name, k, keys.Options{})
	if err != nil {
		return fmt.Errorf("keys add-signer %s: %w", *dir, err)
	}
	fmt.Fprintf(e.stdout, "added %s signer %q, kid %s\n", sg.Kind, sg.Name, trust.KidString(sg.Kid))
	return nil
}

func runKeysList(e *env, args []string) error {
	fs := newFlags(e, "keys list", "keys list --dir DIR")
	dir := fs.String("dir", "", "the node's key folder")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "dir"); err != nil {
		return err
	}
	set, err := keys.Load(*dir)
	if err != nil {
		return fmt.Errorf("keys list %s: %w", *dir, err)
	}
	return printSigners(e, set)
}

func printSigners(e *env, set *keys.Set) error {
	w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "CSCA\t%s\tkid %s\tuntil %s\n", set.CSCA.Subject.CommonName, trust.KidString(trust.Kid(set.CSCA.Raw)), set.CSCA.NotAfter.UTC().Format(time.DateOnly))
	for _, sg := range set.Signers() {
		fmt.Fprintf(w, "%s\t%s\tkid %s\tuntil %s\n", sg.Kind, sg.Name, trust.KidString(sg.Kid), sg.Cert.NotAfter.UTC().Format(time.DateOnly))
	}
	return w.Flush()
}

func runKeysTrustList(e *env, args []string) error {
	fs := newFlags(e, "keys trustlist", "keys trustlist --dir DIR [--out FILE] [--sequence N] [--valid-days D]")
	dir := fs.String("dir", "", "the node's key folder")
	out := fs.String("out", "", "file to write the signed trust list to (default: standard output)")
	seq := fs.Uint64("sequence", uint64(time.Now().Unix()), "the list's sequence number; a peer refuses a list older than one it has")
	days := fs.Int("valid-days", 7, "days until the list's next update is due")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := require(fs, "dir"); err != nil {
		return err
	}
	if *days < 1 || *days > 365 {
		return usageErrorf("--valid-days %d: want 1 to 365", *days)
	}
	set, err := keys.Load(*dir)
	if err != nil {
		return fmt.Errorf("keys trustlist %s: %w", *dir, err)
	}
	now := time.Now().UTC()
	data, err := trust.SignList(set.TrustList(*seq, now, now.AddDate(0, 0, *days)), set.CSCAKey())
	if err != nil {
		return fmt.Errorf("keys trustlist: %w", err)
	}
	return writeOutput(e, *out, data)
}

// writeOutput writes to a file, or to standard output when path is empty.
func writeOutput(e *env, path string, data []byte) error {
	if path == "" {
		_, err := e.stdout.Write(data)
		return err
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
