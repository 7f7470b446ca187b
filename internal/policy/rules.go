package policy

import (
	"github.com/corridorlane/corridor/internal/certlogic"
)

// checkRules loads the entry rules the way every verifier will, so a policy
// whose rules a border app would refuse never gets agreed on.
func checkRules(raw []byte) error {
	_, err := certlogic.LoadRules(raw)
	return err
}

// Rules returns the policy's entry rules, parsed.
func (p *Policy) Rules() ([]certlogic.Rule, error) {
	return certlogic.LoadRules(p.EntryRules)
}
