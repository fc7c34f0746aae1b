package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/fatih/color"

	"github.com/wsgwctl/wsgwctl/plan"
)

// Change symbols (PL-5).
const (
	symCreate  = "+"
	symUpdate  = "~"
	symDelete  = "-"
	symReplace = "-/+"
	symNone    = " "
)

// sensitiveText stands in for every masked value (PL-9).
const sensitiveText = "(sensitive value)"

// maxLCSCells bounds the work of a list or text diff; larger inputs are
// shown as everything removed and everything added.
const maxLCSCells = 1 << 20

// NoChangesText is the first line of an empty plan.
const NoChangesText = "No changes. Your configuration matches the applied state."

// noChangesDetail follows NoChangesText in the human rendering.
const noChangesDetail = "wsgwctl has compared your configuration with the applied state and found no differences, so no changes are needed."

// symbol returns the change's symbol: +, ~, - or -/+.
func symbol(c *plan.ResourceChange) string {
	switch c.Action() {
	case plan.ActionCreate:
		return symCreate
	case plan.ActionUpdate:
		return symUpdate
	case plan.ActionDelete:
		return symDelete
	case "replace":
		return symReplace
	}
	return symNone
}

// paint returns s in the given colour attributes when on is set, and s
// unchanged otherwise, whatever fatih/color's global settings are.
func paint(on bool, s string, attrs ...color.Attribute) string {
	if !on {
		return s
	}
	c := color.New(attrs...)
	c.EnableColor()
	return c.Sprint(s)
}

// paintSymbol colours a change symbol: + green, ~ yellow, - red, -/+ red and
// green.
func paintSymbol(on bool, sym string) string {
	switch sym {
	case symCreate:
		return paint(on, sym, color.FgGreen)
	case symUpdate:
		return paint(on, sym, color.FgYellow)
	case symDelete:
		return paint(on, sym, color.FgRed)
	case symReplace:
		return paint(on, "-", color.FgRed) + "/" + paint(on, "+", color.FgGreen)
	}
	return sym
}

// summaryLine returns `Plan: X to add, Y to change, Z to destroy.`.
func summaryLine(p *plan.Plan, on bool) string {
	add, change, destroy := p.Counts()
	return fmt.Sprintf("%s %d to add, %d to change, %d to destroy.", paint(on, "Plan:", color.Bold), add, change, destroy)
}

// PlanHuman writes p for people, with Terraform's conventions (PL-5, D-13):
// a legend of the symbols used, one block per changed object with its
// attributes (unchanged ones folded, sensitive ones masked), and the
// summary line. An empty plan is `No changes.` and why. Problems are not
// written: the caller shows them as diagnostics (ProblemDiagnostics).
func PlanHuman(w io.Writer, p *plan.Plan, colorOn bool) error {
	h := &human{color: colorOn}
	if !p.HasChanges() {
		h.b.WriteString(paint(colorOn, "No changes.", color.FgGreen, color.Bold))
		h.b.WriteString(paint(colorOn, strings.TrimPrefix(NoChangesText, "No changes."), color.Bold))
		h.b.WriteString("\n\n" + noChangesDetail + "\n")
		_, err := w.Write(h.b.Bytes())
		return err
	}

	used := map[string]bool{}
	for _, c := range p.Changes {
		used[symbol(c)] = true
	}
	h.b.WriteString("Resource actions are indicated with the following symbols:\n")
	for _, l := range []struct{ sym, text string }{
		{symCreate, "create"}, {symUpdate, "update in-place"}, {symDelete, "destroy"}, {symReplace, "destroy and then create replacement"},
	} {
		if used[l.sym] {
			h.b.WriteString(strings.Repeat(" ", 3-len(l.sym)) + paintSymbol(colorOn, l.sym) + " " + l.text + "\n")
		}
	}
	h.b.WriteString("\nwsgwctl will perform the following actions:\n\n")
	for _, c := range p.Changes {
		h.change(c)
		h.b.WriteString("\n")
	}
	h.b.WriteString(summaryLine(p, colorOn) + "\n")
	_, err := w.Write(h.b.Bytes())
	return err
}

