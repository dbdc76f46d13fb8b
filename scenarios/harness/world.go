package harness

import (
	"context"
	"errors"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best unqualified
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/server"
)

// Password is every scenario account's password, but a provisioned user's
// (see World.PasswordOf).
const Password = "scenario password"

// World is what a spec works with: the target, opened afresh for every spec
// of an in-process kind, and helpers that speak the guide's language.
type World struct {
	Kind Kind
	// T is the target, guarded: a method of a role the spec did not
	// declare fails the spec (see Needs).
	T    Target
	Caps Capabilities
	Ctx  context.Context

	// raw is the target unguarded, for the helpers' own machinery (the
	// classical enrolment behind ActiveUser, the policy behind
	// ExpectRefusal), which a spec may use whatever it declared.
	raw Target
	// needs are the roles the running spec declared.
	needs Roles
	// prefix makes this spec's users and serials unique, so specs never
	// collide on a shared (remote) server.
	prefix string
	// passwords are the accounts' passwords where not Password.
	passwords map[string]string
	// fail fails the spec (Ginkgo's Fail; the guard's tests catch it).
	fail func(message string, callerSkip ...int)
}

// NewWorld prepares a World for kind; its BeforeEach skips a spec that
// needs a role the target lacks, with the reason, and opens the target.
func NewWorld(kind Kind) *World {
	w := &World{Kind: kind, fail: Fail}
	BeforeEach(func() {
		w.needs = declared(CurrentSpecReport().Labels())
		if kind.roles != nil {
			w.skipMissing(kind.roles) // before opening a target it will not use
		}
		o, err := kind.open(GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred(), "opening target %s", kind.Name)
		DeferCleanup(o.close)
		w.skipMissing(o.roles)
		w.raw, w.Ctx = o.t, context.Background()
		w.T = &guard{w: w, t: o.t}
		w.Caps = Capabilities{Roles: o.roles, Shared: kind.shared}
		w.prefix = randomWord()
		w.passwords = map[string]string{}
	})
	return w
}

// skipMissing skips the spec when it needs a role that have lacks.
func (w *World) skipMissing(have Roles) {
	var missing []Role
	for _, r := range w.needs {
		if !have.Has(r) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		Skip(w.skipReason(missing))
	}
}

// need fails the spec unless it declared one of roles, for a helper that
// uses them through the unguarded target.
func (w *World) need(helper string, roles ...Role) {
	GinkgoHelper()
	for _, r := range roles {
		if w.needs.Has(r) {
			return
		}
	}
	w.fail(undeclared(helper, roles))
}

// Now is the server's time.
func (w *World) Now() time.Time {
	GinkgoHelper()
	now, err := w.raw.Now(w.Ctx)
	Expect(err).NotTo(HaveOccurred())
	return now
}

// Advance moves the server's clock (and runs its sweep).
func (w *World) Advance(d time.Duration) server.SweepReport {
	GinkgoHelper()
	rep, err := w.T.Advance(w.Ctx, d)
	Expect(err).NotTo(HaveOccurred())
	return rep
}

// WaitForNextCode moves the clock on to the next 30 s step, as a user waits
// for the token to show a new code.
func (w *World) WaitForNextCode() {
	GinkgoHelper()
	w.Advance(30 * time.Second)
}

// Device is a virtual hardware token in the user's hand: an emulator token
// whose true time is the server's clock.
type Device struct {
	*emulator.Token
	w *World
}

// Press presses the button and returns the code shown.
func (d *Device) Press() string {
	GinkgoHelper()
	disp, err := d.Token.Press()
	Expect(err).NotTo(HaveOccurred())
	return disp.Code
}

// PressAt presses the button at a true time off the server's by delta:
// "the code it showed 30 s ago".
func (d *Device) PressAt(delta time.Duration) string {
	GinkgoHelper()
	disp, err := d.Token.PressAt(d.w.Now().Add(delta))
	Expect(err).NotTo(HaveOccurred())
	return disp.Code
}

