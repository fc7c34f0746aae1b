package config

import (
	"fmt"
	"math/big"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// sensitiveMark is the cty mark carried by values derived from variables
// declared sensitive (D-20).
const sensitiveMark = "sensitive"

// Request-time roots (CFG-2). They are never part of the evaluation context:
// expressions that use them are kept symbolic (requesttime.go) or rejected.
const (
	rootContext        = "context"
	rootStageVariables = "stageVariables"
	rootRequest        = "request"
	rootIntegration    = "integration"
)

// runtimeRoots lists every request-time root.
var runtimeRoots = []string{rootContext, rootStageVariables, rootRequest, rootIntegration}

// isRuntimeRoot reports whether name is a request-time root.
func isRuntimeRoot(name string) bool {
	for _, r := range runtimeRoots {
		if r == name {
			return true
		}
	}
	return false
}

// rebuildContext makes the evaluation context from the current variables,
// locals and functions.
func (d *decoder) rebuildContext() {
	d.ctx = &hcl.EvalContext{
		Variables: map[string]cty.Value{
			"var":   cty.ObjectVal(d.vars),
			"local": cty.ObjectVal(d.locals),
		},
		Functions: d.funcs,
	}
}

// checkRef checks one reference of an expression evaluated in a place
// described by where (e.g. `the "description" argument`). sc lists the
// request-time roots allowed there (nil: none). It reports a problem and
// returns false when the reference cannot be evaluated.
func (d *decoder) checkRef(tr hcl.Traversal, where string, sc *rtScope) bool {
	root := tr.RootName()
	switch root {
	case "var":
		name, ok := refName(tr)
		if !ok {
			d.add(errorf(tr.SourceRange(), SummaryInvalidReference,
				"The var object must be followed by a variable name, as in var.backend."))
			return false
		}
		if _, declared := d.varDecls[name]; !declared {
			d.add(errorf(tr.SourceRange(), SummaryUndeclaredVariable,
				"An input variable named %q is not declared. Declare it with a variable %q block.%s",
				name, name, didYouMean(name, sortedKeys(d.varDecls))))
			return false
		}
		return true
	case "local":
		name, ok := refName(tr)
		if !ok {
			d.add(errorf(tr.SourceRange(), SummaryInvalidReference,
				"The local object must be followed by the name of a local value, as in local.prefix."))
			return false
		}
		if _, declared := d.localDef[name]; !declared {
			d.add(errorf(tr.SourceRange(), SummaryUndeclaredLocal,
				"A local value named %q is not declared in any locals block.%s",
				name, didYouMean(name, sortedKeys(d.localDef))))
			return false
		}
		return true
	}
	if isRuntimeRoot(root) {
		if sc != nil && sc.allows(root) {
			return d.checkRuntimePath(tr)
		}
		if sc != nil {
			d.add(errorf(tr.SourceRange(), SummaryRequestTimeNotAllowed,
				"The request-time variable %s is not available in %s. %s", root, where, sc.allowed))
			return false
		}
		d.add(errorf(tr.SourceRange(), SummaryRequestTimeNotAllowed,
			"The request-time variable %s cannot be used in %s, which is resolved when planning. "+
				"Request-time variables are allowed only in an integration's uri and request_templates, "+
				"in response templates, and (stageVariables only) in an authorizer's uri.", root, where))
		return false
	}
	candidates := []string{"var", "local"}
	if sc != nil {
		candidates = append(candidates, sc.roots...)
	}
	d.add(errorf(tr.SourceRange(), SummaryInvalidReference,
		"There is no variable named %q. References in %s may start with %s.%s",
		root, where, quotedList(candidates), didYouMean(root, candidates)))
	return false
}

// refName returns the attribute name after a traversal's root, as in
// var.NAME.
func refName(tr hcl.Traversal) (string, bool) {
	if len(tr) < 2 {
		return "", false
	}
	switch step := tr[1].(type) {
	case hcl.TraverseAttr:
		return step.Name, true
	case hcl.TraverseIndex:
		if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
			return step.Key.AsString(), true
		}
	}
	return "", false
}

// evalStatic evaluates an expression that may not use request-time
// variables. It returns false (and reports why) when the expression has
// errors; the value may still be unknown when it depends on an unset
// variable.
func (d *decoder) evalStatic(expr hcl.Expression, where string) (cty.Value, bool) {
	return d.evalScoped(expr, where, nil)
}

// attrSet decodes the attributes of one block.
type attrSet struct {
	d     *decoder
	attrs hcl.Attributes
	// header is the block's header range, the subject of missing-argument
	// diagnostics (D-25).
	header hcl.Range
	// what names the block in messages, e.g. `integration "backend"`.
	what string
	// meta receives the names of sensitive attributes; may be nil.
	meta *model.Meta
}

