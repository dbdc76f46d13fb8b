package server

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
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
	def(&p.PhoneCodeAttempts, 3) // added since, as the table fills them
	def(&p.PhoneCodeSends, 5)
	defd(&p.PhoneCodeSendWindow, time.Hour)
	defd(&p.PhoneValidity, 365*day)
	defd(&p.PhoneRenewalWindow, 365*day)
	defd(&p.SessionIdleTimeout, 15*time.Minute)
	defd(&p.SessionMaxLifetime, 12*time.Hour)
	defd(&p.AuditRetention, 400*day) // added since, as the table fills them
	def(&p.AuditMaxEntries, 1000000)
	def(&p.PasswordMinLength, 8) // added since, as the table fills it
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
		PhoneCodeAttempts: 5, PhoneCodeSends: 10, PhoneCodeSendWindow: 15 * time.Minute, PhoneValidity: 90 * day,
		PhoneRenewalWindow: 30 * day, PhoneChangeWithoutOTP: true,
		SessionIdleTimeout: 20*time.Minute + time.Millisecond, SessionMaxLifetime: 8 * time.Hour,
		AllowShortSecrets: true, AuditRetention: 90 * day, AuditMaxEntries: 5000, NoNextCodeChallenge: true, RadiusPasswordAndCode: true, PasswordMinLength: 12, PasswordCost: 12,
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

func TestPolicyValidate(t *testing.T) {
	for name, p := range map[string]Policy{
		"zero": {}, "defaults": DefaultPolicy(), "every field changed": everyFieldChanged(),
		"no audit limits":             {AuditRetention: -1, AuditMaxEntries: -1},
		"the widest windows":          {SyncWindow: 100000, LoginWindow: 100000, MaxLoginWindow: 100000, HOTPLookAhead: 100000},
		"a sync window of 20":         {SyncWindow: 20}, // the other windows' defaults fit in it
		"names of 64 characters":      {OperatorName: strings.Repeat("é", 64), PortalName: "Portail d’accès"},
		"the least bcrypt cost":       {PasswordCost: 4},
		"one reminder, half a day":    {RevocationReminders: []time.Duration{12 * time.Hour}},
		"a lockout of one wrong code": {LockoutThreshold: 1, LockoutBudget: 1},
	} {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, c := range []struct {
		p    Policy
		want string
	}{
		{Policy{LockoutThreshold: -1}, "lockout_threshold is -1: give 1 to 1000000"},
		{Policy{SyncWindow: 100001}, "sync_window is 100001: give 1 to 100000"},
		{Policy{LoginWindow: -2}, "login_window is -2"},
		{Policy{LockoutBudget: 1001}, "lockout_budget is 1001: give 1 to 1000"},
		{Policy{LockoutBudgetWindow: -time.Hour}, "lockout_budget_window_days is -0.041666666666666664: give more than 0"},
		{Policy{SuspendedRevokeAfter: -day}, "suspended_revoke_after_days is -1: give more than 0"},
		{Policy{PhoneCodeValidity: -time.Second}, "phone_code_validity_s is -1: give more than 0"},
		{Policy{DriftTracking: "linear"}, `drift_tracking is "linear": give offset, fixed or rate`},
		{Policy{MaxDriftPPM: -3}, "max_drift_ppm is -3: give more than 0, at most 10000"},
		{Policy{MaxDriftPPM: 20000}, "max_drift_ppm is 20000"},
		{Policy{OperatorName: "Acme\nSupport"}, `operator_name is "Acme\nSupport": give 1 to 64 characters, no control characters`},
		{Policy{PortalName: strings.Repeat("x", 65)}, "portal_name is"},
		{Policy{RevocationReminders: []time.Duration{30 * day, -day}}, "revocation_reminder_days is [30,-1]: give 1 to 10 values, each more than 0"},
		{Policy{RevocationReminders: make([]time.Duration, 11)}, "revocation_reminder_days is"},
		{Policy{MaxPhones: 101}, "max_phones is 101: give 1 to 100"},
		{Policy{ActivationAttempts: -1}, "activation_attempts is -1"},
		{Policy{PasswordCost: 3}, "PasswordCost is 3: give 4 to 20"},
		{Policy{PasswordCost: 31}, "PasswordCost is 31"},
		// Settings that contradict each other.
		{Policy{SyncWindow: 5, LoginWindow: 6}, "login_window (6) is wider than sync_window (5)"},
		{Policy{SyncWindow: 5}, "max_login_window (10) must lie from login_window (1) to sync_window (5)"},
		{Policy{LoginWindow: 3, MaxLoginWindow: 2}, "max_login_window (2) must lie from login_window (3) to sync_window (1000)"},
		{Policy{SyncWindow: 10, HOTPLookAhead: 11}, "hotp_look_ahead (11) is wider than sync_window (10)"},
	} {
		err := c.p.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want %q", c.p, err, c.want)
		}
	}
	// Every problem at once.
	err := Policy{LockoutThreshold: -1, MaxPhones: -1}.Validate()
	if err == nil || !strings.Contains(err.Error(), "lockout_threshold is -1") || !strings.Contains(err.Error(), "max_phones is -1") {
		t.Errorf("two bad settings: %v", err)
	}
}