// TwoConsecutiveCodes is what the guide asks for at activation and resync:
// press, wait for the next code, press again — taken as the code of the
// step before the server's now and the current one, so no time passes.
func (d *Device) TwoConsecutiveCodes() (string, string) {
	GinkgoHelper()
	ds, err := d.Token.PressConsecutive(d.w.Now())
	Expect(err).NotTo(HaveOccurred())
	return ds[0].Code, ds[1].Code
}

// Serial is the number on the back of the device.
func (d *Device) Serial() string { return d.Token.Serial() }

// NewDevice makes a virtual token (TOTP, SHA1, 8 digits, 30 s unless
// edited) and ships its seed to the server's inventory in a PSKC file.
func (w *World) NewDevice(edit ...func(*emulator.Spec)) *Device {
	GinkgoHelper()
	w.need("NewDevice", Activate)
	tok, err := newDevice(w.Ctx, w.raw, edit...)
	Expect(err).NotTo(HaveOccurred())
	return &Device{Token: tok, w: w}
}

// NewUser creates an account (the names may be edited, e.g. to match
// another account for a connection) and returns its user ID.
func (w *World) NewUser(edit ...func(*server.NewAccount)) string {
	GinkgoHelper()
	n := newAccount(w.Unique("u"))
	for _, e := range edit {
		e(&n)
	}
	_, err := w.T.CreateAccount(w.Ctx, Admin, n)
	Expect(err).NotTo(HaveOccurred())
	if n.Password != Password {
		w.passwords[n.UserID] = n.Password
	}
	return n.UserID
}

// Unique is a name no other spec uses, e.g. for a user that does not
// exist.
func (w *World) Unique(prefix string) string {
	return fmt.Sprintf("%s%s-%s", prefix, w.prefix, randomWord())
}

// PasswordOf is the user's account password: a provisioned user's is the
// provisioner's.
func (w *World) PasswordOf(user string) string {
	if p, ok := w.passwords[user]; ok {
		return p
	}
	return Password
}

// Sponsor makes the device the user's to activate.
func (w *World) Sponsor(user string, d *Device, edit ...func(*server.Sponsorship)) {
	GinkgoHelper()
	sp := server.Sponsorship{UserID: user, Serial: d.Serial()}
	for _, e := range edit {
		e(&sp)
	}
	_, err := w.T.Sponsor(w.Ctx, Admin, sp)
	Expect(err).NotTo(HaveOccurred())
}

// Owner is the user who holds the device's token, as an Actor: who acts on
// a token in the guide's flows unless an administrator does. A token nobody
// holds yet gives the zero Actor, which the service refuses (bad_request).
// It reads the token without a role: acting as the owner needs the role of
// the action.
func (w *World) Owner(serial string) server.Actor {
	GinkgoHelper()
	v, err := w.raw.Token(w.Ctx, serial)
	Expect(err).NotTo(HaveOccurred())
	if v.OwnerID == "" {
		return server.Actor{}
	}
	return server.AsUser(v.OwnerID)
}

// Activate registers the device on the user's account with two
// consecutive codes.
func (w *World) Activate(user string, d *Device) (server.TokenView, error) {
	GinkgoHelper()
	c1, c2 := d.TwoConsecutiveCodes()
	return w.T.Activate(w.Ctx, user, d.Serial(), c1, c2)
}

// ActiveUser is a user with an active token who may log in right away with
// the code the token shows (the Provision role). On a target with a
// provisioner it is the provisioner's new user. On a tokenlab target it is
// enrolled the classical way: on a target whose clock moves, activated
// with the last two codes and then a step later (learned drift 0);
// elsewhere activated with the codes of the two steps before now (the
// server then learns a drift of -1 until the first login).
func (w *World) ActiveUser() (string, *Device) {
	GinkgoHelper()
	w.need("ActiveUser", Provision)
	if p, ok := w.raw.(provisioned); ok {
		u, err := p.newUser(w.Ctx)
		Expect(err).NotTo(HaveOccurred())
		if u.Password != Password {
			w.passwords[u.ID] = u.Password
		}
		return u.ID, &Device{Token: u.Token, w: w}
	}
	user := w.Unique("u")
	_, err := w.raw.CreateAccount(w.Ctx, Admin, newAccount(user))
	Expect(err).NotTo(HaveOccurred())
	tok, err := newDevice(w.Ctx, w.raw)
	Expect(err).NotTo(HaveOccurred())
	Expect(enrol(w.Ctx, w.raw, w.Caps.Roles.Has(Clock), 1, user, tok)).To(Succeed())
	return user, &Device{Token: tok, w: w}
}

