package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Profile is what a team requires of a deployment: some of the report's
// properties and their values (see the package doc).
type Profile struct {
	values map[string]json.RawMessage
}

// Keys are the properties the profile requires, in the report's order.
func (p Profile) Keys() []string {
	var ks []string
	for _, prop := range properties {
		if _, ok := p.values[prop.key]; ok {
			ks = append(ks, prop.key)
		}
	}
	return ks
}

// Difference is a property whose measured value is not the one required.
type Difference struct {
	// Property is the report's key, "window.behind" for a part of one.
	Property string `json:"property"`
	Want     string `json:"want"`
	Got      string `json:"measured"`
}

func (d Difference) String() string {
	return fmt.Sprintf("%s: want %s, measured %s", d.Property, d.Want, d.Got)
}

// propertyKeys lists the keys a profile may hold, for error messages.
func propertyKeys() string {
	var ks []string
	for _, p := range properties {
		ks = append(ks, p.key)
	}
	return strings.Join(ks, ", ")
}

// ParseProfile reads a profile: a JSON object whose keys are report
// properties. A key that is not one, or a value of the wrong kind, is an
// error naming it.
func ParseProfile(data []byte) (Profile, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		return Profile{}, fmt.Errorf("profile: want a JSON object of probe properties, e.g. {\"replay_refused\": true}: %v", errOr(err, "got null"))
	}
	for k, v := range raw {
		check, ok := checks[k]
		if !ok {
			return Profile{}, fmt.Errorf("profile: %q is not a probe property: use %s", k, propertyKeys())
		}
		if err := check(v); err != nil {
			return Profile{}, fmt.Errorf("profile: %s: %w", k, err)
		}
	}
	return Profile{values: raw}, nil
}

func errOr(err error, s string) string {
	if err != nil {
		return err.Error()
	}
	return s
}

// checks validate a profile's value for each property.
var checks = map[string]func(json.RawMessage) error{
	"window": func(v json.RawMessage) error {
		return object(v, []string{"behind", "ahead"}, func(k string, v json.RawMessage) error {
			return countOrBound(v, 0)
		})
	},
	"replay_refused":                 boolean,
	"older_code_refused":             boolean,
	"lockout_threshold":              func(v json.RawMessage) error { return countOrBound(v, 1) },
	"unlocks_by":                     func(v json.RawMessage) error { return list(v, []string{"later_code", "resync", "clock"}) },
	"learns_drift":                   boolean,
	"next_code_challenge":            boolean,
	"digits":                         func(v json.RawMessage) error { return oneOf(v, "6", "8") },
	"digits_accepted":                func(v json.RawMessage) error { return list(v, []string{"6", "8"}) },
	"requires_message_authenticator": boolean,
	"response_signed":                boolean,
	"retransmission": func(v json.RawMessage) error {
		return oneOf(v, `"cached"`, `"same_answer"`, `"processed_again"`, `"dropped"`)
	},
	"latency_ms": func(v json.RawMessage) error {
		return object(v, []string{"p50", "p99"}, func(k string, v json.RawMessage) error {
			var f float64
			if json.Unmarshal(v, &f) != nil || f <= 0 {
				return fmt.Errorf("want a number of milliseconds above 0 (an upper bound), not %s", v)
			}
			return nil
		})
	},
}

func boolean(v json.RawMessage) error {
	var b bool
	if json.Unmarshal(v, &b) != nil {
		return fmt.Errorf("want true or false, not %s", v)
	}
	return nil
}

// countOrBound checks a whole number from least, null, or {"max": N}.
func countOrBound(v json.RawMessage, least int) error {
	if string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	if n, ok, err := bound(v); ok || err != nil {
		if err == nil && n < least {
			err = fmt.Errorf("want a max from %d, not %d", least, n)
		}
		return err
	}
	var n int
	if json.Unmarshal(v, &n) != nil || n < least {
		return fmt.Errorf("want a whole number from %d, null for none, or {\"max\": N}, not %s", least, v)
	}
	return nil
}

// bound reads an upper bound, {"max": N}: ok is false when v is not an
// object at all, and err says what is wrong with one that is.
func bound(v json.RawMessage) (n int, ok bool, err error) {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || m == nil {
		return 0, false, nil
	}
	raw, found := m["max"]
	if len(m) != 1 || !found || json.Unmarshal(raw, &n) != nil {
		return 0, true, fmt.Errorf("want {\"max\": N}, a whole number N as the upper bound, not %s", compact(v))
	}
	return n, true, nil
}