// TestEveryRuleRefusesTheDefaultMarker: a zero value means "the default" in
// a Policy, so a policy file that writes one meant something else. Each
// setting's rule refuses its zero, a flag's excepted (false is a value and
// the default), and admits its default.
func TestEveryRuleRefusesTheDefaultMarker(t *testing.T) {
	for _, s := range PolicySettings() {
		if s.Allowed == "" {
			t.Errorf("%s: no Allowed", s.Field)
		}
		err := s.check(Policy{})
		flag := reflect.ValueOf(Policy{}).FieldByName(s.Field).Kind() == reflect.Bool
		if flag != (err == nil) {
			t.Errorf("%s: its rule on the zero value says %v", s.Field, err)
		}
		if err := s.check(DefaultPolicy()); err != nil {
			t.Errorf("%s: the default is refused: %v", s.Field, err)
		}
	}
}

func TestParsePolicy(t *testing.T) {
	p, err := ParsePolicy([]byte(`{"lockout_threshold": 3}`))
	if err != nil || !reflect.DeepEqual(p, Policy{LockoutThreshold: 3}) {
		t.Fatalf("a partial file: %+v, %v; want that field and zero (the defaults) for the rest", p, err)
	}
	p, err = ParsePolicy([]byte(` {} `))
	if err != nil || !reflect.DeepEqual(p, Policy{}) {
		t.Fatalf("an empty object: %+v, %v", p, err)
	}
	p, err = ParsePolicy([]byte(`{"approval_required": true, "expired_revoke_after_days": 59, "operator_name": "Acme", "portal_name": "Gate", "max_phones": 5}`))
	if want := (Policy{ApprovalRequired: true, ExpiredRevokeAfter: 59 * day, OperatorName: "Acme", PortalName: "Gate", MaxPhones: 5}); err != nil || !reflect.DeepEqual(p, want) {
		t.Fatalf("got %+v, %v; want %+v", p, err, want)
	}

	for _, c := range []struct{ doc, want string }{
		{`{"lockout_treshold": 3}`, "lockout_treshold is not a policy setting: did you mean lockout_threshold?"},
		{`{"Lockout_Threshold": 3}`, "Lockout_Threshold is not a policy setting: did you mean lockout_threshold?"},
		{`{"password_cost": 4}`, "password_cost is not a policy setting"},
		{`{"colour": "blue"}`, "colour is not a policy setting: the settings are the keys of GET /v1/policy"},
		{`{"lockout_threshold": "3"}`, `lockout_threshold: want a whole number, not "3"`},
		{`{"lockout_threshold": 2.5}`, `lockout_threshold: want a whole number, not 2.5`},
		{`{"approval_required": "yes"}`, `approval_required: want true or false, not "yes"`},
		{`{"validity_days": "365"}`, `validity_days: want a number of days, not "365"`},
		{`{"phone_code_validity_s": true}`, `phone_code_validity_s: want a number of seconds, not true`},
		{`{"revocation_reminder_days": [30, "15"]}`, `revocation_reminder_days: want a list of numbers of days, not [30, "15"]`},
		{`{"operator_name": 7}`, `operator_name: want a string, not 7`},
		{`{"validity_days": 1e300}`, `validity_days: 1e+300 is out of range`},
		{`{"lockout_threshold": 0}`, "lockout_threshold is 0: give 1 to 1000000, or leave it out for the default (5 codes)"},
		{`{"sync_window": -5}`, "sync_window is -5: give 1 to 100000"},
		{`{"login_window": 0}`, "login_window is 0"},
		{`{"suspended_revoke_after_days": 0}`, "suspended_revoke_after_days is 0: give more than 0, or leave it out for the default (60 days)"},
		{`{"validity_days": 1e-12}`, "validity_days is 0: give more than 0"}, // less than the microsecond days are read to
		{`{"audit_max_entries": 0}`, "audit_max_entries is 0: give a value other than 0 (negative: no limit)"},
		{`{"operator_name": ""}`, `operator_name is "": give 1 to 64 characters`},
		{`{"revocation_reminder_days": []}`, "revocation_reminder_days is null: give 1 to 10 values"},
		{`{"drift_tracking": "linear"}`, `drift_tracking is "linear": give offset, fixed or rate`},
		{`{"lockout_threshold": null}`, "lockout_threshold is null: give 1 to 1000000, or leave it out for the default (5 codes)"},
		{`{"lockout_threshold": 3, "lockout_threshold": 4}`, `key "lockout_threshold" appears twice`},
		{`{"lockout_threshold": 3, "LOCKOUT_THRESHOLD": 4}`, `keys "lockout_threshold" and "LOCKOUT_THRESHOLD" are the same field`},
		{`{"sync_window": 5, "login_window": 6}`, "login_window (6) is wider than sync_window (5)"},
		{"{\n  \"lockout_threshold\": 3,\n}", "line 3, column 1"},
		{`{"lockout_threshold": 3} {}`, "line 1, column 26"},
		{``, `the policy is empty: write a JSON object of settings, e.g. {"lockout_threshold": 3}`},
		{`null`, `a policy is a JSON object`},
		{`[]`, `a policy is a JSON object`},
		{`"lockout_threshold"`, `a policy is a JSON object`},
	} {
		p, err := ParsePolicy([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParsePolicy(%s) = %+v, %v; want an error with %q", c.doc, p, err, c.want)
		}
	}
	// Every problem at once, each naming its key.
	_, err = ParsePolicy([]byte(`{"lockout_treshold": 3, "max_phones": 0, "approval_required": 1}`))
	for _, want := range []string{"lockout_treshold", "max_phones is 0", "approval_required: want true or false"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("three mistakes: %v; want %q among them", err, want)
		}
	}
}