// FreshUser is an ActiveUser whose token's login window is centred on the
// server's time (learned drift 0) and holds no used step, for specs that
// press at offsets (window edges). A foreign provisioner's user is that by
// its contract (the system learns no drift at enrolment and no code was
// used). Where the token can be read (Inspect) it is checked, and on a
// target whose clock moves the clock is moved two steps on past the
// activation's codes; a tokenlab server with a real clock, whose
// activation learns a drift of -1, cannot give one and the spec is
// skipped.
func (w *World) FreshUser() (string, *Device) {
	GinkgoHelper()
	w.need("FreshUser", Provision)
	user, d := w.ActiveUser()
	if !w.Caps.Roles.Has(Inspect) {
		return user, d
	}
	if w.fresh(d) {
		return user, d
	}
	if !w.Caps.Roles.Has(Clock) {
		reason := fmt.Sprintf("%s: no fresh token — its clock is real and its activation learns a drift and uses steps near now, so no token's window is centred on now with no step used", w.Kind.Description)
		AddReportEntry(SkipReason, reason, ReportEntryVisibilityNever)
		Skip(reason)
	}
	_, err := w.raw.Advance(w.Ctx, 2*d.Spec().Period)
	Expect(err).NotTo(HaveOccurred())
	Expect(w.fresh(d)).To(BeTrue(), "two steps after its activation, token %s still has a used step or a drift", d.Serial())
	return user, d
}

// fresh reports whether the token's window (drift 0, ±1 step) holds no
// used step.
func (w *World) fresh(d *Device) bool {
	GinkgoHelper()
	v, err := w.raw.Token(w.Ctx, d.Serial())
	Expect(err).NotTo(HaveOccurred())
	step := w.Now().Unix() / int64(d.Spec().Period/time.Second)
	return v.DriftSteps == 0 && (v.LastStep == nil || *v.LastStep < step-1)
}

// step is the server's 30 s step.
func (w *World) step() int64 {
	GinkgoHelper()
	return w.Now().Unix() / int64(emulator.DefaultPeriod/time.Second)
}

// InOneStep runs a case that presses codes at offsets from the server's
// time: fresh makes what it needs (a fresh user), try presses, sends and
// returns what came back, asserting nothing; the result is returned once
// the server's 30 s step was the same before the press and after the
// answer. On a real clock the step may turn in between — the codes were
// then pressed for one step and checked in the next — and the case is
// tried again with a fresh user, no sleeping: a turn comes once in 30 s,
// so a third turn in a row means a case far too slow, which fails. On a
// virtual clock nothing moves it in between, and the case runs once.
func InOneStep[U, R any](w *World, fresh func() U, try func(U) R) R {
	GinkgoHelper()
	for attempt := 1; ; attempt++ {
		u := fresh()
		before := w.step()
		r := try(u)
		if w.step() == before {
			return r
		}
		if attempt == 3 {
			w.fail("the server's 30 s step turned during each of three tries of the case: it takes too long to press and check codes within one step")
			return r
		}
	}
}

// Status is the token's view on the server.
func (w *World) Status(d *Device) server.TokenView {
	GinkgoHelper()
	v, err := w.T.Token(w.Ctx, d.Serial())
	Expect(err).NotTo(HaveOccurred())
	return v
}

// Login verifies the code the device shows now.
func (w *World) Login(user string, d *Device) (server.Verification, error) {
	GinkgoHelper()
	return w.T.Verify(w.Ctx, user, d.Press())
}

// challenger is a target with the next-code flow.
type challenger interface {
	AnswerChallenge(ctx context.Context, ch *Challenge, otp string) (server.Verification, error)
}

