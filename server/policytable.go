package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tokenlab/tokenlab/internal/jsonkeys"
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
	// Allowed is the values the setting may take, as the docs write them
	// ("1 to 100000", "more than 0"); Policy.Validate refuses the others.
	Allowed string

	def   string
	want  string // the codec's: what a document's value must be
	fill  func(*Policy)
	get   func(Policy) any
	set   func(*Policy, json.RawMessage) error
	check func(Policy) error // the field's value against Allowed, zero included
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
	// want is what a document's value must be, for an error that says so:
	// "a whole number".
	want string
}

// rule is the values a setting may take. Every rule but a flag's refuses
// the field's zero value, which means "the default" in a Policy: a policy
// file that gives a 0 meant something else, and is told so rather than
// given the default silently.
type rule[T any] struct {
	text string // as the docs write it: "1 to 100000"
	ok   func(T) bool
}

// between is a count from lo to hi.
func between(lo, hi int) rule[int] {
	return rule[int]{fmt.Sprintf("%d to %d", lo, hi), func(v int) bool { return v >= lo && v <= hi }}
}

var (
	positive = rule[time.Duration]{"more than 0", func(v time.Duration) bool { return v > 0 }}
	driftPPM = rule[float64]{fmt.Sprintf("more than 0, at most %d", maxDriftPPM), func(v float64) bool { return v > 0 && v <= maxDriftPPM }}
	// notZero… is a limit whose negative values mean "none".
	notZeroDuration = rule[time.Duration]{"a value other than 0 (negative: for ever)", func(v time.Duration) bool { return v != 0 }}
	notZeroCount    = rule[int]{"a value other than 0 (negative: no limit)", func(v int) bool { return v != 0 }}
	anyFlag         = rule[bool]{"true or false", func(bool) bool { return true }}
	// name is a name the messages print: a RADIUS Reply-Message and a
	// portal's page show it, so it is short and has no control characters.
	name = rule[string]{fmt.Sprintf("1 to %d characters, no control characters", maxNameLength), func(v string) bool {
		n := utf8.RuneCountInString(v)
		return n >= 1 && n <= maxNameLength && utf8.ValidString(v) && !strings.ContainsFunc(v, unicode.IsControl)
	}}
	// reminders is a list of durations before a deadline.
	reminders = rule[[]time.Duration]{fmt.Sprintf("1 to %d values, each more than 0", maxReminders), func(v []time.Duration) bool {
		return len(v) >= 1 && len(v) <= maxReminders && !slices.ContainsFunc(v, func(d time.Duration) bool { return d <= 0 })
	}}
)

// oneOf is a choice among names.
func oneOf(names ...string) rule[string] {
	text := strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	return rule[string]{text, func(v string) bool { return slices.Contains(names, v) }}
}

// Bounds that keep a policy from costing the server what it cannot afford.
const (
	// maxSyncWindow: a failing activation or resync attempt computes
	// 2×SyncWindow+1 codes (about 0.4 ms at ±1000, docs/performance.md), so
	// 100000 steps costs some 40 ms a wrong attempt, and much more would
	// let anyone with a serial burn seconds of CPU a request. It is ±35
	// days at 30 s, far beyond any real token's drift.
	maxSyncWindow = 100000
	// maxLockoutBudget: a token keeps the time of each wrong code the
	// budget counts, and writes them all on every wrong code.
	maxLockoutBudget = 1000
	// maxCount bounds the counters that cost nothing: past a million
	// attempts a rule is off in all but name.
	maxCount = 1000000
	// maxPhones: an account keeps its phones in its own record.
	maxPhones = 100
	// maxPhoneCodeSends: an account keeps the time of each code sent within
	// the send window, up to PhoneCodeSends × MaxPhones of them.
	maxPhoneCodeSends = 100
	// maxDriftPPM: a clock 1% off (15 minutes a day) is a broken token,
	// not a drifting one.
	maxDriftPPM   = 10000
	maxNameLength = 64
	// maxReminders: each is an event the sweep schedules and a
	// notification it sends.
	maxReminders = 10
	// The bcrypt costs: bcrypt's least, and a cost past which one hash
	// takes minutes and every login waits for it.
	minPasswordCost = 4
	maxPasswordCost = 20
	// The password lengths: NIST SP 800-63B's floor for a password the
	// user chose, and bcrypt's limit (it ignores what lies past 72 bytes,
	// so a longer password would be accepted on its first 72 alone).
	minPasswordLength = 8
	maxPasswordLength = 72
)

