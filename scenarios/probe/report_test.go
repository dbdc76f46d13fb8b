package probe_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenlab/tokenlab/scenarios/probe"
)

func intp(n int) *int { return &n }

func sample() probe.Report {
	return probe.Report{
		Target: "radius://…@10.0.0.1:1812", Provisioner: "tokenlab+http", Clock: "virtual",
		Window: probe.Window{Behind: intp(1), Ahead: intp(1)}, ReplayRefused: true, OlderCodeRefused: true,
		LockoutThreshold: intp(5), UnlocksBy: []string{"resync"}, LearnsDrift: true, NextCodeChallenge: true,
		Digits: 8, DigitsAccepted: []int{6, 8}, RequiresMessageAuthenticator: true, ResponseSigned: true,
		Retransmission: "cached", Latency: probe.Latency{P50: 1.5, P99: 5},
		Requests: 100, Users: 25, DurationS: 0.9,
		Notes: map[string]string{"window": "-2 refused | +2 refused", "lockout_threshold": "8: locked"},
	}
}

func mustProfile(t *testing.T, s string) probe.Profile {
	t.Helper()
	p, err := probe.ParseProfile([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProfileErrorsNameTheKey(t *testing.T) {
	for profile, want := range map[string]string{
		`{"replay":true}`:                      `"replay" is not a probe property: use window, replay_refused`,
		`{"window":{"left":1}}`:                `window: "left" is not part of it`,
		`{"window":{"behind":-1}}`:             "window: behind: want a whole number from 0",
		`{"window":1}`:                         "window: want an object with behind and/or ahead",
		`{"replay_refused":"yes"}`:             "replay_refused: want true or false",
		`{"lockout_threshold":0}`:              `lockout_threshold: want a whole number from 1, null for none, or {"max": N}`,
		`{"lockout_threshold":{"max":0}}`:      "lockout_threshold: want a max from 1, not 0",
		`{"lockout_threshold":{"min":3}}`:      `lockout_threshold: want {"max": N}`,
		`{"window":{"ahead":{"max":"1"}}}`:     `window: ahead: want {"max": N}`,
		`{"digits":7}`:                         "digits: want one of 6, 8",
		`{"digits_accepted":[6,7]}`:            "digits_accepted: want a list of 6, 8",
		`{"unlocks_by":["magic"]}`:             "unlocks_by: want a list of later_code, resync, clock",
		`{"retransmission":"maybe"}`:           `retransmission: want one of "cached"`,
		`{"latency_ms":{"p99":0}}`:             "latency_ms: p99: want a number of milliseconds above 0",
		`[]`:                                   "want a JSON object of probe properties",
		`null`:                                 "want a JSON object of probe properties",
		`{"window":{"behind":1},"notes":{}}`:   `"notes" is not a probe property`,
		`{"requires_message_authenticator":1}`: "requires_message_authenticator: want true or false",
	} {
		_, err := probe.ParseProfile([]byte(profile))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", profile, err, want)
		}
	}
	if _, err := probe.ParseProfile([]byte(`{"lockout_threshold":null,"window":{"behind":null},"unlocks_by":[]}`)); err != nil {
		t.Errorf("null and empty values: %v", err)
	}
}

func TestCompare(t *testing.T) {
	r := sample()
	all := mustProfile(t, `{"window":{"behind":1,"ahead":1},"replay_refused":true,"older_code_refused":true,
		"lockout_threshold":5,"unlocks_by":["resync"],"learns_drift":true,"next_code_challenge":true,"digits":8,
		"digits_accepted":[8,6],"requires_message_authenticator":true,"response_signed":true,
		"retransmission":"cached","latency_ms":{"p50":1.5,"p99":10}}`)
	if d := probe.Compare(r, all); len(d) != 0 {
		t.Fatalf("a matching profile: %v", d)
	}
	if d := probe.Compare(r, mustProfile(t, `{}`)); len(d) != 0 {
		t.Fatalf("an empty profile: %v", d)
	}
	p := mustProfile(t, `{"retransmission":"dropped","replay_refused":false,"window":{"ahead":2},"lockout_threshold":null,
		"unlocks_by":["resync","clock"],"latency_ms":{"p99":4},"digits_accepted":[6,8]}`)
	var got []string
	for _, d := range probe.Compare(r, p) {
		got = append(got, d.String())
	}
	want := []string{
		"window.ahead: want 2, measured 1",
		"replay_refused: want false, measured true",
		"lockout_threshold: want null, measured 5",
		`unlocks_by: want ["resync","clock"], measured ["resync"]`,
		`retransmission: want "dropped", measured "cached"`,
		"latency_ms.p99: want at most 4, measured 5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// What could not be measured is null, and differs from any number; no
	// lockout (unlocks_by null) differs from "nothing unlocks it" ([]).
	r.Window.Behind, r.UnlocksBy, r.LockoutThreshold = nil, nil, nil
	got = got[:0]
	for _, d := range probe.Compare(r, mustProfile(t, `{"window":{"behind":1},"unlocks_by":[],"lockout_threshold":null}`)) {
		got = append(got, d.String())
	}
	if strings.Join(got, "\n") != "window.behind: want 1, measured null\nunlocks_by: want [], measured null" {
		t.Fatalf("null measurements: %q", got)
	}
}

// TestCompareUpperBounds: {"max": N} for lockout_threshold and window's
// parts holds up to N and not past it; no lockout (null) exceeds any.
func TestCompareUpperBounds(t *testing.T) {
	bounds := mustProfile(t, `{"lockout_threshold":{"max":5},"window":{"behind":{"max":1},"ahead":{"max":2}}}`)
	if d := probe.Compare(sample(), bounds); len(d) != 0 {
		t.Fatalf("5 wrong codes, window 1 and 1, against bounds 5, 1 and 2: %v", d)
	}
	r := sample()
	r.LockoutThreshold, r.Window = intp(6), probe.Window{Behind: nil, Ahead: intp(3)}
	var got []string
	for _, d := range probe.Compare(r, bounds) {
		got = append(got, d.String())
	}
	want := "window.ahead: want at most 2, measured 3\nwindow.behind: want at most 1, measured null\nlockout_threshold: want at most 5, measured 6"
	if strings.Join(got, "\n") != want {
		t.Fatalf("differences:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	r.LockoutThreshold = nil
	if d := probe.Compare(r, mustProfile(t, `{"lockout_threshold":{"max":10}}`)); len(d) != 1 || d[0].String() != "lockout_threshold: want at most 10, measured null" {
		t.Fatalf("no lockout against a bound: %v", d)
	}
}

func TestRenderings(t *testing.T) {
	r := sample()
	var js bytes.Buffer
	if err := probe.WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(js.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"window": `{"ahead":1,"behind":1}`, "lockout_threshold": "5", "replay_refused": "true",
		"digits": "8", "requires_message_authenticator": "true", "latency_ms": `{"p50":1.5,"p99":5}`, "target": `"radius://…@10.0.0.1:1812"`} {
		b, _ := json.Marshal(m[k])
		if string(b) != want {
			t.Errorf("JSON %s: %s, want %s", k, b, want)
		}
	}
	r.LockoutThreshold = nil
	js.Reset()
	probe.WriteJSON(&js, r)
	if !strings.Contains(js.String(), `"lockout_threshold": null`) {
		t.Errorf("no lockout is not null:\n%s", js.String())
	}
	r.LockoutThreshold = intp(5)

	var text bytes.Buffer
	if err := probe.WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"probe of radius://…@10.0.0.1:1812 (provisioner tokenlab+http, virtual clock: 100 requests by 25 new users in 0.9 s)",
		"window                          behind 1, ahead 1\n",
		"                                  -2 refused | +2 refused\n",
		"lockout_threshold               5 wrong codes\n",
		"requires_message_authenticator  required\n",
		"latency_ms                      p50 1.5 ms, p99 5 ms\n",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}

	var md bytes.Buffer
	if err := probe.WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `[a-z_]+` \\|.*\\|$").FindAllString(md.String(), -1)
	if len(rows) != 13 || !strings.Contains(md.String(), "| property | value | how measured |\n|---|---|---|\n") {
		t.Fatalf("markdown: %d rows:\n%s", len(rows), md.String())
	}
	for _, row := range rows {
		// Three cells: a pipe in a note is escaped.
		if n := len(regexp.MustCompile(`(^|[^\\])\|`).FindAllString(row, -1)); n != 4 {
			t.Errorf("a row of %d cells: %s", n-1, row)
		}
	}
	if !strings.Contains(md.String(), "| `window` | behind 1, ahead 1 | a new user per offset") || !strings.Contains(md.String(), `-2 refused \| +2 refused |`) {
		t.Errorf("window row:\n%s", md.String())
	}
	r.RequiresMessageAuthenticator = false
	md.Reset()
	probe.WriteMarkdown(&md, r)
	if !strings.Contains(md.String(), "| `requires_message_authenticator` | NOT required (BlastRADIUS exposure) |") {
		t.Errorf("exposure row:\n%s", md.String())
	}
}
