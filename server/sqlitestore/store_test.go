package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
)

// at is a UTC time with nanoseconds, minutes after a fixed instant.
func at(minutes int) time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC).Add(time.Duration(minutes) * time.Minute)
}

func openTest(t *testing.T) *Store {
	t.Helper()
	return openTestIn(t, t.TempDir())
}

// openTestIn opens the store in dir, closed at the test's end.
func openTestIn(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func update(t *testing.T, s *Store, fn func(server.Tx) error) {
	t.Helper()
	if err := s.Update(context.Background(), fn); err != nil {
		t.Fatalf("update: %v", err)
	}
}

func view(t *testing.T, s *Store, fn func(server.Tx) error) {
	t.Helper()
	if err := s.View(context.Background(), fn); err != nil {
		t.Fatalf("view: %v", err)
	}
}

func fullAccount() server.Account {
	return server.Account{
		UserID: "u1", Email: "ada@example.org", FirstName: "Ada", MiddleName: "K", LastName: "Lovelace",
		Organization: "Analytical", Role: server.RoleOrgAdmin, PasswordHash: []byte{0, 1, 2, 255},
		TemporaryPassword: true, RememberToken: true, Proofed: true,
		Proofing: &server.Proofing{Outcome: "postal", CodeHash: []byte("hash"), At: at(1)},
		Phones: []server.Phone{
			{Number: "+15550100", Method: "text", CodeHash: []byte{9, 8}, CodeExpires: at(2), AddedAt: at(3)},
			{Number: "+15550101", Method: "voice", AddedAt: at(4)},
		},
		ParentID: "u0", CreatedAt: at(0),
	}
}

func fullToken(serial string) server.Token {
	return server.Token{
		Serial: serial, Manufacturer: "acme", Kind: oath.HOTP, Algorithm: oath.SHA256, Digits: 8, PeriodS: 30,
		SealedSecret: []byte{0, 0xff, 0x10, 7}, Status: server.StatusSuspended, Locked: true,
		SuspendedBy: "admin", SuspendedAt: at(10), OwnerID: "u1", Level: 3,
		FailCount: 2, ActivationFailures: 1, ResyncFailures: 4, Blocked: true, DriftSteps: -3, LastStep: 123456,
		ImportedAt: at(0), PurchasedAt: at(1), ActivatedAt: at(2), LastUsedAt: at(3), ExpiresAt: at(4),
		RevokedAt: at(5), RevokedBy: "root", Reminders: []string{"r1", "r2"}, NextEventAt: at(60),
	}
}

func TestRoundTrip(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		name string
		put  func(server.Tx) error
		get  func(server.Tx) (any, error)
		want any
	}{
		{
			name: "account",
			put:  func(tx server.Tx) error { return tx.PutAccount(fullAccount()) },
			get:  func(tx server.Tx) (any, error) { return tx.Account("u1") },
			want: fullAccount(),
		},
		{
			name: "minimal account",
			put:  func(tx server.Tx) error { return tx.PutAccount(server.Account{UserID: "u2"}) },
			get:  func(tx server.Tx) (any, error) { return tx.Account("u2") },
			want: server.Account{UserID: "u2"},
		},
		{
			name: "token",
			put:  func(tx server.Tx) error { return tx.PutToken(fullToken("T1")) },
			get:  func(tx server.Tx) (any, error) { return tx.Token("T1") },
			want: fullToken("T1"),
		},
		{
			name: "minimal token",
			put:  func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "T0", LastStep: -1}) },
			get:  func(tx server.Tx) (any, error) { return tx.Token("T0") },
			want: server.Token{Serial: "T0", LastStep: -1},
		},
		{
			name: "sponsorship",
			put: func(tx server.Tx) error {
				return tx.PutSponsorship(server.Sponsorship{UserID: "u1", Serial: "T1", ActivateBy: at(9),
					ApplicationID: "app", Level: 2, CreatedAt: at(1), Used: true})
			},
			get: func(tx server.Tx) (any, error) { return tx.Sponsorship("u1", "T1") },
			want: server.Sponsorship{UserID: "u1", Serial: "T1", ActivateBy: at(9),
				ApplicationID: "app", Level: 2, CreatedAt: at(1), Used: true},
		},
		{
			name: "licence key",
			put: func(tx server.Tx) error {
				return tx.PutLicenceKey(server.LicenceKey{Key: "K-1", Serial: "T1", Level: 3,
					PurchasedAt: at(1), RedeemedBy: "u1", RedeemedAt: at(2)})
			},
			get: func(tx server.Tx) (any, error) { return tx.LicenceKey("K-1") },
			want: server.LicenceKey{Key: "K-1", Serial: "T1", Level: 3,
				PurchasedAt: at(1), RedeemedBy: "u1", RedeemedAt: at(2)},
		},
		{
			name: "application",
			put: func(tx server.Tx) error {
				return tx.PutApplication(server.Application{ID: "app", Name: "App",
					MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 3}, Terms: "be nice"})
			},
			get: func(tx server.Tx) (any, error) { return tx.Application("app") },
			want: server.Application{ID: "app", Name: "App",
				MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 3}, Terms: "be nice"},
		},
		{
			name: "session",
			put: func(tx server.Tx) error {
				return tx.PutSession(server.Session{ID: "s1", UserID: "u1",
					Strength: server.Strength{Credential: server.CredentialPhoneOTP, Level: 2}, CreatedAt: at(1), EndedAt: at(2)})
			},
			get: func(tx server.Tx) (any, error) { return tx.Session("s1") },
			want: server.Session{ID: "s1", UserID: "u1",
				Strength: server.Strength{Credential: server.CredentialPhoneOTP, Level: 2}, CreatedAt: at(1), EndedAt: at(2)},
		},
		{
			name: "terms",
			put:  func(tx server.Tx) error { return tx.AcceptTerms("u1", "app", at(1)) },
			get:  func(tx server.Tx) (any, error) { return tx.TermsAccepted("u1", "app") },
			want: true,
		},
		{
			name: "notification",
			put: func(tx server.Tx) error {
				_, err := tx.AddNotification(server.Notification{ID: 99, UserID: "u9", Recipient: "a@b", Kind: "reminder",
					Subject: "Hi", Body: "line 1\nline 2 ünïcode", CreatedAt: at(1)})
				return err
			},
			get: func(tx server.Tx) (any, error) { return tx.Notifications("u9") },
			want: []server.Notification{{ID: 1, UserID: "u9", Recipient: "a@b", Kind: "reminder",
				Subject: "Hi", Body: "line 1\nline 2 ünïcode", CreatedAt: at(1)}},
		},
		{
			name: "audit entry",
			put: func(tx server.Tx) error {
				_, err := tx.AddAudit(server.AuditEntry{At: at(1), Actor: "admin", Action: "revoke", Target: "T9",
					Outcome: "ok", Detail: "lost"})
				return err
			},
			get: func(tx server.Tx) (any, error) { return tx.Audit("T9", 0) },
			want: []server.AuditEntry{{ID: 1, At: at(1), Actor: "admin", Action: "revoke", Target: "T9",
				Outcome: "ok", Detail: "lost"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			update(t, s, tt.put)
			// Both from a View and from inside an Update.
			for _, run := range []func(context.Context, func(server.Tx) error) error{s.View, s.Update} {
				var got any
				err := run(context.Background(), func(tx server.Tx) error {
					var err error
					got, err = tt.get(tx)
					return err
				})
				if err != nil {
					t.Fatalf("get: %v", err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got  %+v\nwant %+v", got, tt.want)
				}
			}
		})
	}
}

