package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PolicySetting is one rule of Policy: the Policy field, its key in the
// policy document (GET /v1/policy), the unit of that key's value, the
// default and what it means. policySettings is the one place the defaults
// are written: withDefaults, Document, PolicyFromDocument and the tables in
// the package doc and docs/lifecycle.md (“Policy defaults”, checked by a
// test) all come from it.
type PolicySetting struct {
	// Field is the Policy field's name.
	Field string
	// JSON is the key in the policy document; "" for a setting the document
	// leaves out.
	JSON string
	// Unit is the unit of the document's value and of the default: steps,
	// days, seconds…; "" for a name, a choice or a flag.
	Unit string
	// Doc says in one line what the setting decides.
	Doc string

	def  string
	fill func(*Policy)
	get  func(Policy) any
	set  func(*Policy, json.RawMessage) error
}

// Default is the setting's default as the docs write it: value and unit.
func (s PolicySetting) Default() string {
	switch {
	case s.Unit == "":
		return s.def
	case s.def == "1": // units are plural: "1 steps" would read badly
		return s.def + " " + strings.TrimSuffix(s.Unit, "s")
	}
	return s.def + " " + s.Unit
}

// Value is p's value of the setting as the policy document carries it
// (durations in the setting's unit).
func (s PolicySetting) Value(p Policy) any { return s.get(p) }

// PolicySettings returns every setting, in the order of Policy's fields.
func PolicySettings() []PolicySetting { return slices.Clone(policySettings) }

// codec is how a field type maps to a document value: the document keeps
// durations as numbers in a unit (days, seconds) so that people and other
// languages read it without parsing Go durations.
type codec[T any] struct {
	zero  func(T) bool // the value that means "the default"
	enc   func(T) any
	dec   func(json.RawMessage) (T, error)
	show  func(T) string
	clone func(T) T // nil: values are copied by assignment
}

