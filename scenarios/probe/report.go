package probe

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Report is what the probe measured. Its JSON keys are the properties a
// profile may require (see the package doc); Notes says, per property, what
// was sent and answered.
type Report struct {
	// Target is the RADIUS server, its secret left out.
	Target string `json:"target"`
	// Provisioner is the provisioner's scheme.
	Provisioner string `json:"provisioner"`
	// Clock is "virtual" (moved by the probe) or "real".
	Clock string `json:"clock"`

	Window           Window `json:"window"`
	ReplayRefused    bool   `json:"replay_refused"`
	OlderCodeRefused bool   `json:"older_code_refused"`
	// LockoutThreshold is nil for no lock up to the probe's cap.
	LockoutThreshold *int `json:"lockout_threshold"`
	// UnlocksBy are the ways out of a lock found: later_code, resync, clock;
	// empty when none was, nil when there is no lockout.
	UnlocksBy                    []string `json:"unlocks_by"`
	LearnsDrift                  bool     `json:"learns_drift"`
	NextCodeChallenge            bool     `json:"next_code_challenge"`
	Digits                       int      `json:"digits"`
	DigitsAccepted               []int    `json:"digits_accepted"`
	RequiresMessageAuthenticator bool     `json:"requires_message_authenticator"`
	ResponseSigned               bool     `json:"response_signed"`
	// Retransmission is cached, same_answer, processed_again or dropped.
	Retransmission string  `json:"retransmission"`
	Latency        Latency `json:"latency_ms"`

	Requests  int     `json:"requests"`
	Users     int     `json:"users"`
	DurationS float64 `json:"duration_s"`
	// Notes are keyed by property (and "probe" for the run itself).
	Notes map[string]string `json:"notes"`
}

// Window is how many steps behind and ahead of now a code logs in; Behind
// is nil when it could not be measured.
type Window struct {
	Behind *int `json:"behind"`
	Ahead  *int `json:"ahead"`
}

func (w Window) behindText() string { return intOrNull(w.Behind, "unknown") }

// Latency is from sending a request to its answer, in milliseconds.
type Latency struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
}

// properties are the report's properties in the order they are shown, and
// how each is measured in a line (the package doc says it in full).
var properties = []struct{ key, how string }{
	{"window", "a new user per offset logs in with the code of k steps behind (a fresh, unused step) or ahead (after a login now) of now; the last k accepted"},
	{"replay_refused", "an accepted code sent again in a new request"},
	{"older_code_refused", "after a login now, the unused code of the step before, inside the window"},
	{"lockout_threshold", "k wrong codes then the right one, a new user per k; k doubled then halved to the smallest that locks"},
	{"unlocks_by", "a locked new user per way: a later code, a resync through the API, the clock moved on (up to 24 h)"},
	{"learns_drift", "a token running a window's width further ahead at each login, to 3 windows and 3 steps past now"},
	{"next_code_challenge", "a code just outside the window: Access-Challenge, then the next code with its State"},
	{"digits", "a new user with a token of each length logs in; the longest accepted"},
	{"digits_accepted", "the lengths a new user's token logs in with"},
	{"requires_message_authenticator", "an Access-Request without Message-Authenticator gets no answer (BlastRADIUS, CVE-2024-3596)"},
	{"response_signed", "every answer carries a valid Message-Authenticator"},
	{"retransmission", "the identical packet sent again from the same port a second after its answer"},
	{"latency_ms", "p50 and p99 of every answered request of the probe"},
}

// Property is one of the report's properties: its key (the JSON key a
// profile uses) and how it is measured, in a line.
type Property struct {
	Key, How string
}

// Properties are the report's properties in the order the reports show
// them, for a rendering of several reports side by side.
func Properties() []Property {
	ps := make([]Property, len(properties))
	for i, p := range properties {
		ps[i] = Property{Key: p.key, How: p.how}
	}
	return ps
}

// Value is a property's value as the text and Markdown reports show it,
// "" for a key that is not a property.
func (r Report) Value(key string) string {
	switch key {
	case "window":
		return fmt.Sprintf("behind %s, ahead %s", r.Window.behindText(), intOrNull(r.Window.Ahead, "unknown"))
	case "replay_refused":
		return yesNo(r.ReplayRefused, "refused", "accepted")
	case "older_code_refused":
		return yesNo(r.OlderCodeRefused, "refused", "accepted")
	case "lockout_threshold":
		if r.LockoutThreshold == nil {
			return "none"
		}
		return fmt.Sprintf("%d wrong codes", *r.LockoutThreshold)
	case "unlocks_by":
		switch {
		case r.UnlocksBy == nil:
			return "(no lockout)"
		case len(r.UnlocksBy) == 0:
			return "nothing found"
		}
		return strings.Join(r.UnlocksBy, ", ")
	case "learns_drift":
		return yesNo(r.LearnsDrift, "yes", "no")
	case "next_code_challenge":
		return yesNo(r.NextCodeChallenge, "supported", "no")
	case "digits":
		return strconv.Itoa(r.Digits)
	case "digits_accepted":
		var s []string
		for _, d := range r.DigitsAccepted {
			s = append(s, strconv.Itoa(d))
		}
		if len(s) == 0 {
			return "none"
		}
		return strings.Join(s, ", ")
	case "requires_message_authenticator":
		return yesNo(r.RequiresMessageAuthenticator, "required", "NOT required (BlastRADIUS exposure)")
	case "response_signed":
		return yesNo(r.ResponseSigned, "yes", "no")
	case "retransmission":
		return r.Retransmission
	case "latency_ms":
		return fmt.Sprintf("p50 %s ms, p99 %s ms", num(r.Latency.P50), num(r.Latency.P99))
	}
	return ""
}

func intOrNull(p *int, null string) string {
	if p == nil {
		return null
	}
	return strconv.Itoa(*p)
}

func yesNo(b bool, yes, no string) string {
	if b {
		return yes
	}
	return no
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (r Report) summary() string {
	return fmt.Sprintf("provisioner %s, %s clock: %d requests by %d new users in %s s", r.Provisioner, r.Clock, r.Requests, r.Users, num(r.DurationS))
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for a terminal: a line per property, its
// note under it.
func WriteText(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "probe of %s (%s)\n\n", r.Target, r.summary())
	for _, p := range properties {
		fmt.Fprintf(&b, "%-31s %s\n", p.key, r.Value(p.key))
		if n := r.Notes[p.key]; n != "" {
			fmt.Fprintf(&b, "%-31s   %s\n", "", n)
		}
	}
	if n := r.Notes["probe"]; n != "" {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the report as a Markdown table: property, value,
// how it was measured (and what was answered).
func WriteMarkdown(w io.Writer, r Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## Probe of `%s`\n\n%s.\n\n", r.Target, capitalize(r.summary()))
	b.WriteString("| property | value | how measured |\n|---|---|---|\n")
	for _, p := range properties {
		how := p.how
		if n := r.Notes[p.key]; n != "" {
			how += " — " + n
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", p.key, cell(r.Value(p.key)), cell(how))
	}
	if n := r.Notes["probe"]; n != "" {
		fmt.Fprintf(&b, "\n%s.\n", capitalize(n))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// cell keeps a value inside its table cell.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