// human accumulates the human rendering.
type human struct {
	b     bytes.Buffer
	color bool
}

// item writes one line at depth d: the symbol in column 4d+2 (a wider
// symbol extends to the left), a space, then text.
func (h *human) item(d int, sym, text string) {
	h.b.WriteString(strings.Repeat(" ", 4*d+3-len(sym)))
	h.b.WriteString(paintSymbol(h.color, sym))
	h.b.WriteByte(' ')
	h.b.WriteString(text)
	h.b.WriteByte('\n')
}

// closing writes the line that closes a value opened at depth d, its text in
// column 4d+4.
func (h *human) closing(d int, text string) {
	h.b.WriteString(strings.Repeat(" ", 4*d+4))
	h.b.WriteString(text)
	h.b.WriteByte('\n')
}

var actionPhrases = map[string]string{
	plan.ActionCreate: "will be created",
	plan.ActionUpdate: "will be updated in-place",
	plan.ActionDelete: "will be destroyed",
	"replace":         "must be replaced",
}

// change writes one resource change: its comment line and its block.
func (h *human) change(c *plan.ResourceChange) {
	header := "  " + paint(h.color, "# "+c.Address, color.Bold) + " " + actionPhrases[c.Action()]
	if c.Reason != "" {
		header += " (" + c.Reason + ")"
	}
	h.b.WriteString(header + "\n")
	sym := symbol(c)
	h.item(0, sym, c.Type+" "+strconv.Quote(c.Name)+" {")
	switch c.Action() {
	case plan.ActionCreate:
		h.whole(1, symCreate, c.After, c.AfterSensitive, "")
	case plan.ActionDelete:
		h.whole(1, symDelete, c.Before, c.BeforeSensitive, " -> null")
	default:
		h.diffAttrs(c)
	}
	h.closing(0, "}")
}

// whole writes every attribute of attrs with the symbol sym; tail ends each
// attribute (" -> null" for a destroy).
func (h *human) whole(d int, sym string, attrs map[string]any, sens map[string]bool, tail string) {
	keys := sortedKeys(attrs)
	pad := keyWidth(keys)
	for _, k := range keys {
		prefix := padRight(keyText(k), pad) + " = "
		if sens[k] {
			h.item(d, sym, prefix+sensitiveText+tail)
			continue
		}
		h.value(d, sym, prefix, attrs[k], tail, "")
	}
}