func TestTimesStoredInUTC(t *testing.T) {
	s := openTest(t)
	zone := time.FixedZone("X", 5*3600+30*60)
	local := at(0).In(zone)
	acc := server.Account{UserID: "u1", CreatedAt: local, Phones: []server.Phone{{Number: "1", AddedAt: local}},
		Proofing: &server.Proofing{At: local}}
	update(t, s, func(tx server.Tx) error { return tx.PutAccount(acc) })
	if acc.Phones[0].AddedAt.Location() != zone || acc.Proofing.At.Location() != zone {
		t.Fatalf("put changed the caller's account")
	}
	var got server.Account
	view(t, s, func(tx server.Tx) (err error) { got, err = tx.Account("u1"); return err })
	for _, tm := range []time.Time{got.CreatedAt, got.Phones[0].AddedAt, got.Proofing.At} {
		if tm.Location() != time.UTC || !tm.Equal(local) {
			t.Errorf("got time %v, want %v in UTC", tm, local)
		}
	}
	var data string
	if err := s.r.QueryRow(`SELECT data FROM accounts`).Scan(&data); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(data, "+05:30") || !strings.Contains(data, `"created_at":"2025-03-14T15:09:26.535897932Z"`) {
		t.Errorf("stored JSON not in UTC: %s", data)
	}
}

