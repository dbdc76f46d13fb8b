package server

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// TestNotificationsRender: every entry's placeholders are known ones, so
// that rendered with every value set nothing in braces is left for a user
// to read.
func TestNotificationsRender(t *testing.T) {
	p := DefaultPolicy()
	v := noteValues{serial: "S", expires: "E", deadline: "D", password: "P", code: "C", validity: "V"}
	for _, e := range Notifications {
		subject, body := e.render(p, v)
		for _, s := range []string{subject, body} {
			if s == "" || strings.ContainsAny(s, "{}") {
				t.Errorf("%s (%s): %q is not rendered", e.Kind, e.When, s)
			}
		}
		if e.When == "" {
			t.Errorf("%s: no When", e.Kind)
		}
	}
}

// TestEveryNotificationKindIsCatalogued: each NotificationKind constant has
// an entry, and no entry is listed twice.
func TestEveryNotificationKindIsCatalogued(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "notifications.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []NotificationKind
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, sp := range g.Specs {
			vs := sp.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "NotificationKind" {
				continue
			}
			for _, val := range vs.Values {
				k, err := strconv.Unquote(val.(*ast.BasicLit).Value)
				if err != nil {
					t.Fatal(err)
				}
				kinds = append(kinds, NotificationKind(k))
			}
		}
	}
	if len(kinds) == 0 {
		t.Fatal("no NotificationKind constants found")
	}
	catalogued := map[NotificationKind]bool{}
	seen := map[NotificationEntry]bool{}
	for _, e := range Notifications {
		catalogued[e.Kind] = true
		if seen[e] {
			t.Errorf("%s (%s) is listed twice", e.Kind, e.When)
		}
		seen[e] = true
	}
	for _, k := range kinds {
		if !catalogued[k] {
			t.Errorf("kind %s has no catalogue entry", k)
		}
	}
}