func (d *decoder) attrSet(content *hcl.BodyContent, block *hcl.Block, meta *model.Meta) *attrSet {
	what := block.Type
	for _, l := range block.Labels {
		what += fmt.Sprintf(" %q", l)
	}
	return &attrSet{d: d, attrs: content.Attributes, header: block.DefRange, what: what, meta: meta}
}

// get returns the attribute called name, or nil.
func (a *attrSet) get(name string) *hcl.Attribute { return a.attrs[name] }

// where describes the attribute name in messages.
func (a *attrSet) where(name string) string {
	return fmt.Sprintf("the %q argument of %s", name, a.what)
}

// require reports each of names that is not set.
func (a *attrSet) require(names ...string) {
	for _, name := range names {
		if _, ok := a.attrs[name]; !ok {
			a.d.add(errorf(a.header, SummaryMissingArgument,
				"The argument %q is required in %s, but no definition was found.", name, a.what))
		}
	}
}

// markSensitive records that attribute name holds a sensitive value.
func (a *attrSet) markSensitive(name string) {
	if a.meta == nil || a.meta.IsSensitive(name) {
		return
	}
	a.meta.Sensitive = append(a.meta.Sensitive, name)
	sort.Strings(a.meta.Sensitive)
}

// unmark strips marks from v, recording sensitivity for attribute name.
func (a *attrSet) unmark(name string, v cty.Value) cty.Value {
	if v.ContainsMarked() {
		u, marks := v.UnmarkDeep()
		if _, ok := marks[sensitiveMark]; ok {
			a.markSensitive(name)
		}
		return u
	}
	return v
}

// value evaluates attribute name statically. It returns false when the
// attribute is absent, null, unknown or erroneous.
func (a *attrSet) value(name string) (cty.Value, *hcl.Attribute, bool) {
	attr := a.attrs[name]
	if attr == nil {
		return cty.NilVal, nil, false
	}
	v, ok := a.d.evalStatic(attr.Expr, a.where(name))
	if !ok {
		return cty.NilVal, attr, false
	}
	v = a.unmark(name, v)
	if v.IsNull() || !v.IsWhollyKnown() {
		return cty.NilVal, attr, false
	}
	return v, attr, true
}

// convertTo converts v to ty, reporting a type mismatch on rng.
func (d *decoder) convertTo(v cty.Value, ty cty.Type, rng hcl.Range, where string) (cty.Value, bool) {
	c, err := convert.Convert(v, ty)
	if err != nil {
		d.add(errorf(rng, SummaryIncorrectType, "Inappropriate value for %s: %s.", where, err))
		return cty.NilVal, false
	}
	if c.IsNull() || !c.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return c, true
}

// str decodes a string attribute into dst.
func (a *attrSet) str(name string, dst *string) bool {
	v, attr, ok := a.value(name)
	if !ok {
		return false
	}
	s, ok := a.d.convertTo(v, cty.String, attr.Expr.Range(), a.where(name))
	if !ok {
		return false
	}
	*dst = s.AsString()
	return true
}

// boolean decodes a bool attribute into dst.
func (a *attrSet) boolean(name string, dst *bool) bool {
	v, attr, ok := a.value(name)
	if !ok {
		return false
	}
	b, ok := a.d.convertTo(v, cty.Bool, attr.Expr.Range(), a.where(name))
	if !ok {
		return false
	}
	*dst = b.True()
	return true
}

// maxWholeNumber bounds whole-number attributes so that they fit an int on
// every platform.
const maxWholeNumber = 1 << 31

// integer decodes a whole-number attribute into dst, checking that it lies
// in min..max.
func (a *attrSet) integer(name string, dst *int, min, max int) bool {
	v, attr, ok := a.value(name)
	if !ok {
		return false
	}
	n, ok := a.d.convertTo(v, cty.Number, attr.Expr.Range(), a.where(name))
	if !ok {
		return false
	}
	bf := n.AsBigFloat()
	if !bf.IsInt() {
		a.d.add(errorf(attr.Expr.Range(), SummaryIncorrectType,
			"Inappropriate value for %s: a whole number is required.", a.where(name)))
		return false
	}
	if bf.Cmp(big.NewFloat(float64(min))) < 0 || bf.Cmp(big.NewFloat(float64(max))) > 0 {
		a.d.add(errorf(attr.Expr.Range(), SummaryOutOfRange,
			"The value of %s must be between %d and %d; got %s.", a.where(name), min, max, bf.Text('f', -1)))
		return false
	}
	i, _ := bf.Int64()
	*dst = int(i)
	return true
}

// number decodes a non-negative number attribute into dst.
func (a *attrSet) number(name string, dst *float64, min, max float64) bool {
	v, attr, ok := a.value(name)
	if !ok {
		return false
	}
	n, ok := a.d.convertTo(v, cty.Number, attr.Expr.Range(), a.where(name))
	if !ok {
		return false
	}
	f, _ := n.AsBigFloat().Float64()
	if f < min || f > max {
		a.d.add(errorf(attr.Expr.Range(), SummaryOutOfRange,
			"The value of %s must be between %g and %g; got %s.", a.where(name), min, max, n.AsBigFloat().Text('g', -1)))
		return false
	}
	*dst = f
	return true
}

