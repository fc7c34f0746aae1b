package config

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// ConfigFileSuffix is the suffix of the files that form a configuration
// (FS-1).
const ConfigFileSuffix = ".wsgw.hcl"

// LoadOptions are the inputs of Load besides the configuration directory.
type LoadOptions struct {
	// Vars are --var NAME=VALUE flags, in command-line order. Default: none.
	Vars []string
	// VarFiles are --var-file paths, in order; relative paths are relative
	// to the process working directory (D-4). Default: none.
	VarFiles []string
	// Environ is the environment as os.Environ returns it; WSGW_VAR_<name>=VALUE
	// entries set variables. Default: none (Load never reads the process
	// environment itself).
	Environ []string
	// AllowUnsetVariables makes a variable with no value unknown instead of
	// an error (validate, D-6). Default: false.
	AllowUnsetVariables bool
}

// Loaded is the result of Load.
type Loaded struct {
	// Config is the desired model. It is non-nil even when there are errors;
	// it then holds what could be decoded (best effort).
	Config *model.Config
	// Files are every parsed file (configuration and variable files), by the
	// filename used in diagnostics, for rendering snippets.
	Files map[string]*hcl.File
	// Dir is the configuration directory as given to Load.
	Dir string
}

// Load reads every *.wsgw.hcl file directly inside dir (sorted by name),
// resolves variables and locals, decodes and validates all blocks, and
// returns the desired model with every problem found. Filenames in
// diagnostics are filepath.Join(dir, base). Load never returns a nil
// *Loaded.
func Load(dir string, opts LoadOptions) (*Loaded, hcl.Diagnostics) {
	d := newDecoder(dir)
	loaded := &Loaded{Config: d.cfg, Files: d.files, Dir: dir}

	bodies := d.parseDir()
	if len(d.files) == 0 && !d.diags.HasErrors() {
		return loaded, d.diags
	}
	top := d.topLevel(bodies)

	d.decodeVariableBlocks(top.variables)
	d.resolveVariables(opts)
	d.decodeLocalsBlocks(top.locals)
	d.rebuildContext()

	for _, b := range top.apis {
		d.decodeAPIBlock(b)
	}
	for _, b := range top.apiKeys {
		d.decodeAPIKeyBlock(b)
	}
	for _, b := range top.credentials {
		d.decodeCredentialsBlock(b)
	}
	for _, b := range top.usagePlans {
		d.decodeUsagePlanBlock(b)
	}
	for _, b := range top.domainNames {
		d.decodeDomainNameBlock(b)
	}
	sortConfig(d.cfg)
	return loaded, d.diags
}

// decoder holds the state of one Load.
type decoder struct {
	dir   string
	files map[string]*hcl.File
	diags hcl.Diagnostics
	cfg   *model.Config

	funcs map[string]function.Function
	ctx   *hcl.EvalContext

	varDecls map[string]*variableDecl
	vars     map[string]cty.Value
	locals   map[string]cty.Value
	localDef map[string]*hcl.Attribute
	// cycleLocals are the locals found on a reference cycle.
	cycleLocals map[string]struct{}

	apis       map[string]*apiInfo
	apiKeys    map[string]*model.APIKey
	firstDefs  map[string]hcl.Range // "kind\x00name" → first definition
	mappingDef map[string]hcl.Range
	// apiKeyValues maps an api_key value to where it is first set, and
	// planKeyUse records which usage plan first put a key on an API stage
	// (checkAPIKeyUse).
	apiKeyValues map[string]keyDef
	planKeyUse   map[string]keyDef
}

func newDecoder(dir string) *decoder {
	d := &decoder{
		dir:          dir,
		files:        map[string]*hcl.File{},
		cfg:          &model.Config{},
		funcs:        functions(dir),
		varDecls:     map[string]*variableDecl{},
		vars:         map[string]cty.Value{},
		locals:       map[string]cty.Value{},
		localDef:     map[string]*hcl.Attribute{},
		cycleLocals:  map[string]struct{}{},
		apis:         map[string]*apiInfo{},
		apiKeys:      map[string]*model.APIKey{},
		firstDefs:    map[string]hcl.Range{},
		mappingDef:   map[string]hcl.Range{},
		apiKeyValues: map[string]keyDef{},
		planKeyUse:   map[string]keyDef{},
	}
	d.rebuildContext()
	return d
}

// add appends diagnostics.
func (d *decoder) add(diags ...*hcl.Diagnostic) { d.diags = append(d.diags, diags...) }

// addAll appends a set of diagnostics.
func (d *decoder) addAll(diags hcl.Diagnostics) { d.diags = append(d.diags, diags...) }

