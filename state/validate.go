package state

import (
	"fmt"
	"strconv"
	"strings"
)

// maxProblems bounds how many structural problems Validate lists.
const maxProblems = 10

// Validate checks the structure of a complete, written state: a supported
// version, a lineage, a serial of at least 1, no null entries, unique API names
// and ids, unique deployment ids per API, and every stage's deployment present
// in its API's history (PL-7). Decode reports its error as a *CorruptError;
// apply refuses to write a state that fails it.
func (s *State) Validate() error {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	if s.Version < 1 || s.Version > Version {
		add("format version %d is not supported (this wsgwctl supports 1 to %d)", s.Version, Version)
	}
	if s.Lineage == "" {
		add(`the "lineage" field is missing or empty`)
	}
	if s.Serial < 1 {
		add(`the "serial" field is %d; it must be at least 1`, s.Serial)
	}
	names := make(map[string]bool, len(s.APIs))
	ids := make(map[string]string, len(s.APIs))
	for i, api := range s.APIs {
		if api == nil {
			add("apis[%d] is null", i)
			continue
		}
		if api.Config == nil || api.Config.Name == "" {
			add("apis[%d] has no config or no name", i)
			continue
		}
		name := api.Config.Name
		label := "api " + strconv.Quote(name)
		if names[name] {
			add("%s appears more than once", label)
		}
		names[name] = true
		switch {
		case api.ID == "":
			add("%s has no id", label)
		case ids[api.ID] != "":
			add("%s has the same id %q as api %q", label, api.ID, ids[api.ID])
		default:
			ids[api.ID] = name
		}
		seen := make(map[string]bool, len(api.Deployments))
		for j, d := range api.Deployments {
			switch {
			case d == nil:
				add("%s: deployments[%d] is null", label, j)
			case d.ID == "":
				add("%s: deployments[%d] has no id", label, j)
			case seen[d.ID]:
				add("%s: deployment %s appears more than once", label, d.ID)
			default:
				seen[d.ID] = true
			}
		}
		for _, stage := range sortedKeys(api.StageDeployments) {
			id := api.StageDeployments[stage]
			if !seen[id] {
				add("%s: stage %q runs deployment %q, which is not in the API's deployment history", label, stage, id)
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if len(problems) > maxProblems {
		more := len(problems) - maxProblems
		problems = append(problems[:maxProblems], fmt.Sprintf("and %d more problem(s)", more))
	}
	return &structureError{problems: problems}
}

// structureError lists the problems Validate found.
type structureError struct{ problems []string }

func (e *structureError) Error() string { return strings.Join(e.problems, "; ") }