// decodeAs reads a document value as J; a null leaves J's zero value, which
// means the default.
func decodeAs[J any](raw json.RawMessage) (J, error) {
	var v J
	err := json.Unmarshal(raw, &v)
	return v, err
}

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// inDays is d in days, and inUnits d in a unit, as the document writes
// them: the float64 nearest the exact quotient, so that the number a policy
// file gives (0.1 days is 8640 s) prints back as written. d.Hours()/24,
// which the document used before, rounds twice and printed 0.1 days as
// 0.09999999999999999.
func inDays(d time.Duration) float64 { return inUnits(d, day) }

func inUnits(d, unit time.Duration) float64 {
	f, _ := new(big.Rat).SetFrac64(int64(d), int64(unit)).Float64()
	return f
}

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
		want: "a string",
	}
	countCodec = codec[int]{
		zero: func(v int) bool { return v == 0 },
		enc:  func(v int) any { return v },
		dec:  decodeAs[int],
		show: strconv.Itoa,
		want: "a whole number",
	}
	numberCodec = codec[float64]{
		zero: func(v float64) bool { return v == 0 },
		enc:  func(v float64) any { return v },
		dec:  decodeAs[float64],
		show: formatFloat,
		want: "a number",
	}
	// flagCodec: false is both the zero value and the default, so filling
	// defaults never turns a flag on.
	flagCodec = codec[bool]{
		zero: func(v bool) bool { return !v },
		enc:  func(v bool) any { return v },
		dec:  decodeAs[bool],
		show: strconv.FormatBool,
		want: "true or false",
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
		want:  "a list of numbers of days",
	}
)

// durationCodec keeps a duration as a float64 number of units.
func durationCodec(unit time.Duration) codec[time.Duration] {
	in := func(d time.Duration) float64 { return inUnits(d, unit) }
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
		want: "a number of " + map[time.Duration]string{day: "days", time.Second: "seconds"}[unit],
	}
}

// setting binds a Policy field (at) to its row of the table.
func setting[T any](field, jsonName, unit string, c codec[T], def T, allowed rule[T], doc string, at func(*Policy) *T) PolicySetting {
	key := jsonName
	if key == "" {
		key = field // a setting the document leaves out is named as Go names it
	}
	return PolicySetting{
		Field: field, JSON: jsonName, Unit: unit, Doc: doc, Allowed: allowed.text,
		def: c.show(def), want: c.want,
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
		check: func(p Policy) error {
			if v := *at(&p); !allowed.ok(v) {
				shown, _ := json.Marshal(c.enc(v))
				return fmt.Errorf("%s is %s: give %s", key, shown, allowed.text)
			}
			return nil
		},
	}
}

