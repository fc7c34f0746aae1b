package config

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src in the canonical layout of `wsgwctl fmt` (CLI-2, D-9):
// the whitespace and alignment of hclwrite.Format, with every block label
// written as a quoted string (`api chat {` becomes `api "chat" {`).
//
// The source must parse as HCL native syntax; when it does not, Format
// returns nil and the syntax diagnostics, whose ranges name filename.
// Comments, the order of everything and all expressions are kept as written.
// Format is idempotent: Format of its own output returns that output
// unchanged.
func Format(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	f, diags := hclwrite.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	quoteBareLabels(f.Body())
	return hclwrite.Format(f.Bytes()), diags
}

// quoteBareLabels rewrites, in body and every block nested in it, the labels
// of each block that has at least one label written as a bare identifier.
// Blocks whose labels are all quoted are left byte for byte as they are, so
// the escapes a user chose in a quoted label survive.
func quoteBareLabels(body *hclwrite.Body) {
	for _, b := range body.Blocks() {
		if labels, bare := headerLabels(b); bare {
			b.SetLabels(labels)
		}
		quoteBareLabels(b.Body())
	}
}

// headerLabels scans the tokens of a block header (after any lead comments:
// the type name, then the labels up to the opening brace) and returns the
// decoded labels and whether any of them is a bare identifier. It reports
// bare as false when a label cannot be decoded, so that such a header is
// never rewritten.
func headerLabels(b *hclwrite.Block) (labels []string, bare bool) {
	seenType := false
	var quoted []byte
	inQuote := false
	for _, tok := range b.BuildTokens(nil) {
		if !seenType {
			if tok.Type == hclsyntax.TokenIdent {
				seenType = true
			}
			continue
		}
		switch {
		case tok.Type == hclsyntax.TokenOBrace && !inQuote:
			return labels, bare
		case tok.Type == hclsyntax.TokenIdent && !inQuote:
			labels = append(labels, string(tok.Bytes))
			bare = true
		case tok.Type == hclsyntax.TokenOQuote:
			inQuote, quoted = true, quoted[:0]
		case tok.Type == hclsyntax.TokenCQuote:
			inQuote = false
			label, diags := hclsyntax.ParseStringLiteralToken(hclsyntax.Token{
				Type:  hclsyntax.TokenQuotedLit,
				Bytes: quoted,
			})
			if diags.HasErrors() {
				return nil, false
			}
			labels = append(labels, label)
		case tok.Type == hclsyntax.TokenQuotedLit && inQuote:
			quoted = append(quoted, tok.Bytes...)
		default:
			// Anything else in a header (a template sequence, which the
			// parser already rejects) makes the labels undecodable.
			return nil, false
		}
	}
	return nil, false
}
