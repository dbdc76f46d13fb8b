package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// testRoundTrip: each kind of record comes back whole, every field, when
// read in the Update that wrote it, in a View and in a later Update.
func (h *harness) testRoundTrip(t *testing.T) {
	var notificationID, auditID int64
	tests := []struct {
		name string
		full any // checked to leave no field zero
		put  func(server.Tx) error
		get  func(server.Tx) (any, error)
		want func() any
	}{
		{
			name: "Account", full: fullAccount("u1"),
			put:  func(tx server.Tx) error { return tx.PutAccount(fullAccount("u1")) },
			get:  func(tx server.Tx) (any, error) { return tx.Account("u1") },
			want: func() any { return fullAccount("u1") },
		},
		{
			name: "MinimalAccount",
			put:  func(tx server.Tx) error { return tx.PutAccount(server.Account{UserID: "u2"}) },
			get:  func(tx server.Tx) (any, error) { return tx.Account("u2") },
			want: func() any { return server.Account{UserID: "u2"} },
		},
		{
			name: "Token", full: fullToken("T1"),
			put:  func(tx server.Tx) error { return tx.PutToken(fullToken("T1")) },
			get:  func(tx server.Tx) (any, error) { return tx.Token("T1") },
			want: func() any { return fullToken("T1") },
		},
		{
			name: "MinimalToken",
			put:  func(tx server.Tx) error { return tx.PutToken(server.Token{Serial: "T0", LastStep: -1}) },
			get:  func(tx server.Tx) (any, error) { return tx.Token("T0") },
			want: func() any { return server.Token{Serial: "T0", LastStep: -1} },
		},
		{
			// Keyed by user and serial: the same serial for two users, two
			// serials for one user.
			name: "Sponsorship", full: fullSponsorship("u1", "T1"),
			put: func(tx server.Tx) error {
				b := fullSponsorship("u2", "T1")
				b.Level, b.Used = 3, false
				c := fullSponsorship("u1", "T2")
				c.ApplicationID = "other"
				return errors.Join(tx.PutSponsorship(fullSponsorship("u1", "T1")), tx.PutSponsorship(b), tx.PutSponsorship(c))
			},
			get: func(tx server.Tx) (any, error) {
				a, err1 := tx.Sponsorship("u1", "T1")
				b, err2 := tx.Sponsorship("u2", "T1")
				c, err3 := tx.Sponsorship("u1", "T2")
				return []server.Sponsorship{a, b, c}, errors.Join(err1, err2, err3)
			},
			want: func() any {
				b := fullSponsorship("u2", "T1")
				b.Level, b.Used = 3, false
				c := fullSponsorship("u1", "T2")
				c.ApplicationID = "other"
				return []server.Sponsorship{fullSponsorship("u1", "T1"), b, c}
			},
		},
		{
			name: "LicenceKey", full: fullLicenceKey("K-1"),
			put:  func(tx server.Tx) error { return tx.PutLicenceKey(fullLicenceKey("K-1")) },
			get:  func(tx server.Tx) (any, error) { return tx.LicenceKey("K-1") },
			want: func() any { return fullLicenceKey("K-1") },
		},
		{
			name: "Application", full: fullApplication("app"),
			put:  func(tx server.Tx) error { return tx.PutApplication(fullApplication("app")) },
			get:  func(tx server.Tx) (any, error) { return tx.Application("app") },
			want: func() any { return fullApplication("app") },
		},
		{
			name: "Session", full: fullSession("s1"),
			put:  func(tx server.Tx) error { return tx.PutSession(fullSession("s1")) },
			get:  func(tx server.Tx) (any, error) { return tx.Session("s1") },
			want: func() any { return fullSession("s1") },
		},
		{
			// Accepted per user and application; accepting again is no error.
			name: "Terms",
			put: func(tx server.Tx) error {
				return errors.Join(tx.AcceptTerms("u1", "app", at(1)), tx.AcceptTerms("u1", "app", at(2)),
					tx.AcceptTerms("u2", "other", at(1)))
			},
			get: func(tx server.Tx) (any, error) {
				var got []bool
				var errs []error
				for _, k := range [][2]string{{"u1", "app"}, {"u1", "other"}, {"u2", "app"}, {"u2", "other"}} {
					ok, err := tx.TermsAccepted(k[0], k[1])
					got, errs = append(got, ok), append(errs, err)
				}
				return got, errors.Join(errs...)
			},
			want: func() any { return []bool{true, false, false, true} },
		},
		{
			// Accepted per organization and application, apart from a
			// user's acceptance of the same names; the names are kept
			// exactly (case, spaces, any Unicode).
			name: "OrganizationTerms",
			put: func(tx server.Tx) error {
				return errors.Join(tx.AcceptOrganizationTerms("Acme", "app", at(1)), tx.AcceptOrganizationTerms("Acme", "app", at(2)),
					tx.AcceptOrganizationTerms("Société Générale", "other", at(1)), tx.AcceptTerms("Initech", "app", at(1)))
			},
			get: func(tx server.Tx) (any, error) {
				var got []bool
				var errs []error
				for _, k := range [][2]string{{"Acme", "app"}, {"acme", "app"}, {"Acme", "other"}, {"Société Générale", "other"}, {"Initech", "app"}} {
					ok, err := tx.OrganizationTermsAccepted(k[0], k[1])
					got, errs = append(got, ok), append(errs, err)
				}
				return got, errors.Join(errs...)
			},
			want: func() any { return []bool{true, false, false, true, false} },
		},
		{
			name: "Notification", full: fullNotification("u9"),
			put: func(tx server.Tx) (err error) {
				notificationID, err = tx.AddNotification(fullNotification("u9"))
				return err
			},
			get: func(tx server.Tx) (any, error) { return tx.Notifications("u9") },
			want: func() any {
				n := fullNotification("u9")
				n.ID = notificationID
				return []server.Notification{n}
			},
		},
		{
			name: "AuditEntry", full: fullAuditEntry("T9"),
			put: func(tx server.Tx) (err error) {
				auditID, err = tx.AddAudit(fullAuditEntry("T9"))
				return err
			},
			get: func(tx server.Tx) (any, error) { return tx.Audit("T9", 0) },
			want: func() any {
				e := fullAuditEntry("T9")
				e.ID = auditID
				return []server.AuditEntry{e}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.full != nil {
				if z := zeroFields(tt.full); len(z) > 0 {
					// ID is the store's to set.
					if z = slices.DeleteFunc(z, func(f string) bool { return f == "ID" }); len(z) > 0 {
						t.Errorf("the suite's full %s leaves %v zero: give them values, so that their round trip is tested", tt.name, z)
					}
				}
			}
			s := h.fresh(t)
			check := func(where string, tx server.Tx) error {
				got, err := tt.get(tx)
				if err != nil {
					return fmt.Errorf("get: %w", err)
				}
				if want := tt.want(); !same(got, want) {
					t.Errorf("%s:\ngot  %+v\nwant %+v", where, got, want)
				}
				return nil
			}
			update(t, s, func(tx server.Tx) error {
				if err := tt.put(tx); err != nil {
					return err
				}
				return check("in the update that wrote it", tx)
			})
			for _, r := range readers(s) {
				if err := r.run(t.Context(), func(tx server.Tx) error { return check("in a later "+r.name, tx) }); err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
			}
		})
	}
}

