package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// decodeLocalsBlocks collects the attributes of every locals block into one
// namespace and evaluates them in dependency order. A cycle is reported once,
// naming its chain (D-23); the locals on it are unknown.
func (d *decoder) decodeLocalsBlocks(blocks []*hcl.Block) {
	var order []string
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		d.addAll(diags)
		list := make([]*hcl.Attribute, 0, len(attrs))
		for _, a := range attrs {
			list = append(list, a)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
		for _, a := range list {
			if !d.define("", KindLocal, a.Name, a.NameRange) {
				continue
			}
			d.localDef[a.Name] = a
			order = append(order, a.Name)
		}
	}
	// Until evaluated, every local is unknown, so that evaluating one that
	// depends on a broken local yields unknown rather than a second error.
	for _, name := range order {
		d.locals[name] = cty.DynamicVal
	}

	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		switch state[name] {
		case done:
			return
		case visiting:
			d.reportLocalsCycle(stack, name)
			return
		}
		state[name] = visiting
		stack = append(stack, name)
		attr := d.localDef[name]
		for _, tr := range attr.Expr.Variables() {
			if tr.RootName() != "local" {
				continue
			}
			if dep, ok := refName(tr); ok {
				if _, declared := d.localDef[dep]; declared {
					visit(dep)
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[name] = done
		if d.inCycle(name) {
			return
		}
		d.rebuildContext()
		v, ok := d.evalStatic(attr.Expr, fmt.Sprintf("local value %q", name))
		if ok {
			d.locals[name] = v
		}
	}
	for _, name := range order {
		visit(name)
	}
	d.rebuildContext()
}

// inCycle reports whether the local value name was found on a cycle.
func (d *decoder) inCycle(name string) bool {
	_, ok := d.cycleLocals[name]
	return ok
}

// reportLocalsCycle reports the cycle that closes at name, whose path is
// the tail of stack starting at name.
func (d *decoder) reportLocalsCycle(stack []string, name string) {
	start := 0
	for i, s := range stack {
		if s == name {
			start = i
			break
		}
	}
	chain := append(append([]string(nil), stack[start:]...), name)
	for _, c := range chain {
		d.cycleLocals[c] = struct{}{}
	}
	parts := make([]string, len(chain))
	for i, c := range chain {
		parts[i] = "local." + c
	}
	d.add(errorf(d.localDef[name].NameRange, SummaryLocalsCycle,
		"The local values refer to each other in a cycle: %s. A local value cannot depend on itself, directly or through other locals.",
		strings.Join(parts, " → ")))
}
