package config

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvVarPrefix is the prefix of environment variables that set input
// variables: WSGW_VAR_name=VALUE.
const EnvVarPrefix = "WSGW_VAR_"

// variableDecl is one `variable "NAME"` block.
type variableDecl struct {
	name       string
	block      *hcl.Block
	typ        cty.Type
	hasDefault bool
	def        cty.Value
	sensitive  bool
}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"},
}}

// constantContext is the evaluation context of values that may call
// functions but reference nothing: variable defaults and values.
func (d *decoder) constantContext() *hcl.EvalContext {
	return &hcl.EvalContext{Functions: d.funcs}
}

// decodeVariableBlocks decodes every variable block.
func (d *decoder) decodeVariableBlocks(blocks []*hcl.Block) {
	for _, b := range blocks {
		d.decodeVariableBlock(b)
	}
}

// decodeVariableBlock decodes a `variable "NAME"` block: its type
// constraint, default, description and sensitivity.
func (d *decoder) decodeVariableBlock(b *hcl.Block) {
	name := b.Labels[0]
	content, diags := b.Body.Content(variableSchema)
	d.addAll(diags)
	if !hclsyntax.ValidIdentifier(name) {
		d.add(errorf(b.LabelRanges[0], SummaryInvalidName,
			"A variable name must start with a letter or underscore and contain only letters, digits, underscores and dashes; %q does not.", name))
		return
	}
	if !d.define("", KindVariable, name, b.DefRange) {
		return
	}
	decl := &variableDecl{name: name, block: b, typ: cty.DynamicPseudoType}
	d.varDecls[name] = decl
	if attr, ok := content.Attributes["type"]; ok {
		ty, diags := typeexpr.TypeConstraint(attr.Expr)
		d.addAll(diags)
		if !diags.HasErrors() {
			decl.typ = ty
		}
	}
	if attr, ok := content.Attributes["description"]; ok {
		v, diags := attr.Expr.Value(d.constantContext())
		d.addAll(diags)
		if !diags.HasErrors() {
			d.convertTo(v, cty.String, attr.Expr.Range(), fmt.Sprintf("the description of variable %q", name))
		}
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		v, diags := attr.Expr.Value(d.constantContext())
		d.addAll(diags)
		if !diags.HasErrors() {
			if bv, ok := d.convertTo(v, cty.Bool, attr.Expr.Range(), fmt.Sprintf("the sensitive argument of variable %q", name)); ok {
				decl.sensitive = bv.True()
			}
		}
	}
	if attr, ok := content.Attributes["default"]; ok {
		decl.hasDefault = true
		decl.def = cty.UnknownVal(decl.typ)
		v, diags := attr.Expr.Value(d.constantContext())
		d.addAll(diags)
		if !diags.HasErrors() {
			c, err := convert.Convert(v, decl.typ)
			if err != nil {
				d.add(errorf(attr.Expr.Range(), SummaryInvalidVariableDefault,
					"The default value of variable %q does not match its type %s: %s.",
					name, typeexpr.TypeString(decl.typ), err))
			} else {
				decl.def = c
			}
		}
	}
}

// varSource says where a variable's value came from, for messages.
type varSource struct {
	desc    string
	subject *hcl.Range
}

