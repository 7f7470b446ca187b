// Package testdata finds the shared, read-only test data that lives beside the
// repository (../shared/testdata from the module root). Tests read it in place
// instead of copying it in, and fail (not skip) when it is missing, so a
// conformance run can never pass by having nothing to check.
package testdata

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// EnvDir overrides the location, for a checkout laid out differently.
const EnvDir = "CORRIDOR_TESTDATA"

// Dir returns the absolute path of the shared test data folder.
func Dir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return checkDir(d)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("testdata: working directory: %w", err)
	}
	// Walk up to the module root (the folder holding go.mod), then step to
	// its sibling shared/testdata.
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return checkDir(filepath.Join(d, "..", "shared", "testdata"))
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("testdata: no go.mod above %s", wd)
		}
	}
}

func checkDir(d string) (string, error) {
	abs, err := filepath.Abs(d)
	if err != nil {
		return "", fmt.Errorf("testdata: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("testdata: shared test data missing at %s: %w", abs, err)
	}
	if !st.IsDir() {
		return "", fmt.Errorf("testdata: %s is not a directory", abs)
	}
	return abs, nil
}

// Path joins elem under the shared test data folder, failing the test when
// the folder is missing.
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	d, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(append([]string{d}, elem...)...)
}
