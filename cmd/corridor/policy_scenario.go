package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/simulate"
)

func init() { scenarioFromPolicyFile = laneScenario }

// laneScenario reads FILE or FILE#LANE: the lane's measures as a scenario.
// Without #LANE the policy's lanes must share their measures.
func laneScenario(path string) (simulate.Scenario, error) {
	file, lane, named := strings.Cut(path, "#")
	p, err := policy.LoadFile(file)
	if err != nil {
		return simulate.Scenario{}, err
	}
	if named {
		l, ok := p.Lane(lane)
		if !ok {
			return simulate.Scenario{}, fmt.Errorf("the policy has no lane %q", lane)
		}
		return simulate.FromLane(l), nil
	}
	first := &p.Lanes[0]
	for i := range p.Lanes[1:] {
		if !reflect.DeepEqual(p.Lanes[i+1].Measures, first.Measures) {
			return simulate.Scenario{}, fmt.Errorf("lanes %s and %s have different measures: name one as %s#%s", first.ID, p.Lanes[i+1].ID, file, first.ID)
		}
	}
	s := simulate.FromLane(first)
	s.Name = p.ID
	return s, nil
}
