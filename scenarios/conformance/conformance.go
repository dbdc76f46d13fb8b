// Package conformance renders what `tokenlab probe` measured of several
// RADIUS OTP servers as one Markdown document — one column per server, one
// row per property, what each server answered, and how each row is
// measured — and reads such a document back, so that a new run can be
// compared with the committed one (docs/conformance.md).
//
// Its test, TestConformance, is what `make conformance` runs: it starts
// FreeRADIUS 3 with pam_oath, FreeRADIUS with pam_google_authenticator
// (the Debian packages, through scenarios/peers) and the real `tokenlab
// serve --radius --virtual-clock`, probes each, and writes the document
// (-write FILE), or, under plain `go test`, measures again and fails when
// a row or an answer differs from the committed document. Latency and the
// counts of requests differ from run to run and are not compared.
package conformance

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/tokenlab/tokenlab/scenarios/probe"
)

// Column is one server of the document.
type Column struct {
	// Name is the column's header: the system, its versions and the
	// settings it ran with.
	Name string
	// Short is the server in a phrase, for the notes' headings.
	Short  string
	Report probe.Report
}

// Document is one run over several servers.
type Document struct {
	// Title is the document's heading.
	Title string
	// Intro is the paragraphs before the table: when and where the run
	// was, how the servers were started.
	Intro []string
	// Columns are the servers, in the order shown.
	Columns []Column
	// Outro is the paragraphs after the notes (how to run it again).
	Outro []string
}

// notesHeading and howHeading open the document's sections after the
// table; Parse finds the notes by the first.
const (
	notesHeading = "## What each server answered"
	howHeading   = "## How each row is measured"
)

// Write renders d as Markdown.
func Write(w io.Writer, d Document) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", d.Title)
	for _, p := range d.Intro {
		fmt.Fprintf(&b, "%s\n\n", p)
	}
	b.WriteString("| property |")
	for _, c := range d.Columns {
		fmt.Fprintf(&b, " %s |", cell(c.Name))
	}
	b.WriteString("\n|---|")
	for range d.Columns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, p := range probe.Properties() {
		fmt.Fprintf(&b, "| `%s` |", p.Key)
		for _, c := range d.Columns {
			fmt.Fprintf(&b, " %s |", cell(c.Report.Value(p.Key)))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%s\n\n", notesHeading)
	b.WriteString("What the probe sent and each server answered, per property (the probe's notes).\n")
	for _, c := range d.Columns {
		r := c.Report
		fmt.Fprintf(&b, "\n### %s\n\n", c.Short)
		fmt.Fprintf(&b, "Provisioner `%s`, %s clock: %d requests by %d new users in %s s.\n\n",
			r.Provisioner, r.Clock, r.Requests, r.Users, strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", r.DurationS), "0"), "."))
		for _, key := range noteKeys(r) {
			fmt.Fprintf(&b, "- `%s`: %s\n", key, oneLine(r.Notes[key]))
		}
	}
	fmt.Fprintf(&b, "\n%s\n\n", howHeading)
	for _, p := range probe.Properties() {
		fmt.Fprintf(&b, "- `%s`: %s.\n", p.Key, p.How)
	}
	for _, p := range d.Outro {
		fmt.Fprintf(&b, "\n%s\n", p)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// noteKeys are the report's notes in the report's order, the run's own
// ("probe") last.
func noteKeys(r probe.Report) []string {
	var ks []string
	for _, p := range probe.Properties() {
		if r.Notes[p.Key] != "" {
			ks = append(ks, p.Key)
		}
	}
	if r.Notes["probe"] != "" {
		ks = append(ks, "probe")
	}
	return ks
}

// cell keeps a value inside its table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// Table is what a document says each server does: the table's header and
// cells, and the notes under each server.
type Table struct {
	// Columns are the servers' headers.
	Columns []string
	// Rows are the table's cells by property, one per column, as written.
	Rows map[string][]string
	// Notes are, per column, the notes by property.
	Notes []map[string]string
}

// Parse reads the table and the notes of a document Write wrote.
func Parse(md string) (Table, error) {
	t := Table{Rows: map[string][]string{}}
	inNotes := false
	for line := range strings.Lines(md) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "## "):
			inNotes = line == notesHeading
		case !inNotes && strings.HasPrefix(line, "| property |"):
			t.Columns = splitRow(line)[1:]
		case !inNotes && strings.HasPrefix(line, "| `"):
			cells := splitRow(line)
			key := strings.Trim(cells[0], "`")
			if len(cells)-1 != len(t.Columns) {
				return Table{}, fmt.Errorf("conformance: row %s has %d cells for %d servers", key, len(cells)-1, len(t.Columns))
			}
			t.Rows[key] = cells[1:]
		case inNotes && strings.HasPrefix(line, "### "):
			t.Notes = append(t.Notes, map[string]string{})
		case inNotes && strings.HasPrefix(line, "- `") && len(t.Notes) > 0:
			key, note, ok := strings.Cut(strings.TrimPrefix(line, "- `"), "`: ")
			if ok {
				t.Notes[len(t.Notes)-1][key] = note
			}
		}
	}
	if len(t.Columns) == 0 || len(t.Rows) == 0 {
		return Table{}, errors.New("conformance: no table of properties (a line starting '| property |' and rows '| `key` |')")
	}
	if len(t.Notes) != len(t.Columns) {
		return Table{}, fmt.Errorf("conformance: notes for %d servers under %q, for %d columns", len(t.Notes), notesHeading, len(t.Columns))
	}
	return t, nil
}

// splitRow splits a table row at its unescaped bars.
func splitRow(line string) []string {
	line = strings.TrimSpace(line)
	line = strings.TrimPrefix(line, "|")
	line = strings.TrimSuffix(line, "|")
	var cells []string
	var cur strings.Builder
	for i := 0; i < len(line); i++ {
		switch {
		case line[i] == '\\' && i+1 < len(line) && line[i+1] == '|':
			cur.WriteString(`\|`)
			i++
		case line[i] == '|':
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(line[i])
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}

// Diff lists what measured says differently from committed, a line per
// cell or note, with the server's column header; the rows in skipRows and
// the notes in skipNotes are left out (what differs from run to run).
// Servers are matched by position; a header that differs (another version)
// is not a difference by itself.
func Diff(committed, measured Table, skipRows, skipNotes []string) []string {
	var diffs []string
	if len(committed.Columns) != len(measured.Columns) {
		return []string{fmt.Sprintf("%d servers committed, %d measured", len(committed.Columns), len(measured.Columns))}
	}
	name := func(i int) string { return measured.Columns[i] }
	for _, p := range probe.Properties() {
		if slices.Contains(skipRows, p.Key) {
			continue
		}
		c, m := committed.Rows[p.Key], measured.Rows[p.Key]
		for i := range measured.Columns {
			cv, mv := at(c, i), at(m, i)
			if cv != mv {
				diffs = append(diffs, fmt.Sprintf("row %s, %s: committed %q, measured %q", p.Key, name(i), cv, mv))
			}
		}
	}
	for i := range measured.Columns {
		keys := map[string]bool{}
		for k := range committed.Notes[i] {
			keys[k] = true
		}
		for k := range measured.Notes[i] {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			if !slices.Contains(skipNotes, k) {
				sorted = append(sorted, k)
			}
		}
		slices.Sort(sorted)
		for _, k := range sorted {
			if cv, mv := committed.Notes[i][k], measured.Notes[i][k]; cv != mv {
				diffs = append(diffs, fmt.Sprintf("note %s, %s: committed %q, measured %q", k, name(i), cv, mv))
			}
		}
	}
	return diffs
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}
