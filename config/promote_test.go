package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPinStage(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{
			name: "adds the attribute as the first line and aligns it",
			src: `api "chat" {
  route_selection_expression = "$request.body.action"

  # The production stage.
  stage "prod" {
    description = "live" # keep me
  }
}
`,
			want: `api "chat" {
  route_selection_expression = "$request.body.action"

  # The production stage.
  stage "prod" {
    deployment  = "d-0123456789"
    description = "live" # keep me
  }
}
`,
		},
		{
			name: "replaces an existing pin and nothing else",
			src: `api "chat" {
  stage "prod" {
    variables  = { a = "b" }
    deployment = "d-aaaaaaaaaa" # pinned by hand
  }
}
`,
			want: `api "chat" {
  stage "prod" {
    variables  = { a = "b" }
    deployment = "d-0123456789" # pinned by hand
  }
}
`,
		},
		{
			name: "opens a one-line block",
			src: `api "chat" {
  stage "prod" {}
}
`,
			want: `api "chat" {
  stage "prod" {
    deployment = "d-0123456789"
  }
}
`,
		},
		{
			name: "keeps a file that was not canonical as it was",
			src: `api "chat" {
  stage "prod" {
      description="x"
  }
}
`,
			want: `api "chat" {
  stage "prod" {
    deployment = "d-0123456789"
      description="x"
  }
}
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			name := filepath.Join(dir, "main.wsgw.hcl")
			if err := os.WriteFile(name, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			edit, diags := PinStage(dir, "chat", "prod", "d-0123456789")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if edit.Filename != name || string(edit.Old) != tt.src {
				t.Fatalf("edit names %s with old content %q", edit.Filename, edit.Old)
			}
			if string(edit.New) != tt.want {
				t.Fatalf("new content:\n%s\nwant:\n%s", edit.New, tt.want)
			}
		})
	}
}

func TestPinStageMissing(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.wsgw.hcl"), []byte("api \"chat\" {\n  stage \"dev\" {}\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, diags := PinStage(dir, "chat", "prod", "d-0123456789")
	if !diags.HasErrors() || diags[0].Summary != "Stage not found" {
		t.Fatalf("want Stage not found, got %v", diags)
	}
}