// TestPutTokenKeepsColumnsWithRecord: a put that leaves the indexed columns
// as they are changes only the data (the login path); one that changes any
// of them — a NULL next event included — must move the row in its index.
func TestPutTokenKeepsColumnsWithRecord(t *testing.T) {
	s := openTest(t)
	k := server.Token{Serial: "T1", OwnerID: "u1", Status: server.StatusActive, NextEventAt: at(10), LastStep: 1}
	steps := []struct {
		name   string
		change func(*server.Token)
	}{
		{"data only", func(k *server.Token) { k.LastStep = 2 }},
		{"owner", func(k *server.Token) { k.OwnerID = "u2" }},
		{"status", func(k *server.Token) { k.Status = server.StatusSuspended }},
		{"next event cleared", func(k *server.Token) { k.NextEventAt = time.Time{} }},
		{"data only, no next event", func(k *server.Token) { k.LastStep = 3 }},
		{"next event set", func(k *server.Token) { k.NextEventAt = at(20) }},
		{"owner cleared", func(k *server.Token) { k.OwnerID = "" }},
	}
	update(t, s, func(tx server.Tx) error { return tx.PutToken(k) })
	for _, st := range steps {
		st.change(&k)
		update(t, s, func(tx server.Tx) error { return tx.PutToken(k) })
		var owner sql.NullString
		var status string
		var next sql.NullInt64
		if err := s.r.QueryRow(`SELECT owner_id, status, next_event_at FROM tokens WHERE serial = 'T1'`).Scan(&owner, &status, &next); err != nil {
			t.Fatal(err)
		}
		if owner.String != k.OwnerID || status != string(k.Status) || next.Valid != !k.NextEventAt.IsZero() || next.Valid && next.Int64 != k.NextEventAt.UnixNano() {
			t.Errorf("%s: columns %v %q %v, want %q %q %v", st.name, owner, status, next, k.OwnerID, k.Status, k.NextEventAt)
		}
		view(t, s, func(tx server.Tx) error {
			got, err := tx.Token("T1")
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(got, k) {
				t.Errorf("%s: got %+v, want %+v", st.name, got, k)
			}
			return nil
		})
	}
}

func TestUpsertReplaces(t *testing.T) {
	s := openTest(t)
	first := fullToken("T1")
	second := server.Token{Serial: "T1", OwnerID: "u2", Status: server.StatusActive, LastStep: 7}
	update(t, s, func(tx server.Tx) error { return tx.PutToken(first) })
	update(t, s, func(tx server.Tx) error { return tx.PutToken(second) })
	view(t, s, func(tx server.Tx) error {
		got, err := tx.Token("T1")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, second) {
			t.Errorf("got %+v, want %+v", got, second)
		}
		// The indexed columns follow the record.
		for _, f := range []server.TokenFilter{{OwnerID: "u1"}, {Status: server.StatusSuspended}} {
			if ks, err := tx.Tokens(f); err != nil || len(ks) != 0 {
				t.Errorf("tokens %+v: got %d tokens, %v; want none", f, len(ks), err)
			}
		}
		if ks, err := tx.Tokens(server.TokenFilter{OwnerID: "u2", Status: server.StatusActive}); err != nil || len(ks) != 1 {
			t.Errorf("tokens of u2: got %d tokens, %v; want 1", len(ks), err)
		}
		if ks, err := tx.TokensDue(at(1000)); err != nil || len(ks) != 0 {
			t.Errorf("tokens due: got %d tokens, %v; want none", len(ks), err)
		}
		return nil
	})
	var next sql.NullInt64
	if err := s.r.QueryRow(`SELECT next_event_at FROM tokens WHERE serial = 'T1'`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	if next.Valid {
		t.Errorf("zero next event stored as %d, want NULL", next.Int64)
	}

	update(t, s, func(tx server.Tx) error {
		if err := tx.PutAccount(server.Account{UserID: "u1", Email: "old"}); err != nil {
			return err
		}
		return tx.PutAccount(server.Account{UserID: "u1", Email: "new"})
	})
	update(t, s, func(tx server.Tx) error {
		return tx.PutSession(server.Session{ID: "s1", UserID: "u1", CreatedAt: at(0)})
	})
	update(t, s, func(tx server.Tx) error {
		return tx.PutSession(server.Session{ID: "s1", UserID: "u1", CreatedAt: at(0), EndedAt: at(5)})
	})
	view(t, s, func(tx server.Tx) error {
		if a, err := tx.Account("u1"); err != nil || a.Email != "new" {
			t.Errorf("account: got %q, %v; want new", a.Email, err)
		}
		ss, err := tx.Sessions("u1")
		if err != nil || len(ss) != 1 || !ss[0].EndedAt.Equal(at(5)) {
			t.Errorf("sessions: got %+v, %v; want one, ended", ss, err)
		}
		return nil
	})
}

func TestNotFound(t *testing.T) {
	s := openTest(t)
	tests := []struct {
		name string
		get  func(server.Tx) error
	}{
		{"account", func(tx server.Tx) error { _, err := tx.Account("x"); return err }},
		{"token", func(tx server.Tx) error { _, err := tx.Token("x"); return err }},
		{"sponsorship", func(tx server.Tx) error { _, err := tx.Sponsorship("x", "y"); return err }},
		{"licence key", func(tx server.Tx) error { _, err := tx.LicenceKey("x"); return err }},
		{"application", func(tx server.Tx) error { _, err := tx.Application("x"); return err }},
		{"session", func(tx server.Tx) error { _, err := tx.Session("x"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.View(context.Background(), tt.get)
			if !errors.Is(err, server.ErrNoRecord) {
				t.Errorf("got %v, want ErrNoRecord", err)
			}
		})
	}
	view(t, s, func(tx server.Tx) error {
		if ok, err := tx.TermsAccepted("u1", "app"); ok || err != nil {
			t.Errorf("terms accepted: got %v, %v; want false", ok, err)
		}
		return nil
	})
}

func serials(ks []server.Token) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.Serial)
	}
	return out
}

