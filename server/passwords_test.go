package server_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/tokenlab/tokenlab/server"
	"github.com/tokenlab/tokenlab/server/sqlitestore"
)

// inUpdateStore runs every Update's function with a flag raised, so that a
// test can tell whether something runs inside a write transaction.
// Its beforeUpdate, when set, runs once before the next Update, as another
// request would slip in just before it.
type inUpdateStore struct {
	server.Store
	inUpdate     atomic.Int32
	beforeUpdate func()
}

func (s *inUpdateStore) Update(ctx context.Context, fn func(server.Tx) error) error {
	if b := s.beforeUpdate; b != nil {
		s.beforeUpdate = nil
		b()
	}
	return s.Store.Update(ctx, func(tx server.Tx) error {
		s.inUpdate.Add(1)
		defer s.inUpdate.Add(-1)
		return fn(tx)
	})
}

// TestPasswordHashingOutsideWriteTransactions: no flow compares or hashes a
// password inside a write transaction. Every write runs on the store's one
// committer, so a bcrypt there (tens of milliseconds by design) stalls every
// other write: wrong-password logins raised a verification's latency from
// about 2 ms to 255 ms.
func TestPasswordHashingOutsideWriteTransactions(t *testing.T) {
	f, st := newInUpdateFixture(t)
	var err error

	var compares, hashes, inside atomic.Int32
	var where string // the flow running, for the message
	defer server.SetPasswordFuncs(
		func(hash, password []byte) error {
			compares.Add(1)
			if st.inUpdate.Load() > 0 {
				inside.Add(1)
				t.Errorf("%s: a password is compared inside a write transaction", where)
			}
			return bcrypt.CompareHashAndPassword(hash, password)
		},
		func(password []byte, cost int) ([]byte, error) {
			hashes.Add(1)
			if st.inUpdate.Load() > 0 {
				inside.Add(1)
				t.Errorf("%s: a password is hashed inside a write transaction", where)
			}
			return bcrypt.GenerateFromPassword(password, cost)
		})()

	const pw = "correct horse battery"
	where = "activation"
	u, d := f.activeToken()
	where = "login, wrong password"
	_, err = f.srv.Login(f.ctx, u, "wrong password", "")
	f.expectCode(err, server.CodeCredentialsInvalid)
	where = "login, unknown user"
	_, err = f.srv.Login(f.ctx, "nobody", pw, "")
	f.expectCode(err, server.CodeCredentialsInvalid)
	where = "login, password only"
	f.ok(errOf(f.srv.Login(f.ctx, u, pw, "")))
	where = "login with a code"
	f.ok(errOf(f.srv.Login(f.ctx, u, pw, d.code(f.clk.Now()))))
	where = "password change, wrong password"
	f.expectCode(f.srv.ChangePassword(f.ctx, u, "wrong password", "a new password"), server.CodeCredentialsInvalid)
	where = "password change"
	f.ok(f.srv.ChangePassword(f.ctx, u, pw, "a new password"))
	where = "login with a phone"
	f.nextStepOf(d)
	hw, err := f.srv.Login(f.ctx, u, "a new password", d.code(f.clk.Now()))
	f.ok(err)
	f.verifiedPhone(u, "+17035550100", hw.ID) // the account holds a token: adding a phone takes its session
	f.ok(errOf(f.srv.SendPhoneCode(f.ctx, u, "+17035550100")))
	code := f.phoneCode(u, "+17035550100")
	_, err = f.srv.LoginWithPhone(f.ctx, u, "wrong password", "+17035550100", code)
	f.expectCode(err, server.CodeCredentialsInvalid)
	f.ok(errOf(f.srv.LoginWithPhone(f.ctx, u, "a new password", "+17035550100", code)))
	where = "revocation by the user (a temporary password)"
	f.ok(errOf(f.srv.Revoke(f.ctx, server.AsUser(u), d.serial)))
	where = "revocation by an administrator (a temporary password)"
	u2, d2 := f.activeToken()
	f.ok(errOf(f.srv.Revoke(f.ctx, f.admin, d2.serial)))
	if a, err := f.srv.Account(f.ctx, u2); err != nil || !a.TemporaryPassword {
		t.Fatalf("after the revocation: %+v, %v; want a temporary password", a, err)
	}

	// The flows did compare and hash: the test saw them.
	if compares.Load() < 7 || hashes.Load() < 5 {
		t.Errorf("%d comparisons and %d hashes: the flows above make at least 7 and 5", compares.Load(), hashes.Load())
	}
	t.Logf("%d comparisons, %d hashes, %d of them inside a write transaction", compares.Load(), hashes.Load(), inside.Load())
}

// newInUpdateFixture is a fixture whose server runs on an inUpdateStore.
func newInUpdateFixture(t *testing.T) (*fixture, *inUpdateStore) {
	f := newFixture(t, server.Policy{})
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	sqlite, err := sqlitestore.Open(f.dir)
	if err != nil {
		t.Fatal(err)
	}
	st := &inUpdateStore{Store: sqlite}
	if f.srv, err = server.New(server.Config{Store: st, Clock: f.clk, Policy: f.pol, SeedKey: f.key}); err != nil {
		t.Fatal(err)
	}
	return f, st
}

