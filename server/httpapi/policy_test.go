package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/httpapi"
	"github.com/tokenlab/tokenlab/server/servertest"
)

// legacyPolicyDocument is the map the policy handler built by hand before
// server.Policy.Document, with the keys added since: GET /v1/policy must
// serve the same JSON. Days are the float64 nearest the exact number of
// days, as the document writes them since it reads back policy files (the
// handler's d.Hours()/24 was off in the last bit for 45 days 7 minutes).
func legacyPolicyDocument(p server.Policy) map[string]any {
	days := func(d time.Duration) float64 {
		f, _ := new(big.Rat).SetFrac64(int64(d), int64(24*time.Hour)).Float64()
		return f
	}
	var reminders []float64
	for _, d := range p.RevocationReminders {
		reminders = append(reminders, days(d))
	}
	return map[string]any{
		"operator_name": p.OperatorName, "portal_name": p.PortalName, "sync_window": p.SyncWindow, "login_window": p.LoginWindow,
		"drift_tracking": p.DriftTracking, "max_drift_ppm": p.MaxDriftPPM, "max_login_window": p.MaxLoginWindow,
		"hotp_look_ahead": p.HOTPLookAhead, "lockout_threshold": p.LockoutThreshold,
		"lockout_budget": p.LockoutBudget, "lockout_budget_window_days": days(p.LockoutBudgetWindow), "activation_attempts": p.ActivationAttempts,
		"resync_attempts": p.ResyncAttempts, "validity_days": days(p.Validity), "expiry_reminder_days": days(p.ExpiryReminder),
		"suspended_revoke_after_days": days(p.SuspendedRevokeAfter), "expired_revoke_after_days": days(p.ExpiredRevokeAfter),
		"revocation_reminder_days": reminders, "approval_required": p.ApprovalRequired, "max_phones": p.MaxPhones,
		"phone_code_validity_s": p.PhoneCodeValidity.Seconds(), "session_idle_timeout_s": p.SessionIdleTimeout.Seconds(),
		"session_max_lifetime_s": p.SessionMaxLifetime.Seconds(),
		// Added since.
		"allow_short_secrets": p.AllowShortSecrets, "audit_retention_days": days(p.AuditRetention),
		"audit_max_entries": p.AuditMaxEntries, "no_next_code_challenge": p.NoNextCodeChallenge,
		"radius_password_and_code": p.RadiusPasswordAndCode, "password_min_length": p.PasswordMinLength,
		"phone_code_attempts": p.PhoneCodeAttempts, "phone_code_sends": p.PhoneCodeSends,
		"phone_code_send_window_s": p.PhoneCodeSendWindow.Seconds(), "phone_validity_days": days(p.PhoneValidity),
		"phone_renewal_window_days": days(p.PhoneRenewalWindow), "phone_change_without_otp": p.PhoneChangeWithoutOTP,
	}
}

// policies are the default policy and one that changes every rule, with
// durations that are not whole days.
var policies = map[string]server.Policy{
	"default": {PasswordCost: 4},
	"changed": {
		OperatorName: "Acme", PortalName: "Gate", SyncWindow: 500, LoginWindow: 2, DriftTracking: server.DriftRate,
		MaxDriftPPM: 7.5, MaxLoginWindow: 4, HOTPLookAhead: 20, LockoutThreshold: 7, LockoutBudget: 12, LockoutBudgetWindow: 36 * time.Hour, ActivationAttempts: 4,
		ResyncAttempts: 6, Validity: 730 * 24 * time.Hour, ExpiryReminder: 45*24*time.Hour + 7*time.Minute,
		SuspendedRevokeAfter: 36 * time.Hour, ExpiredRevokeAfter: 59 * 24 * time.Hour,
		RevocationReminders: []time.Duration{20 * 24 * time.Hour, 10 * 24 * time.Hour, 12*time.Hour + time.Nanosecond},
		ApprovalRequired:    true, MaxPhones: 5, PhoneCodeValidity: 90*time.Second + time.Millisecond,
		SessionIdleTimeout: 30 * time.Minute, SessionMaxLifetime: 8*time.Hour + time.Second, PasswordCost: 4,
		AllowShortSecrets: true, AuditRetention: 90*24*time.Hour + time.Hour, AuditMaxEntries: 5000,
		NoNextCodeChallenge: true, RadiusPasswordAndCode: true, PasswordMinLength: 12,
		PhoneCodeAttempts: 4, PhoneCodeSends: 9, PhoneCodeSendWindow: 20*time.Minute + time.Millisecond,
		PhoneValidity: 90*24*time.Hour + time.Minute, PhoneRenewalWindow: 30 * 24 * time.Hour, PhoneChangeWithoutOTP: true,
	},
}

func TestPolicyDocumentAsBefore(t *testing.T) {
	if got, want := (server.Policy{}).Document(), legacyPolicyDocument(server.Policy{}); !reflect.DeepEqual(got, want) {
		t.Errorf("zero policy: Document\n got %#v\nwant %#v", got, want)
	}
	for name, pol := range policies {
		srv, _ := servertest.New(t, pol)
		p, _ := srv.Policy(context.Background())
		want := legacyPolicyDocument(p)
		if got := p.Document(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Document\n got %#v\nwant %#v", name, got, want)
		}

		ts := httptest.NewServer(httpapi.New(srv, httpapi.Options{AdminToken: adminToken}))
		req, _ := http.NewRequest("GET", ts.URL+"/v1/policy", nil)
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ts.Close()
		var wantBody bytes.Buffer
		enc := json.NewEncoder(&wantBody)
		enc.SetIndent("", "  ")
		if err := enc.Encode(want); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, wantBody.Bytes()) {
			t.Errorf("%s: GET /v1/policy: %s\n%s\nwant\n%s", name, resp.Status, body, wantBody.Bytes())
		}
	}
}