// enum decodes a string attribute that must be one of allowed.
func (a *attrSet) enum(name string, dst *string, allowed []string) bool {
	var s string
	if !a.str(name, &s) {
		return false
	}
	for _, v := range allowed {
		if s == v {
			*dst = s
			return true
		}
	}
	a.d.add(errorf(a.attrs[name].Expr.Range(), SummaryUnsupportedValue,
		"The value %q is not allowed for %s. Allowed values are %s.%s",
		s, a.where(name), quotedList(allowed), didYouMean(s, allowed)))
	return false
}

// mapEntry is one entry of a map attribute.
type mapEntry struct {
	Key      string
	KeyRange hcl.Range
	// Expr is the value expression when the map is written as an object
	// constructor; nil when the map was evaluated as a whole, in which case
	// Value holds the (unmarked) value.
	Expr       hcl.Expression
	Value      cty.Value
	ValueRange hcl.Range
}

// mapEntries returns the entries of a map attribute in source order (or key
// order when the map is not written literally). Keys are evaluated
// statically.
func (a *attrSet) mapEntries(name string) ([]mapEntry, bool) {
	attr := a.attrs[name]
	if attr == nil {
		return nil, false
	}
	pairs, diags := hcl.ExprMap(attr.Expr)
	if !diags.HasErrors() {
		var entries []mapEntry
		ok := true
		for _, p := range pairs {
			kv, kok := a.d.evalStatic(p.Key, a.where(name))
			if !kok {
				ok = false
				continue
			}
			kv = a.unmark(name, kv)
			if !kv.IsWhollyKnown() {
				continue
			}
			ks, kok := a.d.convertTo(kv, cty.String, p.Key.Range(), "a key of "+a.where(name))
			if !kok {
				ok = false
				continue
			}
			entries = append(entries, mapEntry{
				Key: ks.AsString(), KeyRange: p.Key.Range(),
				Expr: p.Value, ValueRange: p.Value.Range(),
			})
		}
		return entries, ok
	}
	v, _, ok := a.value(name)
	if !ok {
		return nil, false
	}
	if !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		a.d.add(errorf(attr.Expr.Range(), SummaryIncorrectType,
			"Inappropriate value for %s: a map is required.", a.where(name)))
		return nil, false
	}
	var entries []mapEntry
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		entries = append(entries, mapEntry{
			Key: k.AsString(), KeyRange: attr.Expr.Range(),
			Value: ev, ValueRange: attr.Expr.Range(),
		})
	}
	return entries, true
}

// entryString evaluates a map entry's value as a string.
func (a *attrSet) entryString(name string, e mapEntry) (string, bool) {
	v := e.Value
	if e.Expr != nil {
		var ok bool
		v, ok = a.d.evalStatic(e.Expr, a.where(name))
		if !ok {
			return "", false
		}
		v = a.unmark(name, v)
	}
	if v.IsNull() || !v.IsWhollyKnown() {
		return "", false
	}
	s, ok := a.d.convertTo(v, cty.String, e.ValueRange, "a value of "+a.where(name))
	if !ok {
		return "", false
	}
	return s.AsString(), true
}

// stringMap decodes a map(string) attribute, with each entry's range.
func (a *attrSet) stringMap(name string) ([]mapEntry, bool) {
	entries, ok := a.mapEntries(name)
	var out []mapEntry
	for _, e := range entries {
		s, sok := a.entryString(name, e)
		if !sok {
			ok = false
			continue
		}
		e.Value = cty.StringVal(s)
		out = append(out, e)
	}
	return out, ok
}

// listItem is one element of a list attribute.
type listItem struct {
	Value string
	Range hcl.Range
}

// stringList decodes a list(string) attribute with each element's range
// when the list is written literally.
func (a *attrSet) stringList(name string) ([]listItem, bool) {
	attr := a.attrs[name]
	v, _, ok := a.value(name)
	if !ok {
		return nil, false
	}
	lv, ok := a.d.convertTo(v, cty.List(cty.String), attr.Expr.Range(), a.where(name))
	if !ok {
		return nil, false
	}
	exprs, diags := hcl.ExprList(attr.Expr)
	var items []listItem
	for i, it := 0, lv.ElementIterator(); it.Next(); i++ {
		_, ev := it.Element()
		if ev.IsNull() {
			a.d.add(errorf(attr.Expr.Range(), SummaryIncorrectType,
				"Inappropriate value for %s: elements must not be null.", a.where(name)))
			return nil, false
		}
		rng := attr.Expr.Range()
		if !diags.HasErrors() && len(exprs) == lv.LengthInt() {
			rng = exprs[i].Range()
		}
		items = append(items, listItem{Value: ev.AsString(), Range: rng})
	}
	return items, true
}
