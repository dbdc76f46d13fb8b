package conformance_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/scenarios/conformance"
	"github.com/tokenlab/tokenlab/scenarios/probe"
)

func intp(n int) *int { return &n }

func sampleDoc() conformance.Document {
	a := probe.Report{
		Provisioner: "oath-usersfile", Clock: "real",
		Window: probe.Window{Behind: intp(3), Ahead: intp(3)},
		Digits: 8, DigitsAccepted: []int{8}, ReplayRefused: true, Retransmission: "cached",
		Latency: probe.Latency{P50: 12.5, P99: 40},
		Notes:   map[string]string{"window": "-4: Access-Reject | +4: Access-Reject", "latency_ms": "over 80 answered requests", "probe": "attempts made again, as the step changed while they ran: 1"},
	}
	b := a
	b.Provisioner, b.Clock = "tokenlab+http", "virtual"
	b.Window = probe.Window{Behind: intp(1), Ahead: intp(1)}
	b.LockoutThreshold, b.UnlocksBy = intp(5), []string{"resync"}
	b.Notes = map[string]string{"window": "-2: Access-Challenge", "lockout_threshold": "5 refused"}
	return conformance.Document{
		Title: "t", Intro: []string{"intro"},
		Columns: []conformance.Column{
			{Name: "A | with a bar", Short: "A", Report: a},
			{Name: "B", Short: "B", Report: b},
		},
	}
}

func render(t *testing.T, d conformance.Document) conformance.Table {
	t.Helper()
	var md bytes.Buffer
	if err := conformance.Write(&md, d); err != nil {
		t.Fatal(err)
	}
	tab, err := conformance.Parse(md.String())
	if err != nil {
		t.Fatalf("%v\n%s", err, md.String())
	}
	return tab
}

// TestWriteParse: a document reads back as written — every property a
// row, a cell per server, bars kept inside their cells, the notes under
// their server.
func TestWriteParse(t *testing.T) {
	tab := render(t, sampleDoc())
	if len(tab.Columns) != 2 || tab.Columns[0] != `A \| with a bar` || tab.Columns[1] != "B" {
		t.Fatalf("columns %q", tab.Columns)
	}
	for _, p := range probe.Properties() {
		if len(tab.Rows[p.Key]) != 2 {
			t.Errorf("row %s: %q", p.Key, tab.Rows[p.Key])
		}
	}
	if got := strings.Join(tab.Rows["window"], " / "); got != "behind 3, ahead 3 / behind 1, ahead 1" {
		t.Errorf("window row %q", got)
	}
	if got := strings.Join(tab.Rows["lockout_threshold"], " / "); got != "none / 5 wrong codes" {
		t.Errorf("lockout row %q", got)
	}
	if tab.Notes[0]["window"] != "-4: Access-Reject | +4: Access-Reject" || tab.Notes[1]["lockout_threshold"] != "5 refused" || tab.Notes[0]["probe"] == "" {
		t.Errorf("notes %q", tab.Notes)
	}
	if d := conformance.Diff(tab, render(t, sampleDoc()), nil, nil); len(d) != 0 {
		t.Errorf("a document differs from itself: %q", d)
	}
}

// TestDiff: a changed cell or note is named with its row and server; what
// is skipped is not; another header alone is no difference.
func TestDiff(t *testing.T) {
	committed := render(t, sampleDoc())
	d := sampleDoc()
	d.Columns[1].Report.Window.Ahead = intp(2)
	d.Columns[0].Report.Notes["window"] = "-4: Access-Challenge"
	d.Columns[0].Report.Latency.P99 = 90
	d.Columns[0].Report.Notes["latency_ms"] = "over 81 answered requests"
	d.Columns[1].Name = "B 2.0"
	got := conformance.Diff(committed, render(t, d), []string{"latency_ms"}, []string{"latency_ms", "probe"})
	want := []string{
		`row window, B 2.0: committed "behind 1, ahead 1", measured "behind 1, ahead 2"`,
		`note window, A \| with a bar: committed "-4: Access-Reject | +4: Access-Reject", measured "-4: Access-Challenge"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Unskipped, latency differs too; a note that went away is named.
	delete(d.Columns[1].Report.Notes, "lockout_threshold")
	got = conformance.Diff(committed, render(t, d), nil, nil)
	for _, w := range []string{"row latency_ms, A", "note latency_ms, A", `note lockout_threshold, B 2.0: committed "5 refused", measured ""`} {
		if !strings.Contains(strings.Join(got, "\n"), w) {
			t.Errorf("no %q in:\n%s", w, strings.Join(got, "\n"))
		}
	}
	// A server fewer is one difference, not a cell per row.
	d.Columns = d.Columns[:1]
	if got := conformance.Diff(committed, render(t, d), nil, nil); len(got) != 1 || got[0] != "2 servers committed, 1 measured" {
		t.Errorf("a server fewer: %q", got)
	}
}

// TestParseRejects: a file that is not such a document says so.
func TestParseRejects(t *testing.T) {
	for md, want := range map[string]string{
		"# nothing here\n": "no table of properties",
		"| property | A | B |\n|---|---|---|\n| `window` | 1 |\n": "row window has 1 cells for 2 servers",
		"| property | A |\n|---|---|\n| `window` | 1 |\n":         "notes for 0 servers",
	} {
		if _, err := conformance.Parse(md); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", md, err, want)
		}
	}
}
