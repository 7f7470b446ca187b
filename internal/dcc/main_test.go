package dcc

import (
	"flag"
	"os"
	"testing"
)

// TestMain raises rapid's default of 100 cases: the differential schema
// tests need about a thousand to reach the edges of the date rules. An
// explicit -rapid.checks wins, and -short keeps rapid's default.
func TestMain(m *testing.M) {
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "rapid.checks" })
	if !explicit && !testing.Short() {
		if err := flag.Set("rapid.checks", "1000"); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}
