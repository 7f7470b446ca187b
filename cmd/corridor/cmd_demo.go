package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/corridorlane/corridor/internal/demo"
)

func init() {
	register(command{name: "demo", summary: "run China's and Korea's nodes side by side on loopback, peered, with a login for every role", run: runDemo})
}

func runDemo(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "demo [--dir DIR] [--script] [--policy FILE]")
	dir := fs.String("dir", "", "folder for the two nodes' data (default: a new temporary folder, removed at the end)")
	script := fs.Bool("script", false, "run scripted trips through both nodes, print a JSON summary, and exit 0 only if both nodes agree on every trip")
	policyFile := fs.String("policy", "", "corridor policy both nodes run (default: the shipped China–Korea policy)")
	verbose := fs.Bool("v", false, "log the nodes' work on standard error")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		tmp, err := os.MkdirTemp("", "corridor-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		*dir = tmp
	} else if entries, err := os.ReadDir(*dir); err == nil && len(entries) > 0 {
		return usageErrorf("--dir %s is not empty: the demo sets up fresh nodes", *dir)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	d, err := demo.Start(ctx, demo.Options{Dir: *dir, PolicyFile: *policyFile, Logger: logger, Driven: *script})
	if err != nil {
		return err
	}
	defer d.Close()
	if *script {
		sum, err := d.RunScript(ctx, func(format string, a ...any) { fmt.Fprintf(e.stderr, format+"\n", a...) })
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
		if !sum.Agree {
			return &exitError{code: exitInvalid, msg: fmt.Sprintf("the nodes disagree on %d trips", len(sum.Disagreements))}
		}
		return nil
	}
	fmt.Fprintf(e.stdout, "Corridor demo: lane CN-KR between two nodes, data in %s\n\n", *dir)
	for _, c := range demo.Countries {
		s := d.Sides[c]
		fmt.Fprintf(e.stdout, "node %s: %s  (federation at %s/federation/v1/)\n", c, s.URL, s.URL)
	}
	fmt.Fprintln(e.stdout, "\nlogins (country, role, organisation, e-mail / password):")
	for _, l := range d.Logins() {
		fmt.Fprintln(e.stdout, "  "+l)
	}
	fmt.Fprintln(e.stdout, "\nPress Ctrl-C to stop.")
	<-ctx.Done()
	return nil
}