// TestRevocationOfATokenActivatedMeanwhile: a revocation whose first read
// found the token on no account makes no temporary password; when the token
// is activated before the revocation's write transaction, that transaction
// rolls back and runs again with one. The user gets it, and the audit log
// has the revocation once.
func TestRevocationOfATokenActivatedMeanwhile(t *testing.T) {
	f, st := newInUpdateFixture(t)
	u, d := f.user(), f.importToken()
	f.sponsor(u, d.serial)
	c1 := d.code(f.clk.Now())
	f.nextStepOf(d)
	c2 := d.code(f.clk.Now())
	st.beforeUpdate = func() { f.ok(errOf(f.srv.Activate(f.ctx, u, d.serial, c1, c2))) }
	v, err := f.srv.Revoke(f.ctx, f.admin, d.serial)
	f.ok(err)
	if st.beforeUpdate != nil {
		t.Fatal("the activation did not slip in")
	}
	if v.Status != server.StatusRevoked || v.OwnerID != u {
		t.Fatalf("revoked: %+v", v)
	}
	if a, err := f.srv.Account(f.ctx, u); err != nil || !a.TemporaryPassword {
		t.Fatalf("after the revocation: %+v, %v; want a temporary password", a, err)
	}
	var kinds []server.NotificationKind
	for _, n := range f.notifications(u) {
		kinds = append(kinds, n.Kind)
	}
	if want := []server.NotificationKind{"sponsorship", "activation", "revocation_notice", "temporary_password"}; !slices.Equal(kinds, want) {
		t.Errorf("notifications %v, want %v", kinds, want)
	}
	entries, err := f.srv.Audit(f.ctx, d.serial, 0)
	f.ok(err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Outcome)
	}
	if want := []string{"token.sponsor ok", "token.activate ok", "token.revoke ok"}; !slices.Equal(actions, want) {
		t.Errorf("audit %q, want %q", actions, want)
	}
}

// TestUnknownUserLoginComparesAPassword: a login for a user ID that is no
// account compares the password with a hash of the same cost, as one for an
// account does, so the time of the answer does not tell which IDs exist.
func TestUnknownUserLoginComparesAPassword(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	var costs []int
	defer server.SetPasswordFuncs(
		func(hash, password []byte) error {
			c, err := bcrypt.Cost(hash)
			if err != nil {
				t.Errorf("compared with a hash that is not bcrypt: %v", err)
			}
			costs = append(costs, c)
			return bcrypt.CompareHashAndPassword(hash, password)
		},
		bcrypt.GenerateFromPassword)()
	for _, id := range []string{u, "nobody", "nobody-else"} {
		_, err := f.srv.Login(f.ctx, id, "wrong password", "")
		f.expectCode(err, server.CodeCredentialsInvalid)
	}
	if len(costs) != 3 || costs[1] != costs[0] || costs[2] != costs[0] {
		t.Fatalf("bcrypt costs compared for a user, then two unknown IDs: %v; want three of the same", costs)
	}
}

// TestPasswordHashingIsBounded: at most half the processors (at least one)
// compare or make password hashes at once, so that a flood of
// wrong-password logins leaves CPU for the verifications.
func TestPasswordHashingIsBounded(t *testing.T) {
	f := newFixture(t, server.Policy{})
	u := f.user()
	// Each comparison holds its slot until the test lets it go, one at a
	// time: a comparison that starts while another is held shows in
	// running. No clock is involved, only who is inside at once.
	var running, most atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	defer server.SetPasswordFuncs(
		func(hash, password []byte) error {
			n := running.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			entered <- struct{}{}
			<-release
			running.Add(-1)
			return bcrypt.CompareHashAndPassword(hash, password)
		},
		bcrypt.GenerateFromPassword)()
	const logins = 8
	var wg sync.WaitGroup
	for range logins {
		wg.Go(func() {
			_, err := f.srv.Login(f.ctx, u, "wrong password", "")
			if !errors.Is(err, server.ErrCredentialsInvalid) {
				t.Errorf("login: %v", err)
			}
		})
	}
	for range logins {
		<-entered
		release <- struct{}{}
	}
	wg.Wait()
	// Whether 8 unbounded logins would overlap depends on scheduling, so
	// the bound itself is checked too.
	if got, want := server.PasswordSlots(), max(1, runtime.GOMAXPROCS(0)/2); got != want {
		t.Fatalf("%d password slots; want %d (half the processors, at least one)", got, want)
	}
	if limit := int32(max(1, runtime.GOMAXPROCS(0)/2)); most.Load() > limit {
		t.Fatalf("%d password comparisons ran at once; want at most %d", most.Load(), limit)
	}
	t.Logf("at most %d at once", most.Load())
}
