package config

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/selection"
)

// rtScope says which request-time roots an attribute may use.
type rtScope struct {
	roots []string
	// allowed is a sentence telling the user what the place allows.
	allowed string
}

// allows reports whether root may be used in the scope.
func (s *rtScope) allows(root string) bool {
	for _, r := range s.roots {
		if r == root {
			return true
		}
	}
	return false
}

var (
	scopeIntegrationURI = &rtScope{
		roots:   []string{rootContext, rootStageVariables, rootRequest},
		allowed: "An integration uri may use context.*, stageVariables.*, request.body and request.raw_body; integration.response.* is available only in response templates.",
	}
	scopeRequestTemplate = &rtScope{
		roots:   []string{rootContext, rootStageVariables, rootRequest},
		allowed: "A request template may use context.*, stageVariables.*, request.body and request.raw_body; integration.response.* is available only in response templates.",
	}
	scopeResponseTemplate = &rtScope{
		roots:   []string{rootContext, rootStageVariables, rootRequest, rootIntegration},
		allowed: "A response template may use context.*, stageVariables.*, request.* and integration.response.*.",
	}
	scopeAuthorizerURI = &rtScope{
		roots:   []string{rootStageVariables},
		allowed: "An authorizer uri may use only stageVariables.*: the authorizer is called during the handshake, before any message or integration exists.",
	}
	scopeSelectionBody = &rtScope{
		roots:   []string{rootRequest},
		allowed: "This selection expression may use only request.body.",
	}
	scopeSelectionAPIKey = &rtScope{
		roots:   []string{rootRequest, rootContext},
		allowed: "The api key selection expression may use request.header.x-api-key or context.authorizer.usageIdentifierKey.",
	}
)

// usesRuntimeRoot reports whether expr references a request-time root.
func usesRuntimeRoot(expr hcl.Expression) bool {
	for _, tr := range expr.Variables() {
		if isRuntimeRoot(tr.RootName()) {
			return true
		}
	}
	return false
}

// checkRuntimePath checks the shape of a reference to a request-time root:
// context.NAME..., stageVariables.NAME, request.body[.PATH],
// request.raw_body, integration.response.statuscode|header.NAME|body[.PATH]|raw_body.
func (d *decoder) checkRuntimePath(tr hcl.Traversal) bool {
	ref, err := traversalRef(tr)
	if err == nil {
		err = checkRefShape(ref)
	}
	if err != nil {
		d.add(errorf(tr.SourceRange(), SummaryInvalidReference, "%s", err))
		return false
	}
	return true
}

// checkRefShape checks a reference's path against its root.
func checkRefShape(ref model.Ref) error {
	names := func(from int) bool {
		for _, s := range ref.Path[from:] {
			if s.IsIndex {
				return false
			}
		}
		return true
	}
	step := func(i int) string {
		if i < len(ref.Path) && !ref.Path[i].IsIndex {
			return ref.Path[i].Name
		}
		return ""
	}
	switch ref.Root {
	case rootContext:
		if len(ref.Path) == 0 || !names(0) {
			return fmt.Errorf("context must be followed by the name of a context variable, as in context.connectionId")
		}
	case rootStageVariables:
		if len(ref.Path) != 1 || !names(0) {
			return fmt.Errorf("stageVariables must be followed by the name of one stage variable, as in stageVariables.room_service")
		}
	case rootRequest:
		switch step(0) {
		case "body":
		case "raw_body":
			if len(ref.Path) != 1 {
				return fmt.Errorf("request.raw_body is the message text and has no attributes")
			}
		default:
			return fmt.Errorf("request must be followed by body (the message parsed as JSON) or raw_body (the message text), as in request.body.action")
		}
	case rootIntegration:
		if step(0) != "response" {
			return fmt.Errorf("the request-time variable integration must be followed by response, as in integration.response.body")
		}
		switch step(1) {
		case "body":
		case "statuscode", "raw_body":
			if len(ref.Path) != 2 {
				return fmt.Errorf("integration.response.%s has no attributes", step(1))
			}
		case "header":
			if len(ref.Path) != 3 || !names(2) {
				return fmt.Errorf("integration.response.header must be followed by one header name, as in integration.response.header.Content-Type")
			}
		default:
			return fmt.Errorf("integration.response must be followed by statuscode, header.NAME, body or raw_body")
		}
	}
	return nil
}

