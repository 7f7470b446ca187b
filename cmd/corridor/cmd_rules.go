package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/corridorlane/corridor/internal/certlogic"
)

func init() {
	register(command{
		name:    "rules",
		summary: "run CertLogic test suites and check business-rule files",
		run:     runRules,
	})
}

const rulesUsage = `usage: corridor rules <subcommand> [flags] FILE...

  test [-v] FILE...   run CertLogic test-suite files, in either format of the
                      specification (testSuite: expression, data, expected value;
                      validation-testSuite: expression, expected issues). Prints
                      each failing check, then "N passed, M failed". Exits 1 if
                      any check fails, 2 if a file cannot be read. -v also lists
                      the checks that pass.
  check FILE          load a business-rule file (one rule or an array, in the EU
                      gateway's format), validate every field and each rule's
                      Logic, and list the rules. Exits 1 if any rule is invalid.
`

func runRules(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		_, err := io.WriteString(e.stdout, rulesUsage)
		return err
	}
	sub, rest, err := subcommand("rules", args, "test", "check")
	if err != nil {
		return err
	}
	switch sub {
	case "test":
		return runRulesTest(ctx, e, rest)
	default:
		return runRulesCheck(e, rest)
	}
}

func runRulesTest(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("rules test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	verbose := fs.Bool("v", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, werr := io.WriteString(e.stdout, rulesUsage)
			return werr
		}
		return usageErrorf("%v (run `corridor rules -h` for the flags)", err)
	}
	files := fs.Args()
	if len(files) == 0 {
		return usageErrorf("rules test: name at least one test-suite file")
	}

	// Load every file before running any, so that a typo in the last
	// file name is reported at once rather than after a long run.
	suites := make([]*certlogic.Suite, 0, len(files))
	var unreadable []string
	for _, path := range files {
		s, err := certlogic.LoadSuite(path)
		if err != nil {
			fmt.Fprintf(e.stderr, "corridor rules test: %v\n", err)
			unreadable = append(unreadable, path)
			continue
		}
		suites = append(suites, s)
	}
	if len(unreadable) > 0 {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%d of %d files could not be used: %s", len(unreadable), len(files), strings.Join(unreadable, ", "))}
	}

	var passed, failed, skipped int
	for _, s := range suites {
		if err := ctx.Err(); err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("interrupted: %v", err)}
		}
		file := filepath.Base(s.Path)
		for _, r := range certlogic.RunSuite(s) {
			label := fmt.Sprintf("%s: %s / %s / assertion %d", file, r.Suite, r.Case, r.Assertion)
			switch {
			case r.Skipped:
				skipped++
				if *verbose {
					fmt.Fprintf(e.stdout, "SKIP %s\n", label)
				}
			case r.Passed:
				passed++
				if *verbose {
					fmt.Fprintf(e.stdout, "ok   %s\n", label)
				}
			default:
				failed++
				fmt.Fprintf(e.stdout, "FAIL %s: %s\n", label, r.Message)
			}
		}
	}
	summary := fmt.Sprintf("%d passed, %d failed", passed, failed)
	if skipped > 0 {
		summary += fmt.Sprintf(", %d skipped", skipped)
	}
	fmt.Fprintln(e.stdout, summary)
	if failed > 0 {
		return &exitError{code: exitInvalid}
	}
	return nil
}

func runRulesCheck(e *env, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		_, err := io.WriteString(e.stdout, rulesUsage)
		return err
	}
	if len(args) != 1 {
		return usageErrorf("rules check: name exactly one rule file, got %d arguments", len(args))
	}
	path := args[0]
	data, err := os.ReadFile(path)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	rules, err := certlogic.LoadRules(data)
	if err != nil {
		return &exitError{code: exitInvalid, msg: fmt.Sprintf("%s: %v", path, err)}
	}

	noun := "rules"
	if len(rules) == 1 {
		noun = "rule"
	}
	fmt.Fprintf(e.stdout, "%s: %d valid %s\n", path, len(rules), noun)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "IDENTIFIER\tVERSION\tTYPE\tCERTIFICATE\tCOUNTRY\tVALID FROM\tVALID TO\tDESCRIPTION")
	for _, r := range rules {
		country := r.Country
		if r.Region != "" {
			country += "/" + r.Region
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Identifier, r.Version, r.Type, r.CertificateType, country,
			r.ValidFrom.Format("2006-01-02T15:04Z07:00"), r.ValidTo.Format("2006-01-02T15:04Z07:00"), r.EnglishDescription())
	}
	return tw.Flush()
}
