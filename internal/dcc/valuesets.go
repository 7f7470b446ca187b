package dcc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// ValueSets maps a value set id (such as "covid-19-lab-test-type") to its
// codes, sorted: the shape CertLogic rules read as external.valueSets.
type ValueSets map[string][]string

// valueSetFile is the EU publication format of one value set.
// Only what LoadValueSets checks is declared; lang, system and version
// are read past.
type valueSetFile struct {
	ID     string `json:"valueSetId"`
	Date   string `json:"valueSetDate"`
	Values map[string]struct {
		Display string `json:"display"`
		Active  *bool  `json:"active"`
	} `json:"valueSetValues"`
}

// LoadValueSets reads every *.json file in dir as an EU value set. All
// codes are kept, active or not: an inactive code is one no longer used
// for new certificates, and certificates issued with it are still read
// and judged by the rules.
func LoadValueSets(dir string) (ValueSets, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("dcc: value sets in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dcc: no value set (*.json) in %s", dir)
	}
	sets := make(ValueSets, len(files))
	from := make(map[string]string, len(files))
	for _, file := range files {
		id, codes, err := readValueSet(file)
		if err != nil {
			return nil, err
		}
		if earlier, dup := from[id]; dup {
			return nil, fmt.Errorf("dcc: value set %q is defined twice, in %s and %s", id, earlier, file)
		}
		from[id] = file
		sets[id] = codes
	}
	return sets, nil
}

func readValueSet(file string) (id string, codes []string, err error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", nil, fmt.Errorf("dcc: value set: %w", err)
	}
	var vs valueSetFile
	if err := json.Unmarshal(raw, &vs); err != nil {
		return "", nil, fmt.Errorf("dcc: value set %s: %w", file, err)
	}
	switch {
	case vs.ID == "":
		err = errors.New("has no valueSetId")
	case vs.Date == "":
		err = errors.New("has no valueSetDate")
	case !isFullDate(vs.Date):
		err = errors.New("has a valueSetDate that is not YYYY-MM-DD")
	case len(vs.Values) == 0:
		err = errors.New("has no valueSetValues")
	}
	if err == nil {
		for code, v := range vs.Values {
			if code == "" || v.Display == "" || v.Active == nil {
				err = fmt.Errorf("has an entry %q without a code, display text or active flag", code)
				break
			}
		}
	}
	if err != nil {
		return "", nil, fmt.Errorf("dcc: value set %s %w", file, err)
	}
	codes = make([]string, 0, len(vs.Values))
	for code := range vs.Values {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return vs.ID, codes, nil
}