// traversalRef converts a traversal to a model.Ref.
func traversalRef(tr hcl.Traversal) (model.Ref, error) {
	ref := model.Ref{Root: tr.RootName()}
	for _, s := range tr[1:] {
		switch s := s.(type) {
		case hcl.TraverseAttr:
			ref.Path = append(ref.Path, model.PathStep{Name: s.Name})
		case hcl.TraverseIndex:
			k := s.Key
			switch {
			case !k.IsKnown() || k.IsNull():
				return model.Ref{}, fmt.Errorf("an index in a request-time reference must be a string or a whole number")
			case k.Type() == cty.String:
				ref.Path = append(ref.Path, model.PathStep{Name: k.AsString()})
			case k.Type() == cty.Number:
				bf := k.AsBigFloat()
				if !bf.IsInt() || bf.Sign() < 0 || bf.Cmp(big.NewFloat(1<<31)) >= 0 {
					return model.Ref{}, fmt.Errorf("a list index in a request-time reference must be a whole number from 0")
				}
				n, _ := bf.Int64()
				ref.Path = append(ref.Path, model.PathStep{Index: int(n), IsIndex: true})
			default:
				return model.Ref{}, fmt.Errorf("an index in a request-time reference must be a string or a whole number")
			}
		default:
			return model.Ref{}, fmt.Errorf("a request-time reference may contain only names and indexes")
		}
	}
	return ref, nil
}

// evalScoped evaluates an expression that uses no request-time root, with
// reference checks whose messages mention the roots sc allows.
func (d *decoder) evalScoped(expr hcl.Expression, where string, sc *rtScope) (cty.Value, bool) {
	ok := true
	for _, tr := range expr.Variables() {
		if !d.checkRef(tr, where, sc) {
			ok = false
		}
	}
	if !ok {
		return cty.DynamicVal, false
	}
	v, diags := expr.Value(d.ctx)
	d.addAll(diags)
	if diags.HasErrors() {
		return cty.DynamicVal, false
	}
	return v, true
}

// templateParts splits an expression into the parts of a string template.
func templateParts(expr hcl.Expression) []hclsyntax.Expression {
	switch e := expr.(type) {
	case *hclsyntax.TemplateExpr:
		return e.Parts
	case *hclsyntax.TemplateWrapExpr:
		return []hclsyntax.Expression{e.Wrapped}
	case hclsyntax.Expression:
		return []hclsyntax.Expression{e}
	}
	return nil
}

// runtimePart recognises a template part that is a reference to a
// request-time root, bare or wrapped in one of model.TemplateFuncs.
func runtimePart(part hclsyntax.Expression) (hcl.Traversal, string, bool) {
	switch e := part.(type) {
	case *hclsyntax.ScopeTraversalExpr:
		if isRuntimeRoot(e.Traversal.RootName()) {
			return e.Traversal, "", true
		}
	case *hclsyntax.FunctionCallExpr:
		if len(e.Args) != 1 || e.ExpandFinal || !isTemplateFunc(e.Name) {
			return nil, "", false
		}
		if st, ok := e.Args[0].(*hclsyntax.ScopeTraversalExpr); ok && isRuntimeRoot(st.Traversal.RootName()) {
			return st.Traversal, e.Name, true
		}
	}
	return nil, "", false
}

func isTemplateFunc(name string) bool {
	for _, f := range model.TemplateFuncs {
		if f == name {
			return true
		}
	}
	return false
}

// requestTemplate converts a request-time attribute value (CFG-2) to a
// model.Template: static parts are evaluated now, references to request-time
// roots allowed by sc are kept symbolic. The attribute name is recorded as
// sensitive in a.meta when a static part derives from a sensitive variable.
func (a *attrSet) requestTemplate(name string, expr hcl.Expression, sc *rtScope) (model.Template, bool) {
	d := a.d
	where := a.where(name)
	if !usesRuntimeRoot(expr) {
		v, ok := d.evalScoped(expr, where, sc)
		if !ok {
			return model.Template{}, false
		}
		v = a.unmark(name, v)
		if v.IsNull() || !v.IsWhollyKnown() {
			return model.Template{}, true
		}
		s, ok := d.convertTo(v, cty.String, expr.Range(), where)
		if !ok {
			return model.Template{}, false
		}
		return model.LiteralTemplate(s.AsString()), true
	}
	var t model.Template
	ok := true
	appendLiteral := func(s string) {
		if s == "" {
			return
		}
		if n := len(t.Parts); n > 0 && t.Parts[n-1].Ref == nil {
			t.Parts[n-1].Literal += s
			return
		}
		t.Parts = append(t.Parts, model.TemplatePart{Literal: s})
	}
	for _, part := range templateParts(expr) {
		if !usesRuntimeRoot(part) {
			v, pok := d.evalScoped(part, where, sc)
			if !pok {
				ok = false
				continue
			}
			v = a.unmark(name, v)
			if v.IsNull() || !v.IsWhollyKnown() {
				continue
			}
			s, pok := d.convertTo(v, cty.String, part.Range(), where)
			if !pok {
				ok = false
				continue
			}
			appendLiteral(s.AsString())
			continue
		}
		tr, fn, isRef := runtimePart(part)
		if !isRef {
			// Report roots that are not allowed here first: they are the
			// more precise problem.
			precise := false
			for _, ptr := range part.Variables() {
				if isRuntimeRoot(ptr.RootName()) && !sc.allows(ptr.RootName()) {
					d.checkRef(ptr, where, sc)
					precise = true
				}
			}
			if !precise {
				d.add(errorf(part.Range(), SummaryUnsupportedRequestTime,
					"This expression in %s uses a request-time variable in a way that cannot be kept until the request. "+
						"A request-time variable may appear in a template only on its own, as in ${context.connectionId}, "+
						"or as the single argument of one of the functions %s, as in ${jsonencode(request.body)}; "+
						"conditionals, loops, operators and other functions over request-time values are not supported.",
					where, quotedList(model.TemplateFuncs)))
			}
			ok = false
			continue
		}
		if !d.checkRef(tr, where, sc) {
			ok = false
			continue
		}
		ref, _ := traversalRef(tr)
		ref.Func = fn
		t.Parts = append(t.Parts, model.TemplatePart{Ref: &ref})
	}
	return t, ok
}