// exactOrAtMost compares a measured count with a profile's number, null
// or {"max": N} (which a measured null, no limit found, exceeds); want is
// the profile's value as the difference shows it.
func exactOrAtMost(w, g json.RawMessage) (ok bool, want string) {
	n, isBound, _ := bound(w)
	if !isBound {
		return equalJSON(w, g), compact(w)
	}
	var got *int
	if json.Unmarshal(g, &got) != nil {
		return false, fmt.Sprintf("at most %d", n)
	}
	return got != nil && *got <= n, fmt.Sprintf("at most %d", n)
}

func oneOf(v json.RawMessage, allowed ...string) error {
	if slices.Contains(allowed, compact(v)) {
		return nil
	}
	return fmt.Errorf("want one of %s, not %s", strings.Join(allowed, ", "), v)
}

// list checks an array whose items, as JSON, are among allowed (strings
// unquoted).
func list(v json.RawMessage, allowed []string) error {
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil || items == nil {
		return fmt.Errorf("want a list of %s, not %s", strings.Join(allowed, ", "), v)
	}
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) != nil {
			s = compact(it)
		}
		if !slices.Contains(allowed, s) {
			return fmt.Errorf("want a list of %s, not %s", strings.Join(allowed, ", "), v)
		}
	}
	return nil
}

func object(v json.RawMessage, keys []string, check func(string, json.RawMessage) error) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil || m == nil {
		return fmt.Errorf("want an object with %s, not %s", strings.Join(keys, " and/or "), v)
	}
	for k, sub := range m {
		if !slices.Contains(keys, k) {
			return fmt.Errorf("%q is not part of it: use %s", k, strings.Join(keys, " and/or "))
		}
		if err := check(k, sub); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

func compact(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

// Compare lists the properties whose measured value differs from the
// profile's, in the report's order: window's parts one by one, each equal
// or, given as {"max": N}, at most N (as lockout_threshold), unlocks_by and
// digits_accepted as sets, latency_ms's parts as upper bounds, the rest
// equal.
func Compare(r Report, p Profile) []Difference {
	data, err := json.Marshal(r)
	if err != nil {
		return []Difference{{Property: "report", Want: "a report", Got: err.Error()}}
	}
	var got map[string]json.RawMessage
	_ = json.Unmarshal(data, &got)
	var diffs []Difference
	for _, key := range p.Keys() {
		want := p.values[key]
		switch key {
		case "window":
			diffs = append(diffs, compareParts(key, want, got[key], exactOrAtMost)...)
		case "latency_ms":
			diffs = append(diffs, compareParts(key, want, got[key], atMost)...)
		case "lockout_threshold":
			if ok, w := exactOrAtMost(want, got[key]); !ok {
				diffs = append(diffs, Difference{key, w, compact(got[key])})
			}
		case "unlocks_by", "digits_accepted":
			if !sameSet(want, got[key]) {
				diffs = append(diffs, Difference{key, compact(want), compact(got[key])})
			}
		default:
			if !equalJSON(want, got[key]) {
				diffs = append(diffs, Difference{key, compact(want), compact(got[key])})
			}
		}
	}
	return diffs
}

// compareParts compares the parts of an object property the profile
// gives; match says whether a part is as required, and the profile's
// value as the difference shows it.
func compareParts(key string, want, got json.RawMessage, match func(w, g json.RawMessage) (bool, string)) []Difference {
	var w, g map[string]json.RawMessage
	_ = json.Unmarshal(want, &w)
	_ = json.Unmarshal(got, &g)
	parts := make([]string, 0, len(w))
	for k := range w {
		parts = append(parts, k)
	}
	sort.Strings(parts)
	var diffs []Difference
	for _, k := range parts {
		gv := g[k]
		if gv == nil {
			gv = json.RawMessage("null")
		}
		if ok, wt := match(w[k], gv); !ok {
			diffs = append(diffs, Difference{key + "." + k, wt, compact(gv)})
		}
	}
	return diffs
}

func equalJSON(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// atMost compares a latency with its upper bound.
func atMost(limit, v json.RawMessage) (bool, string) {
	var l, x float64
	want := "at most " + compact(limit)
	if json.Unmarshal(limit, &l) != nil || json.Unmarshal(v, &x) != nil {
		return false, want
	}
	return x <= l, want
}

// sameSet compares two JSON arrays as sets; null is no set at all, which
// differs from the empty one (no lockout is not "nothing unlocks it").
func sameSet(a, b json.RawMessage) bool {
	set := func(v json.RawMessage) ([]string, error) {
		var items []json.RawMessage
		if err := json.Unmarshal(v, &items); err != nil {
			return nil, err
		}
		if items == nil {
			return nil, errors.New("null")
		}
		var s []string
		for _, it := range items {
			s = append(s, compact(it))
		}
		slices.Sort(s)
		return slices.Compact(s), nil
	}
	x, errA := set(a)
	y, errB := set(b)
	if errA != nil || errB != nil {
		return errA != nil && errB != nil
	}
	return slices.Equal(x, y)
}