// parseDir parses every configuration file of the directory and returns the
// bodies of those that parsed.
func (d *decoder) parseDir() []hcl.Body {
	entries, err := os.ReadDir(d.dir)
	if err != nil {
		d.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  SummaryReadFile,
			Detail:   fmt.Sprintf("Cannot read the configuration directory %s: %s.", d.dir, err),
		})
		return nil
	}
	var names []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ConfigFileSuffix) && !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		d.add(&hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  SummaryNoConfigFiles,
			Detail: fmt.Sprintf("The directory %s contains no %s files. A configuration is a directory of *%s files; use -C to choose another directory.",
				d.dir, ConfigFileSuffix, ConfigFileSuffix),
		})
		return nil
	}
	parser := hclparse.NewParser()
	var bodies []hcl.Body
	for _, name := range names {
		filename := filepath.Join(d.dir, name)
		src, err := os.ReadFile(filename)
		if err != nil {
			d.add(&hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  SummaryReadFile,
				Detail:   fmt.Sprintf("Cannot read %s: %s.", filename, err),
			})
			continue
		}
		f, diags := parser.ParseHCL(src, filename)
		d.addAll(diags)
		if f != nil {
			d.files[filename] = f
		}
		if f != nil && !diags.HasErrors() {
			bodies = append(bodies, f.Body)
		}
	}
	return bodies
}

// topBlocks are the top-level blocks of all files, by type, in file order.
type topBlocks struct {
	variables, locals, apis, apiKeys, usagePlans, credentials, domainNames []*hcl.Block
}

var topSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "variable", LabelNames: []string{"name"}},
	{Type: "locals"},
	{Type: "api", LabelNames: []string{"name"}},
	{Type: "api_key", LabelNames: []string{"name"}},
	{Type: "usage_plan", LabelNames: []string{"name"}},
	{Type: "credentials", LabelNames: []string{"name"}},
	{Type: "domain_name", LabelNames: []string{"host"}},
}}

// topLevel sorts the top-level blocks of bodies by type.
func (d *decoder) topLevel(bodies []hcl.Body) topBlocks {
	var t topBlocks
	for _, body := range bodies {
		content, diags := body.Content(topSchema)
		d.addAll(diags)
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				t.variables = append(t.variables, b)
			case "locals":
				t.locals = append(t.locals, b)
			case "api":
				t.apis = append(t.apis, b)
			case "api_key":
				t.apiKeys = append(t.apiKeys, b)
			case "usage_plan":
				t.usagePlans = append(t.usagePlans, b)
			case "credentials":
				t.credentials = append(t.credentials, b)
			case "domain_name":
				t.domainNames = append(t.domainNames, b)
			}
		}
	}
	return t
}

// define records the definition of a named object of a kind in a scope
// ("" for top-level objects, the API name for nested ones) and reports a
// duplicate when the name is taken. It returns false for a duplicate.
func (d *decoder) define(scope, kind, name string, rng hcl.Range) bool {
	key := scope + "\x00" + kind + "\x00" + name
	if first, ok := d.firstDefs[key]; ok {
		d.add(duplicate(kind, name, first, rng))
		return false
	}
	d.firstDefs[key] = rng
	return true
}

// toRange converts an hcl.Range to the model's Range.
func toRange(r hcl.Range) model.Range {
	return model.Range{
		Filename: r.Filename,
		Start:    model.Pos{Line: r.Start.Line, Column: r.Start.Column, Byte: r.Start.Byte},
		End:      model.Pos{Line: r.End.Line, Column: r.End.Column, Byte: r.End.Byte},
	}
}

// sortConfig puts every slice of cfg in its canonical order.
func sortConfig(cfg *model.Config) {
	sort.Slice(cfg.APIs, func(i, j int) bool { return cfg.APIs[i].Name < cfg.APIs[j].Name })
	for _, a := range cfg.APIs {
		sort.Slice(a.Routes, func(i, j int) bool { return a.Routes[i].Key < a.Routes[j].Key })
		sort.Slice(a.Integrations, func(i, j int) bool { return a.Integrations[i].Name < a.Integrations[j].Name })
		sort.Slice(a.Authorizers, func(i, j int) bool { return a.Authorizers[i].Name < a.Authorizers[j].Name })
		sort.Slice(a.Models, func(i, j int) bool { return a.Models[i].Name < a.Models[j].Name })
		sort.Slice(a.Stages, func(i, j int) bool { return a.Stages[i].Name < a.Stages[j].Name })
	}
	sort.Slice(cfg.APIKeys, func(i, j int) bool { return cfg.APIKeys[i].Name < cfg.APIKeys[j].Name })
	sort.Slice(cfg.UsagePlans, func(i, j int) bool { return cfg.UsagePlans[i].Name < cfg.UsagePlans[j].Name })
	for _, u := range cfg.UsagePlans {
		sort.Slice(u.Stages, func(i, j int) bool {
			if u.Stages[i].API != u.Stages[j].API {
				return u.Stages[i].API < u.Stages[j].API
			}
			return u.Stages[i].Stage < u.Stages[j].Stage
		})
		sort.Strings(u.APIKeys)
	}
	sort.Slice(cfg.Credentials, func(i, j int) bool { return cfg.Credentials[i].Name < cfg.Credentials[j].Name })
	sort.Slice(cfg.DomainNames, func(i, j int) bool { return cfg.DomainNames[i].Host < cfg.DomainNames[j].Host })
	for _, dn := range cfg.DomainNames {
		sort.Slice(dn.Mappings, func(i, j int) bool { return dn.Mappings[i].BasePath < dn.Mappings[j].BasePath })
	}
}