// selectionText renders a request-time traversal in AWS selection syntax:
// ${request.body.a['b c'][0]}.
func selectionText(tr hcl.Traversal) (string, bool) {
	ref, err := traversalRef(tr)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	b.WriteString("${")
	b.WriteString(ref.Root)
	for _, s := range ref.Path {
		switch {
		case s.IsIndex:
			b.WriteString("[" + strconv.Itoa(s.Index) + "]")
		case hclsyntax.ValidIdentifier(s.Name):
			b.WriteString("." + s.Name)
		default:
			b.WriteString("['" + s.Name + "']")
		}
	}
	b.WriteString("}")
	return b.String(), true
}

// selectionExpr decodes a selection expression attribute (CFG-1): the AWS
// string form ("$request.body.action", "$${request.body.action}",
// "\\$default") or HCL interpolation ("${request.body.action}"), stored in
// AWS syntax and checked with selection.Parse.
func (a *attrSet) selectionExpr(name string, kind selection.Kind) (string, bool) {
	attr := a.attrs[name]
	if attr == nil {
		return "", false
	}
	d := a.d
	where := a.where(name)
	sc := scopeSelectionBody
	if kind == selection.APIKey {
		sc = scopeSelectionAPIKey
	}
	var b strings.Builder
	known := true
	for _, part := range templateParts(attr.Expr) {
		if tr, fn, isRef := runtimePart(part); isRef && fn == "" {
			text, ok := selectionText(tr)
			if !ok || !sc.allows(tr.RootName()) {
				d.add(errorf(tr.SourceRange(), SummaryInvalidSelection,
					"%s cannot be used in %s. %s", tr.RootName(), where, sc.allowed))
				return "", false
			}
			b.WriteString(text)
			continue
		}
		if usesRuntimeRoot(part) {
			d.add(errorf(part.Range(), SummaryUnsupportedRequestTime,
				"A selection expression may contain request-time variables only on their own, as in \"${request.body.action}\" or \"$request.body.action\"; functions and operators over them are not supported."))
			return "", false
		}
		v, ok := d.evalScoped(part, where, sc)
		if !ok {
			return "", false
		}
		v = a.unmark(name, v)
		if v.IsNull() || !v.IsWhollyKnown() {
			known = false
			continue
		}
		s, ok := d.convertTo(v, cty.String, part.Range(), where)
		if !ok {
			return "", false
		}
		b.WriteString(s.AsString())
	}
	if !known {
		return "", false
	}
	text := b.String()
	if kind == selection.APIKey {
		// "${request.header.x-api-key}" and "$request.header.x-api-key" mean
		// the same; store the form AWS documents.
		if strings.HasPrefix(text, "${") && strings.HasSuffix(text, "}") && !strings.Contains(text[2:], "${") {
			text = "$" + text[2:len(text)-1]
		}
	}
	if _, err := selection.Parse(text, kind); err != nil {
		d.add(errorf(attr.Expr.Range(), SummaryInvalidSelection,
			"The selection expression %q in %s is not valid: %s.", text, where, strings.TrimSuffix(selectionMessage(err), ".")))
		return "", false
	}
	return text, true
}

// selectionMessage extracts the message of a selection parse error.
func selectionMessage(err error) string {
	if pe, ok := err.(*selection.ParseError); ok {
		return pe.Message
	}
	return err.Error()
}