func TestTokens(t *testing.T) {
	s := openTest(t)
	tokens := []server.Token{
		{Serial: "C", OwnerID: "u1", Status: server.StatusActive, NextEventAt: at(10)},
		{Serial: "A", OwnerID: "u1", Status: server.StatusSuspended, NextEventAt: at(5)},
		{Serial: "B", OwnerID: "u2", Status: server.StatusActive, NextEventAt: at(10)},
		{Serial: "D", Status: server.StatusPendingActivation},
		{Serial: "E", Status: server.StatusPendingActivation, NextEventAt: at(-60)},
	}
	update(t, s, func(tx server.Tx) error {
		for _, k := range tokens {
			if err := tx.PutToken(k); err != nil {
				return err
			}
		}
		return nil
	})

	filters := []struct {
		f    server.TokenFilter
		want []string
	}{
		{server.TokenFilter{}, []string{"A", "B", "C", "D", "E"}},
		{server.TokenFilter{OwnerID: "u1"}, []string{"A", "C"}},
		{server.TokenFilter{Status: server.StatusActive}, []string{"B", "C"}},
		{server.TokenFilter{OwnerID: "u1", Status: server.StatusActive}, []string{"C"}},
		{server.TokenFilter{OwnerID: "nobody"}, nil},
	}
	for _, tt := range filters {
		t.Run(fmt.Sprintf("filter %+v", tt.f), func(t *testing.T) {
			view(t, s, func(tx server.Tx) error {
				ks, err := tx.Tokens(tt.f)
				if err != nil {
					return err
				}
				if got := serials(ks); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
				return nil
			})
		})
	}

	due := []struct {
		t    time.Time
		want []string
	}{
		{at(-61), nil},
		{at(-60), []string{"E"}},
		{at(9), []string{"E", "A"}},
		{at(10), []string{"E", "A", "B", "C"}},
		{at(10).In(time.FixedZone("Y", -7*3600)), []string{"E", "A", "B", "C"}},
		{at(100000), []string{"E", "A", "B", "C"}},
	}
	for _, tt := range due {
		t.Run(fmt.Sprintf("due %v", tt.t), func(t *testing.T) {
			view(t, s, func(tx server.Tx) error {
				ks, err := tx.TokensDue(tt.t)
				if err != nil {
					return err
				}
				if got := serials(ks); !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
				return nil
			})
		})
	}
}

func TestLists(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx server.Tx) error {
		for _, a := range []string{"u2", "u1", "u3"} {
			if err := tx.PutAccount(server.Account{UserID: a}); err != nil {
				return err
			}
		}
		for _, id := range []string{"b", "a"} {
			if err := tx.PutApplication(server.Application{ID: id}); err != nil {
				return err
			}
		}
		for _, p := range []server.Sponsorship{{UserID: "u1", Serial: "S2"}, {UserID: "u1", Serial: "S1"}, {UserID: "u2", Serial: "S3"}} {
			if err := tx.PutSponsorship(p); err != nil {
				return err
			}
		}
		// Put out of creation order; ids do not follow it either.
		for _, ss := range []server.Session{
			{ID: "z", UserID: "u1", CreatedAt: at(2)},
			{ID: "y", UserID: "u1", CreatedAt: at(1)},
			{ID: "x", UserID: "u2", CreatedAt: at(0)},
			{ID: "w", UserID: "u1", CreatedAt: at(3)},
		} {
			if err := tx.PutSession(ss); err != nil {
				return err
			}
		}
		return nil
	})
	view(t, s, func(tx server.Tx) error {
		as, err := tx.Accounts()
		if err != nil {
			return err
		}
		var ids []string
		for _, a := range as {
			ids = append(ids, a.UserID)
		}
		if want := []string{"u1", "u2", "u3"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("accounts: got %v, want %v", ids, want)
		}
		apps, err := tx.Applications()
		if err != nil {
			return err
		}
		if len(apps) != 2 || apps[0].ID != "a" || apps[1].ID != "b" {
			t.Errorf("applications: got %+v, want a, b", apps)
		}
		ps, err := tx.Sponsorships("u1")
		if err != nil {
			return err
		}
		if len(ps) != 2 || ps[0].Serial != "S1" || ps[1].Serial != "S2" {
			t.Errorf("sponsorships: got %+v, want S1, S2", ps)
		}
		ss, err := tx.Sessions("u1")
		if err != nil {
			return err
		}
		ids = nil
		for _, x := range ss {
			ids = append(ids, x.ID)
		}
		if want := []string{"y", "z", "w"}; !reflect.DeepEqual(ids, want) {
			t.Errorf("sessions: got %v, want %v (oldest first)", ids, want)
		}
		return nil
	})
}