// diffAttrs writes the attributes of an update or replacement that change,
// and how many do not.
func (h *human) diffAttrs(c *plan.ResourceChange) {
	keys := sortedKeys(c.Before)
	for k := range c.After {
		if _, ok := c.Before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var shown []string
	for _, k := range keys {
		if attrChanged(c, k) {
			shown = append(shown, k)
		}
	}
	pad := keyWidth(shown)
	for _, k := range shown {
		prefix := padRight(keyText(k), pad) + " = "
		note := ""
		if slices.Contains(c.ReplacePaths, k) {
			note = " " + paint(h.color, "# forces replacement", color.FgRed)
		}
		b, hasB := c.Before[k]
		a, hasA := c.After[k]
		if c.BeforeSensitive[k] || c.AfterSensitive[k] {
			switch {
			case !hasB:
				h.item(1, symCreate, prefix+sensitiveText+note)
			case !hasA:
				h.item(1, symDelete, prefix+sensitiveText+" -> null"+note)
			default:
				h.item(1, symUpdate, prefix+sensitiveText+note)
			}
			continue
		}
		h.diffValue(1, prefix, b, a, hasB, hasA, note)
	}
	if n := len(keys) - len(shown); n > 0 {
		h.item(1, symNone, hidden(n, "attribute"))
	}
}

// attrChanged reports whether attribute k differs between the two sides of
// c; a masked value counts as changed when plan says so.
func attrChanged(c *plan.ResourceChange, k string) bool {
	b, hasB := c.Before[k]
	a, hasA := c.After[k]
	if hasB != hasA {
		return true
	}
	if c.BeforeSensitive[k] || c.AfterSensitive[k] {
		return slices.Contains(c.SensitiveChanged, k) || c.BeforeSensitive[k] != c.AfterSensitive[k]
	}
	return !reflect.DeepEqual(b, a)
}

// hidden returns `# (N unchanged NOUNs hidden)`.
func hidden(n int, noun string) string {
	if n != 1 {
		noun += "s"
	}
	return fmt.Sprintf("# (%d unchanged %s hidden)", n, noun)
}

// value writes v, whole, with the symbol sym at depth d: prefix before it
// (`name = ` or nothing for a list element), tail after its last line and
// note after its first.
func (h *human) value(d int, sym, prefix string, v any, tail, note string) {
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 0 {
			h.item(d, sym, prefix+"{}"+tail+note)
			return
		}
		h.item(d, sym, prefix+"{"+note)
		keys := sortedKeys(v)
		pad := keyWidth(keys)
		for _, k := range keys {
			h.value(d+1, sym, padRight(keyText(k), pad)+" = ", v[k], "", "")
		}
		h.closing(d, "}"+tail)
	case []any:
		if len(v) == 0 {
			h.item(d, sym, prefix+"[]"+tail+note)
			return
		}
		h.item(d, sym, prefix+"["+note)
		for _, e := range v {
			h.value(d+1, sym, "", e, ",", "")
		}
		h.closing(d, "]"+tail)
	case string:
		if !isMultiline(v) {
			h.item(d, sym, prefix+primitive(v)+tail+note)
			return
		}
		h.item(d, sym, prefix+"<<-EOT"+note)
		for _, l := range splitLines(v) {
			h.item(d+1, symNone, l)
		}
		h.closing(d, "EOT"+tail)
	default:
		h.item(d, sym, prefix+primitive(v)+tail+note)
	}
}

// diffValue writes how a value changes from b to a at depth d; hasB and hasA
// say whether each side exists.
func (h *human) diffValue(d int, prefix string, b, a any, hasB, hasA bool, note string) {
	switch {
	case !hasB:
		h.value(d, symCreate, prefix, a, "", note)
		return
	case !hasA:
		h.value(d, symDelete, prefix, b, " -> null", note)
		return
	}
	switch bv := b.(type) {
	case map[string]any:
		if av, ok := a.(map[string]any); ok {
			h.item(d, symUpdate, prefix+"{"+note)
			h.diffMap(d+1, bv, av)
			h.closing(d, "}")
			return
		}
	case []any:
		if av, ok := a.([]any); ok {
			h.item(d, symUpdate, prefix+"["+note)
			h.diffList(d+1, bv, av)
			h.closing(d, "]")
			return
		}
	case string:
		if av, ok := a.(string); ok && (isMultiline(bv) || isMultiline(av)) {
			h.item(d, symUpdate, prefix+"<<-EOT"+note)
			h.diffLines(d+1, splitLines(bv), splitLines(av))
			h.closing(d, "EOT")
			return
		}
	}
	if isPrimitive(b) && isPrimitive(a) {
		h.item(d, symUpdate, prefix+primitive(b)+" -> "+primitive(a)+note)
		return
	}
	h.value(d, symDelete, prefix, b, " -> null", note)
	h.value(d, symCreate, prefix, a, "", "")
}