// TestParsePolicyReadsWhatGETPrints: GET /v1/policy's document, saved,
// edited and read back, is the policy it shows; and read back unedited it
// prints the same bytes (curl …/v1/policy > p.json; serve --policy p.json).
func TestParsePolicyReadsWhatGETPrints(t *testing.T) {
	for name, p := range map[string]Policy{"defaults": DefaultPolicy(), "every field changed": everyFieldChanged().withDefaults()} {
		printed, err := json.MarshalIndent(p.Document(), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParsePolicy(printed)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, printed)
		}
		want := p
		want.PasswordCost = 0 // not in the document
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read back\n got %+v\nwant %+v", name, got, want)
		}
		again, _ := json.MarshalIndent(got.withDefaults().Document(), "", "  ")
		if string(again) != string(printed) {
			t.Errorf("%s: printed back\n%s\nwant\n%s", name, again, printed)
		}
	}
	// Numbers a person writes print back as written.
	for _, v := range []string{"0.5", "0.1", "0.3", "1.1", "2.7", "59.5", "365.25", "0.001", "1000.123"} {
		doc := `{"validity_days": ` + v + `, "lockout_budget_window_days": ` + v + `, "phone_code_validity_s": ` + v + `}`
		p, err := ParsePolicy([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		d := p.Document()
		for _, k := range []string{"validity_days", "lockout_budget_window_days", "phone_code_validity_s"} {
			if got := formatFloat(d[k].(float64)); got != v {
				t.Errorf("%s: %s prints back as %s", k, v, got)
			}
		}
	}
}