func TestNotificationsAndAudit(t *testing.T) {
	s := openTest(t)
	var nIDs, aIDs []int64
	users := []string{"u1", "u2", "u1", "u3", "u1"}
	targets := []string{"T1", "T2", "T1", "T1", "T2", "T1"}
	// Several transactions, so that IDs are seen to increase across them.
	for i, u := range users {
		update(t, s, func(tx server.Tx) error {
			id, err := tx.AddNotification(server.Notification{UserID: u, Subject: fmt.Sprint(i), CreatedAt: at(i)})
			nIDs = append(nIDs, id)
			return err
		})
	}
	update(t, s, func(tx server.Tx) error {
		for i, target := range targets {
			id, err := tx.AddAudit(server.AuditEntry{Target: target, Detail: fmt.Sprint(i), At: at(i)})
			if err != nil {
				return err
			}
			aIDs = append(aIDs, id)
		}
		return nil
	})
	for _, ids := range [][]int64{nIDs, aIDs} {
		for i, id := range ids {
			if id != int64(i+1) {
				t.Errorf("ids %v: want 1, 2, 3...", ids)
				break
			}
		}
	}

	notes := []struct {
		user string
		want []int64
	}{
		{"", []int64{1, 2, 3, 4, 5}},
		{"u1", []int64{1, 3, 5}},
		{"u3", []int64{4}},
		{"nobody", nil},
	}
	for _, tt := range notes {
		t.Run("notifications "+tt.user, func(t *testing.T) {
			view(t, s, func(tx server.Tx) error {
				ns, err := tx.Notifications(tt.user)
				if err != nil {
					return err
				}
				var got []int64
				for _, n := range ns {
					got = append(got, n.ID)
					if n.Subject != fmt.Sprint(n.ID-1) {
						t.Errorf("notification %d has subject %q", n.ID, n.Subject)
					}
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got ids %v, want %v", got, tt.want)
				}
				return nil
			})
		})
	}

	audits := []struct {
		target string
		limit  int
		want   []int64
	}{
		{"", 0, []int64{1, 2, 3, 4, 5, 6}},
		{"", -1, []int64{1, 2, 3, 4, 5, 6}},
		{"", 2, []int64{5, 6}},
		{"", 100, []int64{1, 2, 3, 4, 5, 6}},
		{"T1", 0, []int64{1, 3, 4, 6}},
		{"T1", 3, []int64{3, 4, 6}},
		{"T1", 1, []int64{6}},
		{"T2", 5, []int64{2, 5}},
		{"T3", 0, nil},
	}
	for _, tt := range audits {
		t.Run(fmt.Sprintf("audit %q limit %d", tt.target, tt.limit), func(t *testing.T) {
			view(t, s, func(tx server.Tx) error {
				es, err := tx.Audit(tt.target, tt.limit)
				if err != nil {
					return err
				}
				var got []int64
				for _, e := range es {
					got = append(got, e.ID)
					if e.Detail != fmt.Sprint(e.ID-1) || e.Target != targets[e.ID-1] {
						t.Errorf("entry %d is %+v", e.ID, e)
					}
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got ids %v, want %v", got, tt.want)
				}
				return nil
			})
		})
	}
}

var errTest = errors.New("test error")

type testError struct{ code string }

func (e *testError) Error() string { return "test error " + e.code }

