package server

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// The tables of docs/lifecycle.md and of the package doc are the settings
// table and the error catalogue, rendered: these tests fail when the docs
// drift from the code, and print the text to paste.

// policyMarkdown is the “Policy defaults” table of docs/lifecycle.md.
func policyMarkdown() string {
	var b strings.Builder
	b.WriteString("| setting | JSON name | default | allowed | what it decides |\n")
	b.WriteString("|---|---|---|---|---|\n")
	for _, s := range PolicySettings() {
		jsonName := "(not served)"
		if s.JSON != "" {
			jsonName = "`" + s.JSON + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.Field, jsonName, s.Default(), s.Allowed, s.Doc)
	}
	return b.String()
}

// policyDocGo is the “Policy defaults” table of the package doc (doc.go).
func policyDocGo() string {
	rows := [][3]string{{"Policy field", "GET /v1/policy", "default"}}
	for _, s := range PolicySettings() {
		jsonName := "-"
		if s.JSON != "" {
			jsonName = s.JSON
		}
		rows = append(rows, [3]string{s.Field, jsonName, s.Default()})
	}
	var w [2]int
	for _, r := range rows {
		w[0], w[1] = max(w[0], len(r[0])), max(w[1], len(r[1]))
	}
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "//\t%-*s  %-*s  %s\n", w[0], r[0], w[1], r[1], r[2])
	}
	return b.String()
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLifecycleDocTables(t *testing.T) {
	doc := readDoc(t, "../docs/lifecycle.md")
	if table := policyMarkdown(); !strings.Contains(doc, table) {
		t.Errorf("docs/lifecycle.md, “Policy defaults”: the table is not the code's; it should read:\n\n%s", table)
	}

	// “Errors” is the catalogue: when, the message and its origin.
	rows := map[Code]string{}
	for line := range strings.Lines(doc) {
		if code, ok := strings.CutPrefix(line, "| `"); ok {
			if code, _, ok := strings.Cut(code, "` |"); ok {
				rows[Code(code)] = strings.TrimSpace(line)
			}
		}
	}
	for _, e := range Catalogue {
		row, ok := rows[e.Code]
		if want := "| `" + string(e.Code) + "` | " + e.When + " | " + e.Message + " | " + e.Source + " |"; !ok || row != want {
			t.Errorf("docs/lifecycle.md, “Errors”: the row of %s should be\n%s\nit is\n%s", e.Code, want, row)
		}
	}
	for _, v := range MessageVariants {
		if !strings.Contains(strings.Join(strings.Fields(doc), " "), v.Message) {
			t.Errorf("docs/lifecycle.md does not quote %s's message for %s: %s", v.Code, v.When, v.Message)
		}
	}
}

func TestPackageDocPolicyTable(t *testing.T) {
	if table := policyDocGo(); !strings.Contains(readDoc(t, "doc.go"), table) {
		t.Errorf("doc.go: the policy defaults table is not the code's; it should read:\n\n%s", table)
	}
}
