package config

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad loads arbitrary text as the only file of a configuration: Load
// must never panic, always return a result, and report every problem as a
// diagnostic. Seeds are in testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`api "chat" { route_selection_expression = "$request.body.action" }`))
	f.Add([]byte("locals {\n  a = local.b\n  b = local.a\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "main.wsgw.hcl"), src, 0o644); err != nil {
			t.Fatal(err)
		}
		loaded, diags := Load(dir, LoadOptions{AllowUnsetVariables: true})
		if loaded == nil || loaded.Config == nil {
			t.Fatal("Load returned a nil result")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Fatalf("diagnostic without summary: %#v", d)
			}
		}
	})
}