// resolveVariables gives every declared variable its value: its default,
// then WSGW_VAR_* environment variables, then --var-file files, then --var
// flags, the later winning within each kind (D-5).
func (d *decoder) resolveVariables(opts LoadOptions) {
	values := map[string]cty.Value{}
	set := func(name string, v cty.Value, src varSource) {
		decl := d.varDecls[name]
		c, err := convert.Convert(v, decl.typ)
		if err != nil {
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  SummaryInvalidVariableValue,
				Detail: fmt.Sprintf("The value for var.%s given by %s is not suitable: %s. The variable is declared at %s with type %s.",
					name, src.desc, err, posString(decl.block.DefRange), typeexpr.TypeString(decl.typ)),
				Subject: src.subject,
			})
			values[name] = cty.UnknownVal(decl.typ)
			return
		}
		values[name] = c
	}
	for name, decl := range d.varDecls {
		if decl.hasDefault {
			values[name] = decl.def
		}
	}

	for _, kv := range opts.Environ {
		rest, ok := strings.CutPrefix(kv, EnvVarPrefix)
		if !ok {
			continue
		}
		name, raw, ok := strings.Cut(rest, "=")
		if !ok {
			continue
		}
		if _, declared := d.varDecls[name]; !declared {
			continue // D-5: environment values for undeclared variables are ignored
		}
		src := varSource{desc: "the environment variable " + EnvVarPrefix + name}
		if v, ok := d.parseRawValue(name, raw, src); ok {
			set(name, v, src)
		} else {
			values[name] = cty.UnknownVal(d.varDecls[name].typ)
		}
	}

	for _, path := range opts.VarFiles {
		d.loadVarFile(path, set)
	}

	for _, flag := range opts.Vars {
		name, raw, ok := strings.Cut(flag, "=")
		if !ok || name == "" {
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  SummaryInvalidVarOption,
				Detail:   fmt.Sprintf("The option --var %q is not of the form NAME=VALUE.", flag),
			})
			continue
		}
		if _, declared := d.varDecls[name]; !declared {
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  SummaryUndeclaredVariableSet,
				Detail: fmt.Sprintf("The option --var %q sets a variable %q that is not declared in the configuration.%s",
					flag, name, didYouMean(name, sortedKeys(d.varDecls))),
			})
			continue
		}
		src := varSource{desc: fmt.Sprintf("the option --var %q", flag)}
		if v, ok := d.parseRawValue(name, raw, src); ok {
			set(name, v, src)
		} else {
			values[name] = cty.UnknownVal(d.varDecls[name].typ)
		}
	}

	names := sortedKeys(d.varDecls)
	for _, name := range names {
		decl := d.varDecls[name]
		v, ok := values[name]
		if !ok {
			if !opts.AllowUnsetVariables {
				d.add(errorf(decl.block.DefRange, SummaryNoVariableValue,
					"The variable %q has no default and no value was given. Set it with --var %s=VALUE, in a file given with --var-file, or with the environment variable %s%s.",
					name, name, EnvVarPrefix, name))
			}
			v = cty.UnknownVal(decl.typ)
		}
		if decl.sensitive {
			v = v.Mark(sensitiveMark)
		}
		d.vars[name] = v
	}
}

// parseRawValue interprets a value given on the command line or in the
// environment: the raw text for string (and untyped) variables, an HCL
// expression otherwise (D-5).
func (d *decoder) parseRawValue(name, raw string, src varSource) (cty.Value, bool) {
	decl := d.varDecls[name]
	if decl.typ == cty.String || decl.typ == cty.DynamicPseudoType {
		return cty.StringVal(raw), true
	}
	expr, diags := hclsyntax.ParseExpression([]byte(raw), src.desc, hcl.InitialPos)
	if !diags.HasErrors() {
		var v cty.Value
		v, diags = expr.Value(d.constantContext())
		if !diags.HasErrors() {
			return v, true
		}
	}
	var msgs []string
	for _, diag := range diags {
		msgs = append(msgs, strings.TrimSuffix(diag.Detail, "."))
	}
	d.add(&hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  SummaryInvalidVariableValue,
		Detail: fmt.Sprintf("The value for var.%s given by %s is not a valid value of type %s (%s). Values of types other than string are written as HCL expressions, as in 3, true, [\"a\", \"b\"] or {key = \"value\"}.",
			name, src.desc, typeexpr.TypeString(decl.typ), strings.Join(msgs, "; ")),
	})
	return cty.NilVal, false
}

// loadVarFile reads one --var-file: an HCL file of `name = value`
// attributes.
func (d *decoder) loadVarFile(path string, set func(string, cty.Value, varSource)) {
	src, err := os.ReadFile(path)
	if err != nil {
		d.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  SummaryReadFile,
			Detail:   fmt.Sprintf("Cannot read the variables file given by --var-file %s: %s.", path, err),
		})
		return
	}
	f, diags := hclparse.NewParser().ParseHCL(src, path)
	d.addAll(diags)
	if f == nil {
		return
	}
	d.files[path] = f
	if diags.HasErrors() {
		return
	}
	attrs, diags := f.Body.JustAttributes()
	d.addAll(diags)
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
	for _, attr := range list {
		if _, declared := d.varDecls[attr.Name]; !declared {
			d.add(errorf(attr.NameRange, SummaryUndeclaredVariableSet,
				"The variables file %s sets a variable %q that is not declared in the configuration.%s",
				path, attr.Name, didYouMean(attr.Name, sortedKeys(d.varDecls))))
			continue
		}
		v, diags := attr.Expr.Value(d.constantContext())
		d.addAll(diags)
		if diags.HasErrors() {
			continue
		}
		rng := attr.Expr.Range()
		set(attr.Name, v, varSource{desc: "the variables file " + posString(attr.Range), subject: &rng})
	}
}
