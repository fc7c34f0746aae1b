package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{
			name: "canonical input is unchanged",
			src:  "api \"chat\" {\n  description = \"x\"\n}\n",
			want: "api \"chat\" {\n  description = \"x\"\n}\n",
		},
		{
			name: "indentation and alignment",
			src:  "api \"chat\" {\ndescription = \"x\"\n    route_selection_expression=\"$request.body.action\"\n}\n",
			want: "api \"chat\" {\n  description                = \"x\"\n  route_selection_expression = \"$request.body.action\"\n}\n",
		},
		{
			name: "bare label is quoted",
			src:  "api chat {\n}\n",
			want: "api \"chat\" {\n}\n",
		},
		{
			name: "bare labels in nested blocks are quoted",
			src:  "api chat {\n  stage prod {\n    auto_deploy = true\n  }\n  integration \"backend\" {\n    type = \"MOCK\"\n  }\n}\n",
			want: "api \"chat\" {\n  stage \"prod\" {\n    auto_deploy = true\n  }\n  integration \"backend\" {\n    type = \"MOCK\"\n  }\n}\n",
		},
		{
			name: "mixed bare and quoted labels",
			src:  "route_settings chat \"$default\" {\n}\n",
			want: "route_settings \"chat\" \"$default\" {\n}\n",
		},
		{
			name: "escaped template sequence in a label beside a bare one",
			src:  "x chat \"a$${b}\" {\n}\n",
			want: "x \"chat\" \"a$${b}\" {\n}\n",
		},
		{
			name: "quoted label escapes are kept",
			src:  "route \"a\\u0041\" {\n}\n",
			want: "route \"a\\u0041\" {\n}\n",
		},
		{
			name: "comments and lead comments survive",
			src:  "# the chat API\n// more\napi chat { # trailing\n  /* inline */ description = \"x\"\n}\n",
			want: "# the chat API\n// more\napi \"chat\" { # trailing\n  /* inline */ description = \"x\"\n}\n",
		},
		{
			name: "single-line block",
			src:  "variable region { default = \"x\" }\n",
			want: "variable \"region\" { default = \"x\" }\n",
		},
		{
			name: "heredoc content is kept",
			src:  "model m {\nschema = <<EOT\n  {\"type\": \"object\"}\nEOT\n}\n",
			want: "model \"m\" {\n  schema = <<EOT\n  {\"type\": \"object\"}\nEOT\n}\n",
		},
		{
			name: "empty file",
			src:  "",
			want: "",
		},
		{
			name: "spacing in expressions",
			src:  "locals {\n  a = [1,2,3]\n  b = {x=1, y = \"z\"}\n  c = var.x+1\n}\n",
			want: "locals {\n  a = [1, 2, 3]\n  b = { x = 1, y = \"z\" }\n  c = var.x + 1\n}\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := Format([]byte(tt.src), "test.wsgw.hcl")
			if diags.HasErrors() {
				t.Fatalf("Format: unexpected diagnostics: %s", diags.Error())
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("Format mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormatSyntaxError(t *testing.T) {
	tests := []struct {
		name        string
		src         string
		wantSummary string
		wantLine    int
	}{
		{name: "unclosed block", src: "api \"chat\" {\n", wantSummary: "Unclosed configuration block", wantLine: 1},
		{name: "missing value", src: "a = \n", wantSummary: "Invalid expression", wantLine: 1},
		{name: "template in label", src: "api \"${x}\" {\n}\n", wantSummary: "Invalid string literal", wantLine: 1},
		{name: "stray token on second line", src: "a = 1\n}\n", wantSummary: "Argument or block definition required", wantLine: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := Format([]byte(tt.src), "bad.wsgw.hcl")
			if got != nil {
				t.Errorf("Format returned output %q for a syntax error", got)
			}
			if !diags.HasErrors() {
				t.Fatal("Format returned no error diagnostics")
			}
			d := diags[0]
			if !strings.Contains(d.Summary, tt.wantSummary) {
				t.Errorf("summary = %q, want it to contain %q", d.Summary, tt.wantSummary)
			}
			if d.Subject == nil {
				t.Fatal("diagnostic has no subject")
			}
			if d.Subject.Filename != "bad.wsgw.hcl" || d.Subject.Start.Line != tt.wantLine {
				t.Errorf("subject = %s line %d, want bad.wsgw.hcl line %d", d.Subject.Filename, d.Subject.Start.Line, tt.wantLine)
			}
		})
	}
}

// idempotenceSeeds is a spread of unusual but valid inputs: odd spacing,
// comments in awkward places, heredocs, templates, nested collections and
// labels in every form.
var idempotenceSeeds = []string{
	"api chat {\n  route \"$connect\" {\n    integration = integration.auth\n  }\n}\n",
	"a=1\nbb=2\n\n\nccc   =   3\n",
	"a = {\n  x = 1\n  yy = [\n    1,\n    2,\n  ]\n}\n",
	"a = \"${var.x}-${lower(var.y)}\"\nb = \"%{if var.z}yes%{else}no%{endif}\"\n",
	"a = <<-EOT\n    indented\n  EOT\nb = 2\n",
	"x \"y\" z {\n  w {\n    v = 1 # c\n    uu = 2 /* d */\n  }\n}\n",
	"# only a comment\n",
	"a = [for x in var.l : upper(x) if x != \"\"]\nb = {for k, v in var.m : k => v...}\n",
	"a = var.x ? 1 : 2\nb = !var.y\nc = -1\nd = 1*2+3/4%5\n",
	"a = local.m[\"k\"].attr[0]\nb = var.l[*].id\n",
	"blk {}\nblk2 {\n}\nblk3 lbl { a = 1 }\n",
	"a = 1 // x\n\n# y\nbbbbb = 2\n",
	"api \"chat\" {\r\n  a = 1\r\n}\r\n",
	"\tapi chat {\n\t\ta = 1\n\t}\n",
	"a = (1 + 2) * 3\nb = func(\n  1,\n  2,\n)\n",
	"a = {\n  \"quoted key\" = 1\n  (var.k) = 2\n  bare = 3\n}\n",
}

func TestFormatIdempotent(t *testing.T) {
	for i, src := range idempotenceSeeds {
		t.Run(strings.Split(src, "\n")[0]+"#"+string(rune('a'+i)), func(t *testing.T) {
			assertIdempotent(t, []byte(src))
		})
	}
}

func assertIdempotent(t *testing.T, src []byte) {
	t.Helper()
	once, diags := Format(src, "seed.wsgw.hcl")
	if diags.HasErrors() {
		return
	}
	twice, diags := Format(once, "seed.wsgw.hcl")
	if diags.HasErrors() {
		t.Fatalf("formatted output does not parse: %s\ninput: %q\nonce: %q", diags.Error(), src, once)
	}
	if string(once) != string(twice) {
		t.Fatalf("Format is not idempotent\ninput: %q\nonce:  %q\ntwice: %q", src, once, twice)
	}
}

func FuzzFormat(f *testing.F) {
	for _, s := range idempotenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		assertIdempotent(t, src)
	})
}