func TestUpdateRollsBack(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "T1", LastStep: 1}) })
	change := func(tx server.Tx) error {
		if err := tx.PutToken(server.Token{Serial: "T1", LastStep: 2}); err != nil {
			return err
		}
		if err := tx.PutToken(server.Token{Serial: "T2", LastStep: 2}); err != nil {
			return err
		}
		if _, err := tx.AddAudit(server.AuditEntry{Target: "T1"}); err != nil {
			return err
		}
		return tx.AcceptTerms("u1", "app", at(0))
	}
	wrapped := fmt.Errorf("wrapped: %w", &testError{code: "E42"})
	tests := []struct {
		name string
		fn   func(server.Tx) error
		// check the value Update returned or panicked with.
		check func(t *testing.T, err error, panicked any)
	}{
		{
			name: "error",
			fn: func(tx server.Tx) error {
				if err := change(tx); err != nil {
					return err
				}
				return errTest
			},
			check: func(t *testing.T, err error, panicked any) {
				if err != errTest {
					t.Errorf("got %v, want the error unchanged", err)
				}
			},
		},
		{
			name: "wrapped error",
			fn: func(tx server.Tx) error {
				if err := change(tx); err != nil {
					return err
				}
				return wrapped
			},
			check: func(t *testing.T, err error, panicked any) {
				var te *testError
				if err != wrapped || !errors.As(err, &te) || te.code != "E42" {
					t.Errorf("got %v, want the error unchanged", err)
				}
			},
		},
		{
			name: "panic",
			fn: func(tx server.Tx) error {
				if err := change(tx); err != nil {
					return err
				}
				panic("boom")
			},
			check: func(t *testing.T, err error, panicked any) {
				if panicked != "boom" {
					t.Errorf("got panic %v (error %v), want boom", panicked, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				err = s.Update(context.Background(), tt.fn)
			}()
			tt.check(t, err, panicked)
			view(t, s, func(tx server.Tx) error {
				if k, err := tx.Token("T1"); err != nil || k.LastStep != 1 {
					t.Errorf("token T1: got %+v, %v; want last step 1", k, err)
				}
				if _, err := tx.Token("T2"); !errors.Is(err, server.ErrNoRecord) {
					t.Errorf("token T2: got %v, want not found", err)
				}
				if es, err := tx.Audit("", 0); err != nil || len(es) != 0 {
					t.Errorf("audit: got %v, %v; want none", es, err)
				}
				if ok, err := tx.TermsAccepted("u1", "app"); ok || err != nil {
					t.Errorf("terms: got %v, %v; want not accepted", ok, err)
				}
				return nil
			})
			// The store still works.
			update(t, s, func(tx server.Tx) error { _, err := tx.Token("T1"); return err })
		})
	}
}

func TestViewCannotWrite(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "T1", LastStep: 1}) })
	writes := []struct {
		name string
		fn   func(server.Tx) error
	}{
		{"put token", func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "T1", LastStep: 2}) }},
		{"add audit", func(tx server.Tx) error { _, err := tx.AddAudit(server.AuditEntry{}); return err }},
		{"accept terms", func(tx server.Tx) error { return tx.AcceptTerms("u", "a", at(0)) }},
		{"accept organization terms", func(tx server.Tx) error { return tx.AcceptOrganizationTerms("o", "a", at(0)) }},
	}
	for _, tt := range writes {
		t.Run(tt.name, func(t *testing.T) {
			err := s.View(context.Background(), func(tx server.Tx) error {
				if err := tt.fn(tx); err != nil {
					return err
				}
				return nil // a View that "succeeds" must still not commit
			})
			if err == nil {
				t.Errorf("write in a view succeeded")
			}
		})
	}
	view(t, s, func(tx server.Tx) error {
		if k, err := tx.Token("T1"); err != nil || k.LastStep != 1 {
			t.Errorf("token T1: got %+v, %v; want last step 1", k, err)
		}
		if es, err := tx.Audit("", 0); err != nil || len(es) != 0 {
			t.Errorf("audit: got %v, %v; want none", es, err)
		}
		return nil
	})
	// A View's error is returned unchanged, and a panic goes on.
	if err := s.View(context.Background(), func(server.Tx) error { return errTest }); err != errTest {
		t.Errorf("view: got %v, want the error unchanged", err)
	}
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("view: got panic %v, want boom", r)
			}
		}()
		s.View(context.Background(), func(server.Tx) error { panic("boom") })
	}()
	view(t, s, func(tx server.Tx) error { _, err := tx.Token("T1"); return err })
}

func TestUpdatesAreSerialised(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "T1", LastStep: 0}) })
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			errs <- s.Update(context.Background(), func(tx server.Tx) error {
				k, err := tx.Token("T1")
				if err != nil {
					return err
				}
				start := k.LastStep
				// Read again: another Update must not have slipped in.
				k, err = tx.Token("T1")
				if err != nil {
					return err
				}
				if k.LastStep != start {
					return fmt.Errorf("last step changed from %d to %d", start, k.LastStep)
				}
				k.LastStep++
				return tx.PutToken(k)
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("update: %v", err)
		}
	}
	view(t, s, func(tx server.Tx) error {
		k, err := tx.Token("T1")
		if err != nil {
			return err
		}
		if k.LastStep != n {
			t.Errorf("last step %d, want %d", k.LastStep, n)
		}
		return nil
	})
}