// testPutReplaces: a Put replaces the whole record, so a field the new
// value leaves zero is gone, and what lists select the record by follows.
func (h *harness) testPutReplaces(t *testing.T) {
	s := h.fresh(t)
	k := server.Token{Serial: "T1", OwnerID: "u2", Status: server.StatusActive, LastStep: 7}
	acc := server.Account{UserID: "u1", Email: "new@example.org"}
	sp := server.Sponsorship{UserID: "u1", Serial: "T1"}
	lk := server.LicenceKey{Key: "K-1", Serial: "T2"}
	app := server.Application{ID: "app", Name: "renamed"}
	ss := server.Session{ID: "s1", UserID: "u2", CreatedAt: at(7)}
	update(t, s, func(tx server.Tx) error {
		return errors.Join(tx.PutToken(fullToken("T1")), tx.PutAccount(fullAccount("u1")),
			tx.PutSponsorship(fullSponsorship("u1", "T1")), tx.PutLicenceKey(fullLicenceKey("K-1")),
			tx.PutApplication(fullApplication("app")), tx.PutSession(fullSession("s1")))
	})
	update(t, s, func(tx server.Tx) error {
		return errors.Join(tx.PutToken(k), tx.PutAccount(acc), tx.PutSponsorship(sp), tx.PutLicenceKey(lk),
			tx.PutApplication(app), tx.PutSession(ss))
	})
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			gotK, err1 := tx.Token("T1")
			gotAcc, err2 := tx.Account("u1")
			gotSp, err3 := tx.Sponsorship("u1", "T1")
			gotLk, err4 := tx.LicenceKey("K-1")
			gotApp, err5 := tx.Application("app")
			gotSs, err6 := tx.Session("s1")
			if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
				return err
			}
			for _, c := range []struct{ got, want any }{{gotK, k}, {gotAcc, acc}, {gotSp, sp}, {gotLk, lk}, {gotApp, app}, {gotSs, ss}} {
				if !same(c.got, c.want) {
					t.Errorf("%s:\ngot  %+v\nwant %+v", r.name, c.got, c.want)
				}
			}
			for _, c := range []struct {
				f    server.TokenFilter
				want []string
			}{
				{server.TokenFilter{OwnerID: "u1"}, []string{}},
				{server.TokenFilter{Status: server.StatusSuspended}, []string{}},
				{server.TokenFilter{OwnerID: "u2"}, []string{"T1"}},
				{server.TokenFilter{OwnerID: "u2", Status: server.StatusActive}, []string{"T1"}},
			} {
				ks, err := tx.Tokens(c.f)
				if err != nil {
					return err
				}
				if got := serials(ks); !slices.Equal(got, c.want) {
					t.Errorf("%s: tokens %+v: got %v, want %v", r.name, c.f, got, c.want)
				}
			}
			if ks, err := tx.TokensDue(at(100000)); err != nil || len(ks) != 0 {
				t.Errorf("%s: tokens due: got %v, %v; want none: the next event was cleared", r.name, serials(ks), err)
			}
			for user, want := range map[string]int{"u1": 0, "u2": 1} {
				if got, err := tx.Sessions(user); err != nil || len(got) != want {
					t.Errorf("%s: sessions of %s: got %+v, %v; want %d", r.name, user, got, err, want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
}

// testCopies: records are values. Changing what was put, or what a read
// returned, changes nothing in the store, even for a store that keeps
// records in memory.
func (h *harness) testCopies(t *testing.T) {
	s := h.fresh(t)
	scribble := func(k *server.Token, acc *server.Account) {
		k.Reminders[0], k.SealedSecret[0] = "scribbled", 42
		acc.Phones[0].Number, acc.Proofing.Outcome, acc.PasswordHash[0] = "scribbled", "scribbled", 42
	}
	check := func(where string, tx server.Tx) error {
		k, err := tx.Token("T1")
		if err != nil {
			return err
		}
		acc, err := tx.Account("u1")
		if err != nil {
			return err
		}
		if !same(k, fullToken("T1")) || !same(acc, fullAccount("u1")) {
			t.Errorf("%s: got token %+v, account %+v; want them as put", where, k, acc)
		}
		scribble(&k, &acc) // the next reads must not see it
		ks, err := tx.Tokens(server.TokenFilter{OwnerID: "u1"})
		if err != nil {
			return err
		}
		if len(ks) != 1 || !same(ks[0], fullToken("T1")) {
			t.Errorf("%s: tokens of u1: got %+v, want T1 as put", where, ks)
		}
		if len(ks) > 0 {
			ks[0].Reminders[0] = "scribbled"
		}
		return nil
	}
	update(t, s, func(tx server.Tx) error {
		k, acc := fullToken("T1"), fullAccount("u1")
		if err := errors.Join(tx.PutToken(k), tx.PutAccount(acc)); err != nil {
			return err
		}
		scribble(&k, &acc)
		return check("in the update that put them", tx)
	})
	for range 2 { // the first reads may fill a cache the second ones use
		for _, r := range readers(s) {
			if err := r.run(t.Context(), func(tx server.Tx) error { return check("in a later "+r.name, tx) }); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
		}
	}
}

// testNotFound: a missing record is server.ErrNoRecord, next to records
// of other keys, and a miss leaves the Update usable.
func (h *harness) testNotFound(t *testing.T) {
	s := h.fresh(t)
	update(t, s, func(tx server.Tx) error {
		return errors.Join(tx.PutAccount(fullAccount("u1")), tx.PutToken(fullToken("T1")),
			tx.PutSponsorship(fullSponsorship("u1", "T1")), tx.PutLicenceKey(fullLicenceKey("K-1")),
			tx.PutApplication(fullApplication("app")), tx.PutSession(fullSession("s1")))
	})
	misses := []struct {
		name string
		get  func(server.Tx) error
	}{
		{"Account", func(tx server.Tx) error { _, err := tx.Account("u2"); return err }},
		{"Token", func(tx server.Tx) error { _, err := tx.Token("T2"); return err }},
		{"SponsorshipOfOtherSerial", func(tx server.Tx) error { _, err := tx.Sponsorship("u1", "T2"); return err }},
		{"SponsorshipOfOtherUser", func(tx server.Tx) error { _, err := tx.Sponsorship("u2", "T1"); return err }},
		{"LicenceKey", func(tx server.Tx) error { _, err := tx.LicenceKey("K-2"); return err }},
		{"Application", func(tx server.Tx) error { _, err := tx.Application("other"); return err }},
		{"Session", func(tx server.Tx) error { _, err := tx.Session("s2"); return err }},
	}
	for _, m := range misses {
		for _, r := range readers(s) {
			var got error
			if err := r.run(t.Context(), func(tx server.Tx) error { got = m.get(tx); return nil }); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if !errors.Is(got, server.ErrNoRecord) {
				t.Errorf("%s of a missing record (%s): got %v, want server.ErrNoRecord", m.name, r.name, got)
			}
		}
	}
	// Empty answers are no error.
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			if ok, err := tx.TermsAccepted("u1", "app"); ok || err != nil {
				t.Errorf("%s: terms never accepted: got %v, %v; want false", r.name, ok, err)
			}
			if ok, err := tx.OrganizationTermsAccepted("Acme", "app"); ok || err != nil {
				t.Errorf("%s: organization terms never accepted: got %v, %v; want false", r.name, ok, err)
			}
			ks, err1 := tx.Tokens(server.TokenFilter{OwnerID: "nobody"})
			ss, err2 := tx.Sessions("nobody")
			ps, err3 := tx.Sponsorships("nobody")
			ns, err4 := tx.Notifications("nobody")
			es, err5 := tx.Audit("nothing", 0)
			if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
				t.Errorf("%s: empty lists: %v", r.name, err)
			}
			if len(ks)+len(ss)+len(ps)+len(ns)+len(es) != 0 {
				t.Errorf("%s: lists of nobody: got %v %v %v %v %v, want all empty", r.name, ks, ss, ps, ns, es)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	// A miss, then a write in the same Update: what the server does to
	// create a record. (On PostgreSQL a failed statement would abort the
	// transaction.)
	update(t, s, func(tx server.Tx) error {
		if _, err := tx.Token("T2"); !errors.Is(err, server.ErrNoRecord) {
			return fmt.Errorf("token T2 before it is put: got %v, want server.ErrNoRecord", err)
		}
		if err := tx.PutToken(server.Token{Serial: "T2", LastStep: -1}); err != nil {
			return fmt.Errorf("put after a miss: %w", err)
		}
		_, err := tx.Token("T2")
		return err
	})
	view(t, s, func(tx server.Tx) error { _, err := tx.Token("T2"); return err })
}

// testLists: the lists without a documented order come in the order the
// server's output follows: accounts and applications by ID, a user's
// sponsorships by serial.
func (h *harness) testLists(t *testing.T) {
	s := h.fresh(t)
	putAll(t, s, server.Tx.PutAccount, server.Account{UserID: "u2"}, server.Account{UserID: "u10"},
		server.Account{UserID: "u1"}, server.Account{UserID: "u3"})
	putAll(t, s, server.Tx.PutApplication, server.Application{ID: "b"}, server.Application{ID: "c"},
		server.Application{ID: "a"})
	putAll(t, s, server.Tx.PutSponsorship, server.Sponsorship{UserID: "u1", Serial: "S2"},
		server.Sponsorship{UserID: "u2", Serial: "S0"}, server.Sponsorship{UserID: "u1", Serial: "S1"},
		server.Sponsorship{UserID: "u1", Serial: "S3"}, server.Sponsorship{UserID: "u3", Serial: "S1"})
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			as, err := tx.Accounts()
			if err != nil {
				return err
			}
			var got []string
			for _, a := range as {
				got = append(got, a.UserID)
			}
			if want := []string{"u1", "u10", "u2", "u3"}; !slices.Equal(got, want) {
				t.Errorf("%s: accounts: got %v, want %v", r.name, got, want)
			}
			apps, err := tx.Applications()
			if err != nil {
				return err
			}
			got = nil
			for _, a := range apps {
				got = append(got, a.ID)
			}
			if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
				t.Errorf("%s: applications: got %v, want %v", r.name, got, want)
			}
			ps, err := tx.Sponsorships("u1")
			if err != nil {
				return err
			}
			got = nil
			for _, p := range ps {
				if p.UserID != "u1" {
					t.Errorf("%s: sponsorships of u1: got one of %s", r.name, p.UserID)
				}
				got = append(got, p.Serial)
			}
			if want := []string{"S1", "S2", "S3"}; !slices.Equal(got, want) {
				t.Errorf("%s: sponsorships of u1: got %v, want %v", r.name, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
}

// tokenFixtures are tokens of two owners, and none, in several statuses,
// put out of serial order.
var tokenFixtures = []server.Token{
	{Serial: "C", OwnerID: "u1", Status: server.StatusActive, NextEventAt: at(10)},
	{Serial: "A", OwnerID: "u1", Status: server.StatusSuspended, NextEventAt: at(5)},
	{Serial: "B", OwnerID: "u2", Status: server.StatusActive, NextEventAt: at(10)},
	{Serial: "D", Status: server.StatusPendingActivation},
	{Serial: "E", Status: server.StatusPendingActivation, NextEventAt: at(-60).In(zone)},
	{Serial: "AA", OwnerID: "u10", Status: server.StatusRevoked},
}

// tokenFilterCases are what Tokens selects from tokenFixtures.
var tokenFilterCases = []struct {
	f    server.TokenFilter
	want []string
}{
	{server.TokenFilter{}, []string{"A", "AA", "B", "C", "D", "E"}},
	{server.TokenFilter{OwnerID: "u1"}, []string{"A", "C"}},
	{server.TokenFilter{OwnerID: "u10"}, []string{"AA"}},
	{server.TokenFilter{Status: server.StatusActive}, []string{"B", "C"}},
	{server.TokenFilter{Status: server.StatusPendingActivation}, []string{"D", "E"}},
	{server.TokenFilter{OwnerID: "u1", Status: server.StatusActive}, []string{"C"}},
	{server.TokenFilter{OwnerID: "u2", Status: server.StatusSuspended}, []string{}},
	{server.TokenFilter{OwnerID: "nobody"}, []string{}},
	{server.TokenFilter{Status: server.StatusExpired}, []string{}},
}

// testTokens: Tokens selects by owner and status, in serial order.
func (h *harness) testTokens(t *testing.T) {
	s := h.fresh(t)
	putAll(t, s, server.Tx.PutToken, tokenFixtures...)
	for _, r := range readers(s) {
		for range 2 { // the first reads may fill a cache the second ones use
			err := r.run(t.Context(), func(tx server.Tx) error {
				for _, c := range tokenFilterCases {
					ks, err := tx.Tokens(c.f)
					if err != nil {
						return err
					}
					if got := serials(ks); !slices.Equal(got, c.want) {
						t.Errorf("%s: tokens %+v: got %v, want %v", r.name, c.f, got, c.want)
					}
					for _, k := range ks {
						if (c.f.OwnerID != "" && k.OwnerID != c.f.OwnerID) || (c.f.Status != "" && k.Status != c.f.Status) {
							t.Errorf("%s: tokens %+v: got %+v", r.name, c.f, k)
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
		}
	}
}

// testTokensOfOwnersInUpdates: within an Update, Tokens follows the
// Update's own writes (a token moving owner or status, a new one), and
// after an Update fails or panics, what it wrote is gone from the lists
// too — for a store that caches an owner's tokens, the case most easily
// got wrong.
func (h *harness) testTokensOfOwnersInUpdates(t *testing.T) {
	s := h.fresh(t)
	putAll(t, s, server.Tx.PutToken, tokenFixtures...)
	expect := func(tx server.Tx, where string, want map[server.TokenFilter][]string) error {
		for f, w := range want {
			ks, err := tx.Tokens(f)
			if err != nil {
				return err
			}
			if got := serials(ks); !slices.Equal(got, w) {
				t.Errorf("%s: tokens %+v: got %v, want %v", where, f, got, w)
			}
		}
		return nil
	}
	u1, u2 := server.TokenFilter{OwnerID: "u1"}, server.TokenFilter{OwnerID: "u2"}
	u3, active := server.TokenFilter{OwnerID: "u3"}, server.TokenFilter{Status: server.StatusActive}
	before := map[server.TokenFilter][]string{u1: {"A", "C"}, u2: {"B"}, u3: {}, active: {"B", "C"}}
	moved := map[server.TokenFilter][]string{u1: {"A"}, u2: {"B", "C"}, u3: {"F"}, active: {"B", "F"}}
	move := func(tx server.Tx) error {
		c, err := tx.Token("C")
		if err != nil {
			return err
		}
		c.OwnerID, c.Status = "u2", server.StatusSuspended
		return errors.Join(tx.PutToken(c), tx.PutToken(server.Token{Serial: "F", OwnerID: "u3", Status: server.StatusActive}))
	}
	update(t, s, func(tx server.Tx) error { return expect(tx, "first update", before) })
	errRefused := errors.New("refused")
	err := s.Update(t.Context(), func(tx server.Tx) error {
		if err := expect(tx, "update before its writes", before); err != nil {
			return err
		}
		if err := move(tx); err != nil {
			return err
		}
		if err := expect(tx, "update after its writes", moved); err != nil {
			return err
		}
		return errRefused
	})
	if !errors.Is(err, errRefused) {
		t.Fatalf("failing update: got %v, want its error", err)
	}
	update(t, s, func(tx server.Tx) error { return expect(tx, "update after a failed one", before) })
	func() {
		defer func() { recover() }()
		s.Update(t.Context(), func(tx server.Tx) error {
			if err := move(tx); err != nil {
				return err
			}
			if err := expect(tx, "update after its writes", moved); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	update(t, s, func(tx server.Tx) error { return expect(tx, "update after a panicking one", before) })
	view(t, s, func(tx server.Tx) error { return expect(tx, "view after a panicking update", before) })
	update(t, s, move)
	update(t, s, func(tx server.Tx) error { return expect(tx, "update after a committed one", moved) })
	view(t, s, func(tx server.Tx) error { return expect(tx, "view after a committed update", moved) })
}

// testTokensDue: TokensDue lists the tokens whose next event is set and
// not after the time, by next event then serial (the order of the sweep,
// and so of its notifications).
func (h *harness) testTokensDue(t *testing.T) {
	s := h.fresh(t)
	putAll(t, s, server.Tx.PutToken, tokenFixtures...)
	cases := []struct {
		t    time.Time
		want []string
	}{
		{at(-61), []string{}},
		{at(-60).Add(-time.Nanosecond), []string{}},
		{at(-60), []string{"E"}},
		{at(9), []string{"E", "A"}},
		{at(10).Add(-time.Nanosecond), []string{"E", "A"}},
		{at(10), []string{"E", "A", "B", "C"}},
		{at(10).In(time.FixedZone("UTC-7", -7*3600)), []string{"E", "A", "B", "C"}},
		{at(1000000), []string{"E", "A", "B", "C"}},
	}
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			for _, c := range cases {
				ks, err := tx.TokensDue(c.t)
				if err != nil {
					return err
				}
				if got := serials(ks); !slices.Equal(got, c.want) {
					t.Errorf("%s: due at %v: got %v, want %v", r.name, c.t, got, c.want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	// In an Update, after its own writes: one event cleared, one moved.
	update(t, s, func(tx server.Tx) error {
		a, err1 := tx.Token("A")
		e, err2 := tx.Token("E")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		a.NextEventAt, e.NextEventAt = time.Time{}, at(11)
		if err := errors.Join(tx.PutToken(a), tx.PutToken(e)); err != nil {
			return err
		}
		ks, err := tx.TokensDue(at(20))
		if err != nil {
			return err
		}
		if got, want := serials(ks), []string{"B", "C", "E"}; !slices.Equal(got, want) {
			t.Errorf("due in the update that changed them: got %v, want %v", got, want)
		}
		return nil
	})
}

// testAccountsDue: AccountsDue lists the accounts whose next event is set
// and not after the time, by next event then user ID, as TokensDue does
// tokens.
func (h *harness) testAccountsDue(t *testing.T) {
	s := h.fresh(t)
	acct := func(id string, next time.Time) server.Account {
		return server.Account{UserID: id, Email: id + "@example.org", NextEventAt: next}
	}
	putAll(t, s, server.Tx.PutAccount, acct("a", at(10)), acct("b", at(5).In(zone)), acct("c", time.Time{}), acct("d", at(10)))
	ids := func(as []server.Account) []string {
		out := []string{}
		for _, a := range as {
			out = append(out, a.UserID)
		}
		return out
	}
	cases := []struct {
		t    time.Time
		want []string
	}{
		{at(5).Add(-time.Nanosecond), []string{}},
		{at(5), []string{"b"}},
		{at(10), []string{"b", "a", "d"}},
		{at(1000000), []string{"b", "a", "d"}},
	}
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			for _, c := range cases {
				as, err := tx.AccountsDue(c.t)
				if err != nil {
					return err
				}
				if got := ids(as); !slices.Equal(got, c.want) {
					t.Errorf("%s: due at %v: got %v, want %v", r.name, c.t, got, c.want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	// In an Update, after its own writes: one event cleared, one moved.
	update(t, s, func(tx server.Tx) error {
		a, err1 := tx.Account("a")
		c, err2 := tx.Account("c")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		a.NextEventAt, c.NextEventAt = time.Time{}, at(1)
		if err := errors.Join(tx.PutAccount(a), tx.PutAccount(c)); err != nil {
			return err
		}
		as, err := tx.AccountsDue(at(20))
		if err != nil {
			return err
		}
		if got, want := ids(as), []string{"c", "b", "d"}; !slices.Equal(got, want) {
			t.Errorf("due in the update that changed them: got %v, want %v", got, want)
		}
		return nil
	})
}

// testSessions: a user's sessions, oldest first whatever the order they
// were put in; ending one keeps its place.
func (h *harness) testSessions(t *testing.T) {
	s := h.fresh(t)
	putAll(t, s, server.Tx.PutSession,
		server.Session{ID: "z", UserID: "u1", CreatedAt: at(2)},
		server.Session{ID: "y", UserID: "u1", CreatedAt: at(1).In(zone)},
		server.Session{ID: "x", UserID: "u2", CreatedAt: at(0)},
		server.Session{ID: "a", UserID: "u1", CreatedAt: at(3)},
		server.Session{ID: "w", UserID: "u1", CreatedAt: at(1).Add(time.Nanosecond)},
	)
	update(t, s, func(tx server.Tx) error {
		y, err := tx.Session("y")
		if err != nil {
			return err
		}
		y.EndedAt = at(5)
		return tx.PutSession(y)
	})
	for _, r := range readers(s) {
		err := r.run(t.Context(), func(tx server.Tx) error {
			ss, err := tx.Sessions("u1")
			if err != nil {
				return err
			}
			var got []string
			for _, x := range ss {
				got = append(got, x.ID)
				if x.UserID != "u1" {
					t.Errorf("%s: sessions of u1: got %+v", r.name, x)
				}
				if x.ID == "y" && !x.EndedAt.Equal(at(5)) {
					t.Errorf("%s: session y: got %+v, want it ended", r.name, x)
				}
			}
			if want := []string{"y", "w", "z", "a"}; !slices.Equal(got, want) {
				t.Errorf("%s: sessions of u1: got %v, want %v (oldest first)", r.name, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
}
