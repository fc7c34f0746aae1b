package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/wsgwctl/wsgwctl"

type listedPackage struct {
	ImportPath string
	Deps       []string
}

// listDeps returns every package of the module with its transitive
// dependencies, as `go list -deps` reports them.
func listDeps(t *testing.T) []listedPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-json=ImportPath,Deps", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

func TestPackageArrows(t *testing.T) {
	rules := []struct {
		pkg       string   // package tree the rule applies to
		forbidden []string // package trees it must not depend on
		except    []string // subtrees of forbidden that are allowed
	}{
		{pkg: module + "/runtime", forbidden: []string{module + "/config", module + "/plan", module + "/apply", module + "/cmd"}, except: []string{module + "/config/model"}},
		{pkg: module + "/config/model", forbidden: []string{module + "/", "github.com/hashicorp/hcl", "github.com/zclconf/go-cty"}},
		{pkg: module + "/state", forbidden: []string{module + "/config", module + "/plan", module + "/apply", module + "/runtime", module + "/cmd", "github.com/hashicorp/hcl"}, except: []string{module + "/config/model"}},
		{pkg: module + "/selection", forbidden: []string{module + "/"}},
		{pkg: module + "/plan", forbidden: []string{module + "/config", module + "/apply", module + "/runtime", module + "/cmd"}, except: []string{module + "/config/model"}},
		{pkg: module + "/apply", forbidden: []string{module + "/config", module + "/runtime", module + "/cmd"}, except: []string{module + "/config/model"}},
		{pkg: module + "/config", forbidden: []string{module + "/plan", module + "/apply", module + "/runtime", module + "/cmd"}},
	}
	for _, p := range listDeps(t) {
		for _, r := range rules {
			if !under(p.ImportPath, r.pkg) {
				continue
			}
		deps:
			for _, d := range p.Deps {
				for _, e := range r.except {
					if under(d, e) {
						continue deps
					}
				}
				for _, f := range r.forbidden {
					if strings.HasSuffix(f, "/") && strings.HasPrefix(d, f) || under(d, f) {
						t.Errorf("%s depends on %s: DESIGN.md forbids %s → %s", p.ImportPath, d, r.pkg, f)
					}
				}
			}
		}
		// Only the command line prints in colour.
		if !under(p.ImportPath, module+"/cmd") {
			for _, d := range p.Deps {
				if under(d, "github.com/fatih/color") {
					t.Errorf("%s depends on fatih/color: only cmd/wsgwctl may", p.ImportPath)
				}
			}
		}
	}
}