func TestViewDuringUpdate(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "T1", LastStep: 1}) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	viewDone := make(chan error, 1)
	err := s.Update(ctx, func(tx server.Tx) error {
		if err := tx.PutToken(server.Token{Serial: "T1", LastStep: 2}); err != nil {
			return err
		}
		// A View in another goroutine while this Update holds the write
		// lock, and one from inside it: both see the last commit.
		go func() {
			viewDone <- s.View(ctx, func(tx server.Tx) error {
				k, err := tx.Token("T1")
				if err == nil && k.LastStep != 1 {
					err = fmt.Errorf("concurrent view saw last step %d, want 1", k.LastStep)
				}
				return err
			})
		}()
		select {
		case err := <-viewDone:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("concurrent view: %w", ctx.Err())
		}
		return s.View(ctx, func(tx server.Tx) error {
			k, err := tx.Token("T1")
			if err == nil && k.LastStep != 1 {
				err = fmt.Errorf("nested view saw last step %d, want 1", k.LastStep)
			}
			return err
		})
	})
	if err != nil {
		t.Fatalf("update: %v", err)
	}
	if err := s.View(ctx, func(tx server.Tx) error {
		k, err := tx.Token("T1")
		if err == nil && k.LastStep != 2 {
			err = fmt.Errorf("view after commit saw last step %d, want 2", k.LastStep)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestContextCancelled(t *testing.T) {
	s := openTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, run := range map[string]func(context.Context, func(server.Tx) error) error{"update": s.Update, "view": s.View} {
		called := false
		err := run(ctx, func(server.Tx) error { called = true; return nil })
		if !errors.Is(err, context.Canceled) || called {
			t.Errorf("%s: got %v (fn called %v), want context canceled before fn", name, err, called)
		}
	}
	// Cancelled during the Update: nothing is committed.
	ctx, cancel = context.WithCancel(context.Background())
	err := s.Update(ctx, func(tx server.Tx) error {
		if err := tx.PutToken(server.Token{Serial: "T1"}); err != nil {
			return err
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) && !errors.Is(err, sql.ErrTxDone) {
		t.Errorf("update cancelled during fn: got %v, want an error", err)
	}
	view(t, s, func(tx server.Tx) error {
		if _, err := tx.Token("T1"); !errors.Is(err, server.ErrNoRecord) {
			t.Errorf("token after cancelled update: got %v, want not found", err)
		}
		return nil
	})
}

func TestReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "state")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := fullToken("T1")
	update(t, s, func(tx server.Tx) error {
		if err := tx.PutToken(want); err != nil {
			return err
		}
		_, err := tx.AddAudit(server.AuditEntry{Target: "T1"})
		return err
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, check := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700}, {filepath.Join(dir, FileName), 0o600}} {
		fi, err := os.Stat(check.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != check.mode {
			t.Errorf("%s: mode %v, want %v", check.path, fi.Mode().Perm(), check.mode)
		}
	}

	s, err = Open(dir)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	view(t, s, func(tx server.Tx) error {
		got, err := tx.Token("T1")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		return nil
	})
	// IDs go on from where they were.
	update(t, s, func(tx server.Tx) error {
		id, err := tx.AddAudit(server.AuditEntry{Target: "T1"})
		if err == nil && id != 2 {
			t.Errorf("audit id after reopen %d, want 2", id)
		}
		return err
	})
}

func TestSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var version int
	if err := s.w.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != len(migrations) {
		t.Errorf("version %d, want %d", version, len(migrations))
	}
	// Migrating again is a no-op; one more migration is applied.
	if err := migrateTo(context.Background(), s, migrations); err != nil {
		t.Errorf("migrate again: %v", err)
	}
	next := append(migrations[:len(migrations):len(migrations)], `CREATE TABLE extra (x INTEGER)`)
	if err := migrateTo(context.Background(), s, next); err != nil {
		t.Errorf("migrate to next: %v", err)
	}
	if _, err := s.w.Exec(`INSERT INTO extra (x) VALUES (1)`); err != nil {
		t.Errorf("new table: %v", err)
	}
	// The database is now newer than the program: refused, unchanged.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err == nil {
		s.Close()
		t.Fatal("open of a newer database succeeded")
	}
	if want := fmt.Sprintf("version %d", len(next)); !errors.Is(err, ErrSchemaTooNew) || !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want ErrSchemaTooNew naming %s", err, want)
	}
	t.Logf("error: %v", err)

	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName)))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(dir); !errors.Is(err, ErrSchemaTooNew) {
		if err == nil {
			s.Close()
		}
		t.Errorf("open of version 99: got %v, want ErrSchemaTooNew", err)
	}
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != 99 {
		t.Errorf("version after refused open: %d, %v; want 99", version, err)
	}
}

func TestPragmas(t *testing.T) {
	s := openTest(t)
	want := map[string]string{"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000"}
	for name, db := range map[string]*sql.DB{"write": s.w, "read": s.r} {
		for p, v := range want {
			var got string
			if err := db.QueryRow("PRAGMA " + p).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != v {
				t.Errorf("%s pool: %s = %s, want %s", name, p, got, v)
			}
		}
	}
	var q string
	if err := s.r.QueryRow("PRAGMA query_only").Scan(&q); err != nil || q != "1" {
		t.Errorf("read pool: query_only = %s, %v; want 1", q, err)
	}
}

func TestPathNeedingEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	update(t, s, func(tx server.Tx) error { return tx.PutAccount(server.Account{UserID: "u1"}) })
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Errorf("database not at its path: %v", err)
	}
}

// TestGroupCommitIsolatesEachUpdate: Updates queued behind a running one
// are committed together, yet each keeps its own outcome: a failing one and
// a panicking one leave nothing, the others all land, in order.
func TestGroupCommitIsolatesEachUpdate(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	hold, held := make(chan struct{}), make(chan struct{})
	go func() {
		_ = s.Update(ctx, func(tx server.Tx) error {
			close(held)
			<-hold // the committer is busy: the Updates below queue up
			return tx.PutToken(server.Token{Serial: "FIRST"})
		})
	}()
	<-held
	const n = 20
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = s.Update(ctx, func(tx server.Tx) error {
				if err := tx.PutToken(server.Token{Serial: fmt.Sprintf("T%02d", i)}); err != nil {
					return err
				}
				switch i {
				case 5:
					return errors.New("refused")
				case 9:
					panic("boom")
				}
				return nil
			})
		})
	}
	// Let every Update reach the queue before the first one commits.
	for len(s.queue) < n {
		runtime.Gosched()
	}
	close(hold)
	wg.Wait()
	for i := range n {
		switch i {
		case 5:
			if errs[i] == nil || errs[i].Error() != "refused" {
				t.Errorf("update 5: %v", errs[i])
			}
		case 9:
			if panics[i] != "boom" {
				t.Errorf("update 9 did not re-panic in its caller: %v", panics[i])
			}
		default:
			if errs[i] != nil || panics[i] != nil {
				t.Errorf("update %d: %v %v", i, errs[i], panics[i])
			}
		}
	}
	view(t, s, func(tx server.Tx) error {
		for i := range n {
			_, err := tx.Token(fmt.Sprintf("T%02d", i))
			if (i == 5 || i == 9) != errors.Is(err, server.ErrNoRecord) {
				t.Errorf("token T%02d: %v", i, err)
			}
		}
		_, err := tx.Token("FIRST")
		return err
	})
}

// The writer's statements are prepared after their first commit and reused
// from then on, including the savepoint statements, and a rollback after a
// failure still works with prepared statements.
func TestStatementsArePreparedAndReused(t *testing.T) {
	s := openTest(t)
	update(t, s, func(tx server.Tx) error { return tx.PutAccount(server.Account{UserID: "u1", CreatedAt: at(0)}) })
	s.Update(context.Background(), func(server.Tx) error { return nil }) // the committer prepares after each commit
	for _, q := range []string{"SAVEPOINT u", "RELEASE u"} {
		if s.wStmts.ready[q] == nil {
			t.Errorf("%q not prepared after a commit", q)
		}
	}
	prepared := len(s.wStmts.ready)
	for i := range 3 {
		update(t, s, func(tx server.Tx) error {
			return tx.PutAccount(server.Account{UserID: "u1", CreatedAt: at(i)})
		})
		err := s.Update(context.Background(), func(tx server.Tx) error {
			if err := tx.PutAccount(server.Account{UserID: "u1", CreatedAt: at(3600)}); err != nil {
				return err
			}
			return errors.New("refused")
		})
		if err == nil || err.Error() != "refused" {
			t.Fatalf("update: %v, want refused", err)
		}
	}
	var got server.Account
	view(t, s, func(tx server.Tx) (err error) { got, err = tx.Account("u1"); return err })
	if !got.CreatedAt.Equal(at(2)) {
		t.Errorf("created_at %v, want %v: the refused updates were not rolled back", got.CreatedAt, at(2))
	}
	if s.wStmts.ready["ROLLBACK TO u"] == nil {
		t.Errorf("ROLLBACK TO not prepared")
	}
	if n := len(s.wStmts.ready); n != prepared+1 {
		t.Errorf("%d statements prepared, want %d: the same queries were prepared again", n, prepared+1)
	}

	// Within a transaction a statement is bound to it once. (The function
	// runs on the committer, the cache's one user.)
	update(t, s, func(tx server.Tx) error {
		if err := tx.PutAccount(server.Account{UserID: "u2"}); err != nil {
			return err
		}
		n := len(s.wStmts.bound)
		first := maps.Clone(s.wStmts.bound)
		if err := tx.PutAccount(server.Account{UserID: "u3"}); err != nil {
			return err
		}
		if len(s.wStmts.bound) != n || !maps.Equal(first, s.wStmts.bound) {
			t.Errorf("the same statements were bound again: %d, then %d", n, len(s.wStmts.bound))
		}
		if n == 0 {
			t.Errorf("no statement bound to the transaction")
		}
		return nil
	})
}
