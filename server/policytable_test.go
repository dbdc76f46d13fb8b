package server

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"
)

// legacyWithDefaults is withDefaults as it was written before the settings
// table, field by field: the table must fill exactly what it filled.
func legacyWithDefaults(p Policy) Policy {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if p.OperatorName == "" {
		p.OperatorName = "Exostar"
	}
	if p.PortalName == "" {
		p.PortalName = "MAG"
	}
	def(&p.SyncWindow, 1000)
	def(&p.LoginWindow, 1)
	if p.DriftTracking == "" {
		p.DriftTracking = DriftOffset
	}
	if p.MaxDriftPPM == 0 {
		p.MaxDriftPPM = 15
	}
	def(&p.MaxLoginWindow, 10)
	def(&p.HOTPLookAhead, 10)
	def(&p.LockoutThreshold, 5)
	def(&p.LockoutBudget, 20)
	defd(&p.LockoutBudgetWindow, day)
	def(&p.ActivationAttempts, 3)
	def(&p.ResyncAttempts, 3)
	defd(&p.Validity, 365*day)
	defd(&p.ExpiryReminder, 30*day)
	defd(&p.SuspendedRevokeAfter, 60*day)
	defd(&p.ExpiredRevokeAfter, 365*day)
	if len(p.RevocationReminders) == 0 {
		p.RevocationReminders = []time.Duration{30 * day, 15 * day, 3 * day}
	}
	def(&p.MaxPhones, 3)
	defd(&p.PhoneCodeValidity, 2*time.Minute)
	defd(&p.SessionIdleTimeout, 15*time.Minute)
	defd(&p.SessionMaxLifetime, 12*time.Hour)
	defd(&p.AuditRetention, 400*day) // added since, as the table fills them
	def(&p.AuditMaxEntries, 1000000)
	def(&p.PasswordCost, 10)
	return p
}

// everyFieldChanged is a policy none of whose fields has its zero value or
// its default.
func everyFieldChanged() Policy {
	return Policy{
		OperatorName: "Acme", PortalName: "Gate", SyncWindow: 500, LoginWindow: 2, DriftTracking: DriftRate,
		MaxDriftPPM: 7.5, MaxLoginWindow: 4, HOTPLookAhead: 20, LockoutThreshold: 7, LockoutBudget: 12,
		LockoutBudgetWindow: 3*day + time.Hour, ActivationAttempts: 4,
		ResyncAttempts: 6, Validity: 730*day + 7*time.Minute + 3*time.Microsecond, ExpiryReminder: 45 * day,
		SuspendedRevokeAfter: 36 * time.Hour, ExpiredRevokeAfter: 59 * day,
		RevocationReminders: []time.Duration{20 * day, 10 * day, 12*time.Hour + 1*time.Second},
		ApprovalRequired:    true, MaxPhones: 5, PhoneCodeValidity: 90*time.Second + time.Nanosecond,
		SessionIdleTimeout: 20*time.Minute + time.Millisecond, SessionMaxLifetime: 8 * time.Hour,
		AllowShortSecrets: true, AuditRetention: 90 * day, AuditMaxEntries: 5000, NoNextCodeChallenge: true, RadiusPasswordAndCode: true, PasswordCost: 12,
	}
}

func TestWithDefaultsFillsAsBefore(t *testing.T) {
	changed := everyFieldChanged()
	cases := map[string]Policy{
		"zero":                       {},
		"every field changed":        changed,
		"empty reminders, not nil":   {RevocationReminders: []time.Duration{}},
		"the guide's 59th day":       {ExpiredRevokeAfter: 59 * day},
		"approval and a low lockout": {ApprovalRequired: true, LockoutThreshold: 3},
	}
	// And each field changed alone.
	cv := reflect.ValueOf(changed)
	for i := range cv.NumField() {
		var p Policy
		reflect.ValueOf(&p).Elem().Field(i).Set(cv.Field(i))
		cases["only "+cv.Type().Field(i).Name] = p
	}
	for name, p := range cases {
		if got, want := p.withDefaults(), legacyWithDefaults(p); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: withDefaults\n got %+v\nwant %+v", name, got, want)
		}
	}

	// The default list is the caller's to change.
	a := Policy{}.withDefaults()
	a.RevocationReminders[0] = time.Hour
	if b := (Policy{}).withDefaults(); b.RevocationReminders[0] != 30*day {
		t.Errorf("changing one policy's default reminders changed the next one's: %v", b.RevocationReminders)
	}
}

// TestPolicySettingsCoverPolicy: every Policy field has one row, in field
// order, and each row's accessors read and write the field it names.
func TestPolicySettingsCoverPolicy(t *testing.T) {
	typ := reflect.TypeFor[Policy]()
	var fields, rows []string
	for i := range typ.NumField() {
		fields = append(fields, typ.Field(i).Name)
	}
	for _, s := range PolicySettings() {
		rows = append(rows, s.Field)
	}
	if !slices.Equal(fields, rows) {
		t.Fatalf("the settings table has rows\n%v\nPolicy has fields\n%v", rows, fields)
	}

	changed := reflect.ValueOf(everyFieldChanged())
	seen := map[string]bool{}
	for _, s := range PolicySettings() {
		// fill touches its own field and no other.
		var p Policy
		s.fill(&p)
		pv := reflect.ValueOf(p)
		for i := range pv.NumField() {
			if name := typ.Field(i).Name; name != s.Field && !pv.Field(i).IsZero() {
				t.Errorf("%s: filling its default set %s", s.Field, name)
			}
		}
		// get reads its own field.
		var q Policy
		reflect.ValueOf(&q).Elem().FieldByName(s.Field).Set(changed.FieldByName(s.Field))
		if reflect.DeepEqual(s.Value(q), s.Value(Policy{})) {
			t.Errorf("%s: Value does not see the field change", s.Field)
		}
		if s.Doc == "" || s.Default() == "" {
			t.Errorf("%s: no doc or no default", s.Field)
		}
		if s.JSON != "" {
			if seen[s.JSON] {
				t.Errorf("%s: JSON name %q used twice", s.Field, s.JSON)
			}
			seen[s.JSON] = true
		}
	}
}

func TestPolicyDocumentRoundTrips(t *testing.T) {
	for name, p := range map[string]Policy{"defaults": DefaultPolicy(), "every field changed": everyFieldChanged(), "zero": {}} {
		data, err := json.Marshal(p.Document())
		if err != nil {
			t.Fatal(err)
		}
		got, err := PolicyFromDocument(data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, data)
		}
		want := p
		want.PasswordCost = 0 // not in the document
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: from %s\n got %+v\nwant %+v", name, data, got, want)
		}
	}
}

func TestPolicyFromDocument(t *testing.T) {
	p, err := PolicyFromDocument([]byte(`{"lockout_threshold": 3, "validity_days": 1.5, "revocation_reminder_days": null, "password_cost": 4, "from_a_newer_server": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := (Policy{LockoutThreshold: 3, Validity: 36 * time.Hour}); !reflect.DeepEqual(p, want) {
		t.Errorf("got %+v, want %+v: missing and null keys are zero, unknown ones ignored", p, want)
	}
	for _, bad := range []string{
		``, `null`, `[]`, `{"lockout_threshold": "5"}`, `{"lockout_threshold": 2.5}`, `{"approval_required": 1}`,
		`{"validity_days": 1e300}`, `{"phone_code_validity_s": -1e10}`, `{"revocation_reminder_days": [30, "15"]}`,
	} {
		if _, err := PolicyFromDocument([]byte(bad)); err == nil {
			t.Errorf("PolicyFromDocument(%q) took it", bad)
		}
	}
}