// decodeAs reads a document value as J; a null leaves J's zero value, which
// means the default.
func decodeAs[J any](raw json.RawMessage) (J, error) {
	var v J
	err := json.Unmarshal(raw, &v)
	return v, err
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// inDays is how the document has always turned a duration into days; the
// same float64 arithmetic keeps its numbers identical to the last bit.
func inDays(d time.Duration) float64 { return d.Hours() / 24 }

// durationOf converts a number of units back to a duration, refusing what
// a Duration cannot hold rather than wrapping around. Days are rounded to
// the microsecond: a float64 of days holds a year only to tens of
// nanoseconds, and no rule needs finer than a microsecond.
func durationOf(n float64, unit time.Duration) (time.Duration, error) {
	ns := math.Round(n * float64(unit))
	if ns >= math.MaxInt64 || ns < math.MinInt64 { // float64(MaxInt64) is 2⁶³, one past it
		return 0, fmt.Errorf("%v is out of range", n)
	}
	d := time.Duration(ns)
	if unit == day {
		d = d.Round(time.Microsecond)
	}
	return d, nil
}

var (
	textCodec = codec[string]{
		zero: func(v string) bool { return v == "" },
		enc:  func(v string) any { return v },
		dec:  decodeAs[string],
		show: func(v string) string { return v },
	}
	countCodec = codec[int]{
		zero: func(v int) bool { return v == 0 },
		enc:  func(v int) any { return v },
		dec:  decodeAs[int],
		show: strconv.Itoa,
	}
	numberCodec = codec[float64]{
		zero: func(v float64) bool { return v == 0 },
		enc:  func(v float64) any { return v },
		dec:  decodeAs[float64],
		show: formatFloat,
	}
	// flagCodec: false is both the zero value and the default, so filling
	// defaults never turns a flag on.
	flagCodec = codec[bool]{
		zero: func(v bool) bool { return !v },
		enc:  func(v bool) any { return v },
		dec:  decodeAs[bool],
		show: strconv.FormatBool,
	}
	daysCodec    = durationCodec(day)
	secondsCodec = durationCodec(time.Second)
	// daysListCodec: an empty list (nil or not) means the default list, and
	// the document shows an empty list as null, as it always has.
	daysListCodec = codec[[]time.Duration]{
		zero: func(v []time.Duration) bool { return len(v) == 0 },
		enc: func(v []time.Duration) any {
			var out []float64
			for _, d := range v {
				out = append(out, inDays(d))
			}
			return out
		},
		dec: func(raw json.RawMessage) ([]time.Duration, error) {
			ns, err := decodeAs[[]float64](raw)
			if err != nil {
				return nil, err
			}
			var out []time.Duration
			for _, n := range ns {
				d, err := durationOf(n, day)
				if err != nil {
					return nil, err
				}
				out = append(out, d)
			}
			return out, nil
		},
		show: func(v []time.Duration) string {
			s := make([]string, len(v))
			for i, d := range v {
				s[i] = formatFloat(inDays(d))
			}
			return strings.Join(s, ", ")
		},
		clone: slices.Clone[[]time.Duration],
	}
)

// durationCodec keeps a duration as a float64 number of units.
func durationCodec(unit time.Duration) codec[time.Duration] {
	in := func(d time.Duration) float64 {
		if unit == day {
			return inDays(d)
		}
		return d.Seconds()
	}
	return codec[time.Duration]{
		zero: func(v time.Duration) bool { return v == 0 },
		enc:  func(v time.Duration) any { return in(v) },
		dec: func(raw json.RawMessage) (time.Duration, error) {
			n, err := decodeAs[float64](raw)
			if err != nil {
				return 0, err
			}
			return durationOf(n, unit)
		},
		show: func(v time.Duration) string { return formatFloat(in(v)) },
	}
}

// setting binds a Policy field (at) to its row of the table.
func setting[T any](field, jsonName, unit string, c codec[T], def T, doc string, at func(*Policy) *T) PolicySetting {
	return PolicySetting{
		Field: field, JSON: jsonName, Unit: unit, Doc: doc,
		def: c.show(def),
		fill: func(p *Policy) {
			if v := at(p); c.zero(*v) {
				*v = def
				if c.clone != nil {
					*v = c.clone(def) // the table's own value is never shared
				}
			}
		},
		get: func(p Policy) any { return c.enc(*at(&p)) },
		set: func(p *Policy, raw json.RawMessage) error {
			v, err := c.dec(raw)
			if err != nil {
				return err
			}
			*at(p) = v
			return nil
		},
	}
}

var policySettings = []PolicySetting{
	setting("OperatorName", "operator_name", "", textCodec, "Exostar",
		`the operator the guide's messages name ("Contact Exostar Customer Support")`,
		func(p *Policy) *string { return &p.OperatorName }),
	setting("PortalName", "portal_name", "", textCodec, "MAG",
		`the portal the guide's messages name ("log into MAG")`,
		func(p *Policy) *string { return &p.PortalName }),
	setting("SyncWindow", "sync_window", "steps", countCodec, 1000,
		"how far either side of the server's time activation and resync look for two consecutive codes",
		func(p *Policy) *int { return &p.SyncWindow }),
	setting("LoginWindow", "login_window", "steps", countCodec, 1,
		"how far either side of the server's time plus the learned drift a login code may come from",
		func(p *Policy) *int { return &p.LoginWindow }),
	setting("DriftTracking", "drift_tracking", "", textCodec, DriftOffset,
		"how the login window follows a token's clock: offset, fixed or rate",
		func(p *Policy) *string { return &p.DriftTracking }),
	setting("MaxDriftPPM", "max_drift_ppm", "ppm", numberCodec, 15,
		"the worst clock drift the rate policy allows for",
		func(p *Policy) *float64 { return &p.MaxDriftPPM }),
	setting("MaxLoginWindow", "max_login_window", "steps", countCodec, 10,
		"the rate policy's cap on its widened login window, either way",
		func(p *Policy) *int { return &p.MaxLoginWindow }),
	setting("HOTPLookAhead", "hotp_look_ahead", "counters", countCodec, 10,
		"how many counters past the last accepted one an HOTP login code may come from",
		func(p *Policy) *int { return &p.HOTPLookAhead }),
	setting("LockoutThreshold", "lockout_threshold", "codes", countCodec, 5,
		"consecutive wrong login codes that lock the token",
		func(p *Policy) *int { return &p.LockoutThreshold }),
	setting("LockoutBudget", "lockout_budget", "codes", countCodec, 20,
		"wrong login codes, in a row or not, within LockoutBudgetWindow that lock the token",
		func(p *Policy) *int { return &p.LockoutBudget }),
	setting("LockoutBudgetWindow", "lockout_budget_window_days", "days", daysCodec, day,
		"how far back the lockout budget counts wrong login codes",
		func(p *Policy) *time.Duration { return &p.LockoutBudgetWindow }),
	setting("ActivationAttempts", "activation_attempts", "attempts", countCodec, 3,
		"failed activations after which activation is blocked until an administrator resets the token",
		func(p *Policy) *int { return &p.ActivationAttempts }),
	setting("ResyncAttempts", "resync_attempts", "attempts", countCodec, 3,
		"failed resyncs after which resync is blocked until an administrator resets the token",
		func(p *Policy) *int { return &p.ResyncAttempts }),
	setting("Validity", "validity_days", "days", daysCodec, 365*day,
		"how long a token is valid from its purchase, and how far a renewal moves its expiry",
		func(p *Policy) *time.Duration { return &p.Validity }),
	setting("ExpiryReminder", "expiry_reminder_days", "days", daysCodec, 30*day,
		"how long before expiry the renewal reminder goes out",
		func(p *Policy) *time.Duration { return &p.ExpiryReminder }),
	setting("SuspendedRevokeAfter", "suspended_revoke_after_days", "days", daysCodec, 60*day,
		"how long a token may stay suspended before it is revoked automatically",
		func(p *Policy) *time.Duration { return &p.SuspendedRevokeAfter }),
	setting("ExpiredRevokeAfter", "expired_revoke_after_days", "days", daysCodec, 365*day,
		`how long a token may stay expired before it is revoked automatically (59 follows the guide's "59th day")`,
		func(p *Policy) *time.Duration { return &p.ExpiredRevokeAfter }),
	setting("RevocationReminders", "revocation_reminder_days", "days", daysListCodec, []time.Duration{30 * day, 15 * day, 3 * day},
		"how long before an automatic revocation the reminders go out",
		func(p *Policy) *[]time.Duration { return &p.RevocationReminders }),
	setting("ApprovalRequired", "approval_required", "", flagCodec, false,
		"whether an activated token waits in Pending Approval until an administrator approves it",
		func(p *Policy) *bool { return &p.ApprovalRequired }),
	setting("MaxPhones", "max_phones", "phones", countCodec, 3,
		"how many phones an account may register for phone OTP",
		func(p *Policy) *int { return &p.MaxPhones }),
	setting("PhoneCodeValidity", "phone_code_validity_s", "seconds", secondsCodec, 2*time.Minute,
		"how long a phone code is valid after it is sent",
		func(p *Policy) *time.Duration { return &p.PhoneCodeValidity }),
	setting("SessionIdleTimeout", "session_idle_timeout_s", "seconds", secondsCodec, 15*time.Minute,
		"how long a portal session may go unused before it ends",
		func(p *Policy) *time.Duration { return &p.SessionIdleTimeout }),
	setting("SessionMaxLifetime", "session_max_lifetime_s", "seconds", secondsCodec, 12*time.Hour,
		"how long after the login a portal session ends, used or not",
		func(p *Policy) *time.Duration { return &p.SessionMaxLifetime }),
	setting("AllowShortSecrets", "allow_short_secrets", "", flagCodec, false,
		"whether an import may hold secrets shorter than RFC 4226's 128 bits (16 bytes), for a lab",
		func(p *Policy) *bool { return &p.AllowShortSecrets }),
	setting("AuditRetention", "audit_retention_days", "days", daysCodec, 400*day,
		"how long the sweep keeps an audit entry (negative: for ever)",
		func(p *Policy) *time.Duration { return &p.AuditRetention }),
	setting("AuditMaxEntries", "audit_max_entries", "entries", countCodec, 1000000,
		"how many audit entries the sweep keeps at most, the newest (negative: no limit)",
		func(p *Policy) *int { return &p.AuditMaxEntries }),
	setting("NoNextCodeChallenge", "no_next_code_challenge", "", flagCodec, false,
		"whether the next-code challenge (RADIUS Access-Challenge for a code outside the login window but inside the sync window) is off",
		func(p *Policy) *bool { return &p.NoNextCodeChallenge }),
	setting("RadiusPasswordAndCode", "radius_password_and_code", "", flagCodec, false,
		"whether a RADIUS User-Password is the account's password followed by the code, instead of the code alone",
		func(p *Policy) *bool { return &p.RadiusPasswordAndCode }),
	// Not in the document: how passwords are hashed is no client's business.
	setting("PasswordCost", "", "", countCodec, 10,
		"the bcrypt cost of stored passwords",
		func(p *Policy) *int { return &p.PasswordCost }),
}

// Document is the policy as GET /v1/policy serves it: a key per setting
// (PasswordCost excepted), durations as float64 days or seconds as the key's
// name says. It shows p as it is; the server's Policy() has its defaults
// filled in already.
func (p Policy) Document() map[string]any {
	doc := make(map[string]any, len(policySettings))
	for _, s := range policySettings {
		if s.JSON != "" {
			doc[s.JSON] = s.get(p)
		}
	}
	return doc
}

// PolicyFromDocument reads a policy document (the JSON of Document, as GET
// /v1/policy serves it) back into a Policy. A key that is missing or null
// leaves its field zero, which means the default, and PasswordCost, which
// the document does not carry, stays zero too. Keys it does not know are
// ignored, so that a client reads a newer server's document. Durations in
// days come back to the microsecond, in seconds to the nanosecond.
func PolicyFromDocument(data []byte) (Policy, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return Policy{}, fmt.Errorf("policy document: %w", err)
	}
	if doc == nil {
		return Policy{}, errors.New("policy document: null, not an object")
	}
	var p Policy
	for _, s := range policySettings {
		if s.JSON == "" {
			continue
		}
		raw, ok := doc[s.JSON]
		if !ok {
			continue
		}
		if err := s.set(&p, raw); err != nil {
			return Policy{}, fmt.Errorf("policy document: %s: %w", s.JSON, err)
		}
	}
	return p, nil
}
