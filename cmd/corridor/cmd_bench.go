package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/corridorlane/corridor/internal/bench"
)

func init() {
	register(command{name: "bench", summary: "measure a node over loopback HTTP: trips filed and approved, verifications", run: runBench})
}

func runBench(ctx context.Context, e *env, args []string) error {
	_, rest, err := subcommand("bench", args, "api")
	if err != nil {
		return err
	}
	fs := newFlags(e, "bench api", "bench api [--database-url URL] [--clients N] [--duration D] [--json]")
	db := fs.String("database-url", "", "postgres://... to measure PostgreSQL (default: SQLite in a temporary folder)")
	clients := fs.Int("clients", 32, "concurrent clients")
	dur := fs.Duration("duration", 10_000_000_000, "length of each phase")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the whole run (server and clients) to this file")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	if *clients < 1 || *clients > 1024 {
		return usageErrorf("--clients %d: want 1 to 1024", *clients)
	}
	if *dur <= 0 {
		return usageErrorf("--duration must be positive")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return usageErrorf("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	rep, err := bench.API(ctx, bench.Options{DatabaseURL: *db, Clients: *clients, Duration: *dur})
	if err != nil {
		return fmt.Errorf("bench api: %w", err)
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.WriteText(e.stdout)
	return nil
}