// diffMap writes the members of a map or object that change, at depth d.
func (h *human) diffMap(d int, b, a map[string]any) {
	keys := sortedKeys(b)
	for k := range a {
		if _, ok := b[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var shown []string
	for _, k := range keys {
		bv, hasB := b[k]
		av, hasA := a[k]
		if hasB != hasA || !reflect.DeepEqual(bv, av) {
			shown = append(shown, k)
		}
	}
	pad := keyWidth(shown)
	for _, k := range shown {
		bv, hasB := b[k]
		av, hasA := a[k]
		h.diffValue(d, padRight(keyText(k), pad)+" = ", bv, av, hasB, hasA, "")
	}
	if n := len(keys) - len(shown); n > 0 {
		h.item(d, symNone, hidden(n, "element"))
	}
}

// diffList writes the elements of a list that are removed or added, at
// depth d, and how many stay.
func (h *human) diffList(d int, b, a []any) {
	unchanged := 0
	for _, op := range lcsDiff(len(b), len(a), func(i, j int) bool { return reflect.DeepEqual(b[i], a[j]) }) {
		switch op.kind {
		case opKeep:
			unchanged++
		case opDelete:
			h.value(d, symDelete, "", b[op.i], ",", "")
		case opInsert:
			h.value(d, symCreate, "", a[op.j], ",", "")
		}
	}
	if unchanged > 0 {
		h.item(d, symNone, hidden(unchanged, "element"))
	}
}

// diffLines writes a line diff of a multi-line string, every line shown.
func (h *human) diffLines(d int, b, a []string) {
	for _, op := range lcsDiff(len(b), len(a), func(i, j int) bool { return b[i] == a[j] }) {
		switch op.kind {
		case opKeep:
			h.item(d, symNone, b[op.i])
		case opDelete:
			h.item(d, symDelete, b[op.i])
		case opInsert:
			h.item(d, symCreate, a[op.j])
		}
	}
}

// Edit operations of lcsDiff.
const (
	opKeep = iota
	opDelete
	opInsert
)

type editOp struct {
	kind int
	i, j int // indexes into the old and new sequences
}

// lcsDiff returns the edit script from a sequence of n elements to one of m
// elements along a longest common subsequence, deletions before insertions
// at each point. Past maxLCSCells it deletes everything and inserts
// everything.
func lcsDiff(n, m int, eq func(i, j int) bool) []editOp {
	var ops []editOp
	if n*m > maxLCSCells {
		for i := range n {
			ops = append(ops, editOp{kind: opDelete, i: i})
		}
		for j := range m {
			ops = append(ops, editOp{kind: opInsert, j: j})
		}
		return ops
	}
	// l[i][j] is the LCS length of the suffixes from i and j.
	l := make([][]int, n+1)
	for i := range l {
		l[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if eq(i, j) {
				l[i][j] = l[i+1][j+1] + 1
			} else {
				l[i][j] = max(l[i+1][j], l[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && eq(i, j):
			ops = append(ops, editOp{kind: opKeep, i: i, j: j})
			i++
			j++
		case i < n && (j == m || l[i+1][j] >= l[i][j+1]):
			ops = append(ops, editOp{kind: opDelete, i: i})
			i++
		default:
			ops = append(ops, editOp{kind: opInsert, j: j})
			j++
		}
	}
	return ops
}

// primitive renders a scalar as HCL writes it.
func primitive(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	// Plan produces only generic JSON values; anything else is shown as
	// Go formats it rather than dropped.
	return fmt.Sprint(v)
}

func isPrimitive(v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return true
}

func isMultiline(s string) bool { return strings.Contains(strings.TrimSuffix(s, "\n"), "\n") }

// splitLines splits s into lines, without a final empty line.
func splitLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// keyText renders an attribute or map key: bare when it is an identifier,
// quoted otherwise.
func keyText(k string) string {
	if identifier.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

// keyWidth returns the widest rendered key, for aligning the `=`.
func keyWidth(keys []string) int {
	w := 0
	for _, k := range keys {
		w = max(w, len(keyText(k)))
	}
	return w
}

func padRight(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return s + strings.Repeat(" ", w-len(s))
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