var policySettings = []PolicySetting{
	setting("OperatorName", "operator_name", "", textCodec, "Exostar", name,
		`the operator the guide's messages name ("Contact Exostar Customer Support")`,
		func(p *Policy) *string { return &p.OperatorName }),
	setting("PortalName", "portal_name", "", textCodec, "MAG", name,
		`the portal the guide's messages name ("log into MAG")`,
		func(p *Policy) *string { return &p.PortalName }),
	setting("SyncWindow", "sync_window", "steps", countCodec, 1000, between(1, maxSyncWindow),
		"how far either side of the server's time activation and resync look for two consecutive codes",
		func(p *Policy) *int { return &p.SyncWindow }),
	setting("LoginWindow", "login_window", "steps", countCodec, 1, between(1, maxSyncWindow),
		"how far either side of the server's time plus the learned drift a login code may come from",
		func(p *Policy) *int { return &p.LoginWindow }),
	setting("DriftTracking", "drift_tracking", "", textCodec, DriftOffset, oneOf(DriftOffset, DriftFixed, DriftRate),
		"how the login window follows a token's clock: offset, fixed or rate",
		func(p *Policy) *string { return &p.DriftTracking }),
	setting("MaxDriftPPM", "max_drift_ppm", "ppm", numberCodec, 15, driftPPM,
		"the worst clock drift the rate policy allows for",
		func(p *Policy) *float64 { return &p.MaxDriftPPM }),
	setting("MaxLoginWindow", "max_login_window", "steps", countCodec, 10, between(1, maxSyncWindow),
		"the rate policy's cap on its widened login window, either way",
		func(p *Policy) *int { return &p.MaxLoginWindow }),
	setting("HOTPLookAhead", "hotp_look_ahead", "counters", countCodec, 10, between(1, maxSyncWindow),
		"how many counters past the last accepted one an HOTP login code may come from",
		func(p *Policy) *int { return &p.HOTPLookAhead }),
	setting("LockoutThreshold", "lockout_threshold", "codes", countCodec, 5, between(1, maxCount),
		"consecutive wrong login codes that lock the token",
		func(p *Policy) *int { return &p.LockoutThreshold }),
	setting("LockoutBudget", "lockout_budget", "codes", countCodec, 20, between(1, maxLockoutBudget),
		"wrong login codes, in a row or not, within LockoutBudgetWindow that lock the token",
		func(p *Policy) *int { return &p.LockoutBudget }),
	setting("LockoutBudgetWindow", "lockout_budget_window_days", "days", daysCodec, day, positive,
		"how far back the lockout budget counts wrong login codes",
		func(p *Policy) *time.Duration { return &p.LockoutBudgetWindow }),
	setting("ActivationAttempts", "activation_attempts", "attempts", countCodec, 3, between(1, maxCount),
		"failed activations after which activation is blocked until an administrator resets the token",
		func(p *Policy) *int { return &p.ActivationAttempts }),
	setting("ResyncAttempts", "resync_attempts", "attempts", countCodec, 3, between(1, maxCount),
		"failed resyncs after which resync is blocked until an administrator resets the token",
		func(p *Policy) *int { return &p.ResyncAttempts }),
	setting("Validity", "validity_days", "days", daysCodec, 365*day, positive,
		"how long a token is valid from its purchase, and how far a renewal moves its expiry",
		func(p *Policy) *time.Duration { return &p.Validity }),
	setting("ExpiryReminder", "expiry_reminder_days", "days", daysCodec, 30*day, positive,
		"how long before expiry the renewal reminder goes out",
		func(p *Policy) *time.Duration { return &p.ExpiryReminder }),
	setting("SuspendedRevokeAfter", "suspended_revoke_after_days", "days", daysCodec, 60*day, positive,
		"how long a token may stay suspended before it is revoked automatically",
		func(p *Policy) *time.Duration { return &p.SuspendedRevokeAfter }),
	setting("ExpiredRevokeAfter", "expired_revoke_after_days", "days", daysCodec, 365*day, positive,
		`how long a token may stay expired before it is revoked automatically (59 follows the guide's "59th day")`,
		func(p *Policy) *time.Duration { return &p.ExpiredRevokeAfter }),
	setting("RevocationReminders", "revocation_reminder_days", "days", daysListCodec, []time.Duration{30 * day, 15 * day, 3 * day}, reminders,
		"how long before an automatic revocation the reminders go out",
		func(p *Policy) *[]time.Duration { return &p.RevocationReminders }),
	setting("ApprovalRequired", "approval_required", "", flagCodec, false, anyFlag,
		"whether an activated token waits in Pending Approval until an administrator approves it",
		func(p *Policy) *bool { return &p.ApprovalRequired }),
	setting("MaxPhones", "max_phones", "phones", countCodec, 3, between(1, maxPhones),
		"how many phones an account may register for phone OTP",
		func(p *Policy) *int { return &p.MaxPhones }),
	setting("PhoneCodeValidity", "phone_code_validity_s", "seconds", secondsCodec, 2*time.Minute, positive,
		"how long a phone code is valid after it is sent",
		func(p *Policy) *time.Duration { return &p.PhoneCodeValidity }),
	setting("PhoneCodeAttempts", "phone_code_attempts", "codes", countCodec, 3, between(1, maxCount),
		"wrong codes after which a phone code is void and a new one must be sent",
		func(p *Policy) *int { return &p.PhoneCodeAttempts }),
	setting("PhoneCodeSends", "phone_code_sends", "codes", countCodec, 5, between(1, maxPhoneCodeSends),
		"how many codes one number may be sent (to register it or to log in) within PhoneCodeSendWindow",
		func(p *Policy) *int { return &p.PhoneCodeSends }),
	setting("PhoneCodeSendWindow", "phone_code_send_window_s", "seconds", secondsCodec, time.Hour, positive,
		"how far back the phone code send limit counts",
		func(p *Policy) *time.Duration { return &p.PhoneCodeSendWindow }),
	setting("PhoneValidity", "phone_validity_days", "days", daysCodec, 365*day, positive,
		"how long a phone OTP subscription is valid from its start, and how far a renewal moves its expiry",
		func(p *Policy) *time.Duration { return &p.PhoneValidity }),
	setting("PhoneRenewalWindow", "phone_renewal_window_days", "days", daysCodec, 365*day, positive,
		"how long after its expiry a phone OTP subscription may still be renewed before it lapses",
		func(p *Policy) *time.Duration { return &p.PhoneRenewalWindow }),
	setting("PhoneChangeWithoutOTP", "phone_change_without_otp", "", flagCodec, false, anyFlag,
		"whether an account that holds an OTP credential may add or remove phones without a phone or hardware OTP session",
		func(p *Policy) *bool { return &p.PhoneChangeWithoutOTP }),
	setting("SessionIdleTimeout", "session_idle_timeout_s", "seconds", secondsCodec, 15*time.Minute, positive,
		"how long a portal session may go unused before it ends",
		func(p *Policy) *time.Duration { return &p.SessionIdleTimeout }),
	setting("SessionMaxLifetime", "session_max_lifetime_s", "seconds", secondsCodec, 12*time.Hour, positive,
		"how long after the login a portal session ends, used or not",
		func(p *Policy) *time.Duration { return &p.SessionMaxLifetime }),
	setting("AllowShortSecrets", "allow_short_secrets", "", flagCodec, false, anyFlag,
		"whether an import may hold secrets shorter than RFC 4226's 128 bits (16 bytes), for a lab",
		func(p *Policy) *bool { return &p.AllowShortSecrets }),
	setting("AuditRetention", "audit_retention_days", "days", daysCodec, 400*day, notZeroDuration,
		"how long the sweep keeps an audit entry",
		func(p *Policy) *time.Duration { return &p.AuditRetention }),
	setting("AuditMaxEntries", "audit_max_entries", "entries", countCodec, 1000000, notZeroCount,
		"how many audit entries the sweep keeps at most, the newest",
		func(p *Policy) *int { return &p.AuditMaxEntries }),
	setting("NoNextCodeChallenge", "no_next_code_challenge", "", flagCodec, false, anyFlag,
		"whether the next-code challenge (RADIUS Access-Challenge for a code outside the login window but inside the sync window) is off",
		func(p *Policy) *bool { return &p.NoNextCodeChallenge }),
	setting("RadiusPasswordAndCode", "radius_password_and_code", "", flagCodec, false, anyFlag,
		"whether a RADIUS User-Password is the account's password followed by the code, instead of the code alone",
		func(p *Policy) *bool { return &p.RadiusPasswordAndCode }),
	// In the document: a portal's password form says what it asks for.
	setting("PasswordMinLength", "password_min_length", "characters", countCodec, 8, between(minPasswordLength, maxPasswordLength),
		"the fewest characters a password may have (bcrypt reads at most 72 bytes)",
		func(p *Policy) *int { return &p.PasswordMinLength }),
	// Not in the document: how passwords are hashed is no client's business.
	setting("PasswordCost", "", "", countCodec, 10, between(minPasswordCost, maxPasswordCost),
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

// crossRules are what no setting decides alone: each window the server
// searches lies inside the one that encloses it.
var crossRules = []func(p Policy) error{
	func(p Policy) error {
		if p.LoginWindow > p.SyncWindow {
			return fmt.Errorf("login_window (%d) is wider than sync_window (%d): a resync must find any code a login accepts; widen sync_window or narrow login_window", p.LoginWindow, p.SyncWindow)
		}
		return nil
	},
	func(p Policy) error {
		if p.MaxLoginWindow < p.LoginWindow || p.MaxLoginWindow > p.SyncWindow {
			return fmt.Errorf("max_login_window (%d) must lie from login_window (%d) to sync_window (%d): the rate policy widens the login window up to it, and a resync must still find the code", p.MaxLoginWindow, p.LoginWindow, p.SyncWindow)
		}
		return nil
	},
	func(p Policy) error {
		if p.HOTPLookAhead > p.SyncWindow {
			return fmt.Errorf("hotp_look_ahead (%d) is wider than sync_window (%d): a resync must find any counter a login accepts; widen sync_window or narrow hotp_look_ahead", p.HOTPLookAhead, p.SyncWindow)
		}
		return nil
	},
}

// policyErrors are every problem of a policy, reported at once so that a
// policy file is mended in one go.
type policyErrors []error

func (e policyErrors) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (e policyErrors) Unwrap() []error { return e }

func (e policyErrors) err() error {
	if len(e) == 0 {
		return nil
	}
	return e
}

// Validate refuses a policy that the server cannot run: a setting outside
// its allowed values (the table's Allowed), or settings that contradict
// each other. A field left at its zero value means its default and is
// valid. Each error names the setting by its JSON name (the Go name for a
// setting the document leaves out), and says what to give instead. New
// refuses a policy that Validate refuses.
func (p Policy) Validate() error {
	p = p.withDefaults()
	var errs policyErrors
	for _, s := range policySettings {
		if err := s.check(p); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 { // the cross rules assume each setting is sane
		for _, rule := range crossRules {
			if err := rule(p); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := errs.err(); err != nil {
		return fmt.Errorf("invalid policy: %w", err)
	}
	return nil
}

// ParsePolicy reads a policy document a person wrote — tokenlab serve
// --policy FILE — strictly: the keys are GET /v1/policy's, and a key
// missing means the default, so that the document GET /v1/policy prints
// reads back as the same policy. Unlike PolicyFromDocument, which reads a
// server's document and lets a newer server's keys pass, it refuses what a
// person cannot have meant: a key it does not know (with the nearest it
// does), a key given twice, a null, a value of the wrong type, a value
// outside the setting's allowed values — a 0 included, which in a Policy
// would silently mean the default — and settings that contradict each
// other (Validate). Every error names the key.
func ParsePolicy(data []byte) (Policy, error) {
	docType := reflect.TypeFor[map[string]json.RawMessage]()
	if err := jsonkeys.Check(data, docType); err != nil {
		return Policy{}, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case strings.TrimSpace(string(data)) == "":
			return Policy{}, errors.New(`the policy is empty: write a JSON object of settings, e.g. {"lockout_threshold": 3}`)
		case errors.As(err, &syn):
			line, col := position(data, syn.Offset-1) // Offset is just past the byte at fault
			return Policy{}, fmt.Errorf("line %d, column %d: %v", line, col, err)
		case errors.As(err, &typ):
			return Policy{}, errors.New(`a policy is a JSON object of settings, e.g. {"lockout_threshold": 3}`)
		}
		return Policy{}, err
	}
	if doc == nil {
		return Policy{}, errors.New(`a policy is a JSON object of settings, e.g. {"lockout_threshold": 3}, not null`)
	}
	var errs policyErrors
	known := map[string]bool{}
	var p Policy
	for _, s := range policySettings {
		if s.JSON == "" {
			continue
		}
		known[s.JSON] = true
		raw, ok := doc[s.JSON]
		if !ok {
			continue
		}
		if string(raw) == "null" {
			errs = append(errs, fmt.Errorf("%s is null: give %s, or leave it out for the default (%s)", s.JSON, s.Allowed, s.Default()))
			continue
		}
		if err := s.set(&p, raw); err != nil {
			var typ *json.UnmarshalTypeError
			if errors.As(err, &typ) {
				err = fmt.Errorf("want %s, not %s", s.want, clip(string(raw), 40))
			}
			errs = append(errs, fmt.Errorf("%s: %w", s.JSON, err))
			continue
		}
		if err := s.check(p); err != nil {
			errs = append(errs, fmt.Errorf("%w, or leave it out for the default (%s)", err, s.Default()))
		}
	}
	var unknown []string
	for k := range doc {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, unknownSetting(k, known))
	}
	if err := errs.err(); err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// unknownSetting says that k is no setting, and which one was meant.
func unknownSetting(k string, known map[string]bool) error {
	best, dist := "", len(k)/3+2 // further than that is another word, not a typo
	for name := range known {
		if d := editDistance(strings.ToLower(k), name); d < dist || d == dist && name < best {
			best, dist = name, d
		}
	}
	if best != "" {
		return fmt.Errorf("%s is not a policy setting: did you mean %s?", k, best)
	}
	return fmt.Errorf("%s is not a policy setting: the settings are the keys of GET /v1/policy (docs/lifecycle.md, “Policy defaults”)", k)
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// position is the line and column (1-based, in bytes) of offset in data.
func position(data []byte, offset int64) (line, col int) {
	line, col = 1, 1
	for _, c := range data[:min(int(offset), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
