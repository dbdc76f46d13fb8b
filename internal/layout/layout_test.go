// Package layout holds no code: its test checks that the repository's
// dependencies point one way, as the README's layout section says.
package layout

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/tokenlab/tokenlab/"

// rules are what each part of the tree must never depend on, directly or
// not: the server and the emulator meet only in shared internal packages,
// and the readers of real keys know nothing of the server.
var rules = []struct {
	from    string // a package path prefix under the module
	mustNot []string
}{
	{"server", []string{"emulator", "device", "scenarios", "cmd", "internal/console"}},
	{"emulator", []string{"server", "device", "scenarios", "cmd", "internal/console"}},
	{"device", []string{"server", "scenarios", "cmd", "internal/console"}},
	{"internal/oath", []string{"server", "emulator", "device"}},
	{"internal/seedfile", []string{"server", "emulator", "device"}},
	{"internal/clock", []string{"server", "emulator", "device"}},
}

func TestDependenciesPointOneWay(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-json=ImportPath,Deps", "-tags", "usb", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p struct {
			ImportPath string
			Deps       []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		for _, r := range rules {
			if !under(rel, r.from) {
				continue
			}
			seen++
			for _, d := range p.Deps {
				drel, ok := strings.CutPrefix(d, module)
				if !ok {
					continue
				}
				for _, bad := range r.mustNot {
					if under(drel, bad) {
						t.Errorf("%s depends on %s: %s must not depend on %s", rel, drel, r.from, bad)
					}
				}
			}
		}
	}
	if seen < len(rules) {
		t.Fatalf("only %d packages matched the rules: is the module path right?", seen)
	}
}

// under reports whether pkg is dir or inside it.
func under(pkg, dir string) bool {
	return pkg == dir || strings.HasPrefix(pkg, dir+"/")
}
