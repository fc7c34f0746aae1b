package views

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/hashicorp/hcl/v2"

	"github.com/wsgwctl/wsgwctl/config/model"
	"github.com/wsgwctl/wsgwctl/plan"
)

// PlanJSONFormatVersion is the format_version of PlanJSON's document.
const PlanJSONFormatVersion = "1.0"

// PlanCompact writes one line per changed address, `SYMBOL ADDRESS`, then the
// summary line (D-12); an empty plan is NoChangesText.
func PlanCompact(w io.Writer, p *plan.Plan, colorOn bool) error {
	var b bytes.Buffer
	if !p.HasChanges() {
		b.WriteString(NoChangesText + "\n")
	} else {
		for _, c := range p.Changes {
			b.WriteString(paintSymbol(colorOn, symbol(c)) + " " + c.Address + "\n")
		}
		b.WriteString(summaryLine(p, colorOn) + "\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// jsonPlan is PlanJSON's document (PL-5, D-11).
type jsonPlan struct {
	FormatVersion   string           `json:"format_version"`
	Applyable       bool             `json:"applyable"`
	ResourceChanges []jsonChange     `json:"resource_changes"`
	Deployments     []jsonDeployment `json:"deployments"`
	Problems        []jsonProblem    `json:"problems,omitempty"`
}

type jsonChange struct {
	Address string         `json:"address"`
	Type    string         `json:"type"`
	Name    string         `json:"name"`
	API     string         `json:"api,omitempty"`
	Change  jsonChangeBody `json:"change"`
	Reason  string         `json:"reason,omitempty"`
}

type jsonChangeBody struct {
	Actions []string `json:"actions"`
	Before  any      `json:"before"`
	After   any      `json:"after"`
	// BeforeSensitive and AfterSensitive are false when that side does not
	// exist, else an object marking the masked attributes with true.
	BeforeSensitive any `json:"before_sensitive"`
	AfterSensitive  any `json:"after_sensitive"`
	// ReplacePaths are attribute paths, each an array of steps, as
	// Terraform writes them.
	ReplacePaths [][]string `json:"replace_paths,omitempty"`
}

type jsonDeployment struct {
	API         string   `json:"api"`
	ID          string   `json:"id"`
	Action      string   `json:"action"`
	TriggeredBy []string `json:"triggered_by"`
	Stages      []string `json:"stages"`
}

type jsonProblem struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *model.Range `json:"range,omitempty"`
}

// PlanJSON writes p as one JSON document on one line (PL-5, D-11):
// format_version, applyable, resource_changes (Terraform's shape, sensitive
// values null and marked in before_sensitive/after_sensitive), deployments
// and, when there are any, problems. It never writes ANSI sequences.
func PlanJSON(w io.Writer, p *plan.Plan) error {
	doc := jsonPlan{
		FormatVersion:   PlanJSONFormatVersion,
		Applyable:       p.Applyable(),
		ResourceChanges: make([]jsonChange, 0, len(p.Changes)),
		Deployments:     make([]jsonDeployment, 0, len(p.Deployments)),
	}
	for _, c := range p.Changes {
		jc := jsonChange{Address: c.Address, Type: c.Type, Name: c.Name, API: c.API, Reason: c.Reason,
			Change: jsonChangeBody{
				Actions:         c.Actions,
				Before:          side(c.Before),
				After:           side(c.After),
				BeforeSensitive: sensitivity(c.Before, c.BeforeSensitive),
				AfterSensitive:  sensitivity(c.After, c.AfterSensitive),
			}}
		for _, path := range c.ReplacePaths {
			jc.Change.ReplacePaths = append(jc.Change.ReplacePaths, []string{path})
		}
		doc.ResourceChanges = append(doc.ResourceChanges, jc)
	}
	for _, d := range p.Deployments {
		jd := jsonDeployment{API: d.API, ID: d.ID, Action: d.Action, TriggeredBy: d.TriggeredBy, Stages: d.Stages}
		if jd.TriggeredBy == nil {
			jd.TriggeredBy = []string{}
		}
		if jd.Stages == nil {
			jd.Stages = []string{}
		}
		doc.Deployments = append(doc.Deployments, jd)
	}
	for _, pr := range p.Problems {
		doc.Problems = append(doc.Problems, jsonProblem{Severity: pr.Severity, Summary: pr.Summary, Detail: pr.Detail, Range: pr.Range})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encode plan as JSON: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// side returns a change side for JSON: null when the object does not exist.
func side(attrs map[string]any) any {
	if attrs == nil {
		return nil
	}
	return attrs
}

// sensitivity returns a side's sensitivity marks for JSON: false when the
// side does not exist, else an object ({} when nothing is masked).
func sensitivity(attrs map[string]any, marks map[string]bool) any {
	if attrs == nil {
		return false
	}
	if marks == nil {
		return map[string]bool{}
	}
	return marks
}

// ProblemDiagnostics converts plan problems into HCL diagnostics, so the
// command line shows them like configuration errors, with the source line.
func ProblemDiagnostics(problems []*plan.Problem) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, pr := range problems {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: pr.Summary, Detail: pr.Detail}
		if pr.Severity == plan.SeverityWarning {
			d.Severity = hcl.DiagWarning
		}
		if r := pr.Range; r != nil {
			d.Subject = &hcl.Range{
				Filename: r.Filename,
				Start:    hcl.Pos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
				End:      hcl.Pos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
			}
		}
		diags = append(diags, d)
	}
	return diags
}
