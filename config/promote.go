package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// StageEdit is a change to one configuration file that pins a stage to a
// deployment (CLI-8). Old and New are the whole file before and after.
type StageEdit struct {
	Filename string
	Old, New []byte
}

// PinStage rewrites the `deployment` attribute of stage stageName inside
// `api "apiName"` in the configuration directory dir so that it reads
// deploymentID. When the attribute is absent it is added as the first line
// inside the stage block (D-16); when present, only its value expression is
// replaced. Everything else in the file, comments and layout included, is
// kept byte for byte; a file that was canonically formatted before is
// formatted again so that the new line's `=` aligns with its neighbours.
//
// PinStage does not write: the caller writes StageEdit.New to Filename.
// Problems with the files (syntax errors, no such API or stage) are returned
// as diagnostics.
func PinStage(dir, apiName, stageName, deploymentID string) (*StageEdit, hcl.Diagnostics) {
	names, err := filepath.Glob(filepath.Join(dir, "*"+ConfigFileSuffix))
	if err != nil {
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Failed to read configuration directory", Detail: err.Error()}}
	}
	sort.Strings(names)
	var diags hcl.Diagnostics
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Failed to read file", Detail: fmt.Sprintf("Cannot read %s: %s.", name, err)})
			continue
		}
		f, fdiags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
		if fdiags.HasErrors() {
			diags = append(diags, fdiags...)
			continue
		}
		stage := findStage(f.Body.(*hclsyntax.Body), apiName, stageName)
		if stage == nil {
			continue
		}
		edited := spliceDeployment(src, stage, strconv.Quote(deploymentID))
		if formatted, fd := Format(src, name); !fd.HasErrors() && bytes.Equal(formatted, src) {
			if again, fd := Format(edited, name); !fd.HasErrors() {
				edited = again
			}
		}
		return &StageEdit{Filename: name, Old: src, New: edited}, diags
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return nil, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Stage not found",
		Detail:   fmt.Sprintf("No *%s file in %s defines stage %q inside api %q.", ConfigFileSuffix, dir, stageName, apiName),
	}}
}

// findStage returns the `stage "stageName"` block nested in `api "apiName"`.
func findStage(body *hclsyntax.Body, apiName, stageName string) *hclsyntax.Block {
	for _, api := range body.Blocks {
		if api.Type != "api" || len(api.Labels) != 1 || api.Labels[0] != apiName {
			continue
		}
		for _, b := range api.Body.Blocks {
			if b.Type == "stage" && len(b.Labels) == 1 && b.Labels[0] == stageName {
				return b
			}
		}
	}
	return nil
}

// spliceDeployment returns src with the stage block's deployment attribute
// set to value (an HCL expression).
func spliceDeployment(src []byte, stage *hclsyntax.Block, value string) []byte {
	if attr, ok := stage.Body.Attributes["deployment"]; ok {
		r := attr.Expr.Range()
		return concat(src[:r.Start.Byte], []byte(value), src[r.End.Byte:])
	}
	open := stage.OpenBraceRange.End.Byte
	indent := lineIndent(src, stage.TypeRange.Start.Byte) + "  "
	line := "deployment = " + value
	// A one-line block `stage "x" {}` becomes a block of its own lines.
	if stage.CloseBraceRange.Start.Line == stage.OpenBraceRange.Start.Line {
		closeAt := stage.CloseBraceRange.Start.Byte
		inner := bytes.TrimSpace(src[open:closeAt])
		var b bytes.Buffer
		b.WriteString("\n" + indent + line + "\n")
		if len(inner) > 0 {
			b.WriteString(indent)
			b.Write(inner)
			b.WriteString("\n")
		}
		b.WriteString(indent[:len(indent)-2])
		return concat(src[:open], b.Bytes(), src[closeAt:])
	}
	return concat(src[:open], []byte("\n"+indent+line), src[open:])
}

// lineIndent returns the white space that starts the line holding offset.
func lineIndent(src []byte, offset int) string {
	start := bytes.LastIndexByte(src[:offset], '\n') + 1
	end := start
	for end < len(src) && (src[end] == ' ' || src[end] == '\t') {
		end++
	}
	return string(src[start:end])
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