// AnswerChallenge answers the server's request for the next code (the
// NextCode role): err is what Verify returned, a *Challenge.
func (w *World) AnswerChallenge(err error, otp string) (server.Verification, error) {
	GinkgoHelper()
	w.need("AnswerChallenge", NextCode)
	var ch *Challenge
	Expect(errors.As(err, &ch)).To(BeTrue(), "not a request for the next code: %v", err)
	c, ok := w.raw.(challenger)
	Expect(ok).To(BeTrue(), "%s has no next-code flow", w.Kind.Description)
	return c.AnswerChallenge(w.Ctx, ch, otp)
}

// WrongCode is a code the device does not show near now, of its length.
func (w *World) WrongCode(d *Device) string {
	GinkgoHelper()
	near := map[string]bool{}
	for _, dt := range []time.Duration{-60, -30, 0, 30, 60} {
		near[d.PressAt(dt*time.Second)] = true
	}
	digits := d.Spec().Digits
	if digits == 0 {
		digits = emulator.DefaultDigits
	}
	mod := 1
	for range digits {
		mod *= 10
	}
	for v := 10000019; ; v += 7919 {
		c := fmt.Sprintf("%0*d", digits, v%mod)
		if !near[c] {
			return c
		}
	}
}

// Outbox is the kinds of the user's notifications, oldest first.
func (w *World) Outbox(user string) []string {
	GinkgoHelper()
	ns, err := w.T.Notifications(w.Ctx, user)
	Expect(err).NotTo(HaveOccurred())
	var kinds []string
	for _, n := range ns {
		kinds = append(kinds, string(n.Kind))
	}
	return kinds
}

// Refused reports whether err is a refusal: a server's *server.Error, or
// an Access-Reject the harness could not name. A request for the next
// code, a timeout or a transport error is not.
func Refused(err error) bool {
	var e *server.Error
	return errors.As(err, &e) || errors.Is(err, ErrRejected)
}

// ExpectRefusal asserts a refusal's code and that its message is the
// catalogue's, rendered with the target's operator and portal names, and
// records the code for the catalogue coverage check. On a target without
// the Reasons role (a foreign server, whose Access-Reject says nothing
// tokenlab can read) it checks only that the code was refused, and
// records nothing: the coverage check counts what was asserted.
func (w *World) ExpectRefusal(err error, code server.Code) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "expected a %s refusal", code)
	if !w.Caps.Roles.Has(Reasons) {
		Expect(Refused(err)).To(BeTrue(), "expected a refusal (%s where the reason is told), got %v", code, err)
		return
	}
	var e *server.Error
	Expect(errors.As(err, &e)).To(BeTrue(), "not a server refusal: %v", err)
	Expect(e.Code).To(Equal(code), "refusal %v", err)
	Expect(errors.Is(err, &server.Error{Code: code})).To(BeTrue())
	p, perr := w.raw.Policy(w.Ctx)
	Expect(perr).NotTo(HaveOccurred())
	want := Message(code, p)
	if e.Message != want {
		// The guide words some refusals differently for one case (a token
		// pending approval): the message is then one of its variants.
		for _, v := range server.MessageVariants {
			if v.Code == code && e.Message == p.Fill(v.Message) {
				want = e.Message
			}
		}
	}
	Expect(e.Message).To(Equal(want))
	AddReportEntry(AssertedCode, string(code), ReportEntryVisibilityNever)
}

// ExpectOutsideWindow asserts that a code outside the login window did not
// log in: refused as otp_invalid or, by a server with the next-code flow
// (tokenlab over RADIUS), answered with a request for the next code — the
// code was the token's, but too far from the server's time to log in with,
// and it is neither accepted nor counted as wrong.
func (w *World) ExpectOutsideWindow(err error) {
	GinkgoHelper()
	if errors.Is(err, ErrChallenged) {
		return
	}
	w.ExpectRefusal(err, server.CodeOTPInvalid)
}

// AssertedCode names the report entries ExpectRefusal adds.
const AssertedCode = "asserted-code"

// Message is the catalogue's message for code as a server with policy p
// words it.
func Message(code server.Code, p server.Policy) string {
	for _, e := range server.Catalogue {
		if e.Code == code {
			return p.Fill(e.Message)
		}
	}
	return ""
}
