package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best unqualified
	. "github.com/onsi/gomega"    //nolint:revive

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/server"
)

// Password is every scenario account's password.
const Password = "scenario password"

// World is what a spec works with: the target, opened afresh for every spec
// of an in-process kind, and helpers that speak the guide's language.
type World struct {
	Kind Kind
	T    Target
	Caps Capabilities
	Ctx  context.Context
	// prefix makes this spec's users and serials unique, so specs never
	// collide on a shared (remote) server.
	prefix string
}

// NewWorld prepares a World for kind; its BeforeEach opens the target.
func NewWorld(kind Kind) *World {
	w := &World{Kind: kind}
	BeforeEach(func() {
		t, caps, closeFn, err := kind.open(GinkgoT().TempDir())
		Expect(err).NotTo(HaveOccurred(), "opening target %s", kind.Name)
		DeferCleanup(closeFn)
		w.T, w.Caps, w.Ctx = t, caps, context.Background()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		w.prefix = hex.EncodeToString(b)
	})
	return w
}

// NeedsClock marks a spec that moves the clock: labelled needs-clock and,
// on a shared target, run serially (a clock move would disturb others).
func (w *World) NeedsClock() []any {
	d := []any{Label("needs-clock")}
	if w.Kind.Name == "remote" {
		d = append(d, Serial)
	}
	return d
}

// RequireClock skips a spec on a target whose clock cannot be moved.
func (w *World) RequireClock() {
	if !w.Caps.MoveClock {
		Skip(w.Kind.Name + " target: its clock is real and cannot be moved (start the server with --virtual-clock)")
	}
}

// Now is the server's time.
func (w *World) Now() time.Time {
	now, err := w.T.Now(w.Ctx)
	Expect(err).NotTo(HaveOccurred())
	return now
}

// Advance moves the server's clock (and runs its sweep).
func (w *World) Advance(d time.Duration) server.SweepReport {
	w.RequireClock()
	rep, err := w.T.Advance(w.Ctx, d)
	Expect(err).NotTo(HaveOccurred())
	return rep
}

// WaitForNextCode moves the clock on to the next 30 s step, as a user waits
// for the token to show a new code.
func (w *World) WaitForNextCode() {
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
	disp, err := d.Token.Press()
	Expect(err).NotTo(HaveOccurred())
	return disp.Code
}

// PressAt presses the button at a true time off the server's by delta:
// "the code it showed 30 s ago".
func (d *Device) PressAt(delta time.Duration) string {
	disp, err := d.Token.PressAt(d.w.Now().Add(delta))
	Expect(err).NotTo(HaveOccurred())
	return disp.Code
}

// TwoConsecutiveCodes is what the guide asks for at activation and resync:
// press, wait for the next code, press again — taken as the code of the
// step before the server's now and the current one, so no time passes.
func (d *Device) TwoConsecutiveCodes() (string, string) {
	ds, err := d.Token.PressConsecutive(d.w.Now())
	Expect(err).NotTo(HaveOccurred())
	return ds[0].Code, ds[1].Code
}

// Serial is the number on the back of the device.
func (d *Device) Serial() string { return d.Token.Serial() }

// NewDevice makes a virtual token (TOTP, SHA1, 8 digits, 30 s unless
// edited) and ships its seed to the server's inventory in a PSKC file.
func (w *World) NewDevice(edit ...func(*emulator.Spec)) *Device {
	secret := make([]byte, 20)
	_, _ = rand.Read(secret)
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	spec := emulator.Spec{Serial: "SCN" + strings.ToUpper(hex.EncodeToString(b)), Secret: secret}
	for _, e := range edit {
		e(&spec)
	}
	if len(spec.Secret) != spec.Algorithm.KeySize() && spec.Algorithm != oath.SHA1 {
		spec.Secret = make([]byte, spec.Algorithm.KeySize())
		_, _ = rand.Read(spec.Secret)
	}
	now := w.Now()
	spec.Created = now
	if spec.Drift.Start.IsZero() {
		spec.Drift.Start = now
	}
	tok, err := emulator.New(spec, clock.Func(func() time.Time { return w.Now() }))
	Expect(err).NotTo(HaveOccurred())
	var file bytes.Buffer
	Expect(seedfile.EncodePSKC(&file, []seedfile.Token{tok.Spec().Seed()}, seedfile.EncodeOptions{})).To(Succeed())
	serials, err := w.T.ImportSeedFile(w.Ctx, Admin, file.Bytes(), server.ImportOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(serials).To(Equal([]string{spec.Serial}))
	return &Device{Token: tok, w: w}
}

// NewUser creates an account (the names may be edited, e.g. to match
// another account for a connection) and returns its user ID.
func (w *World) NewUser(edit ...func(*server.NewAccount)) string {
	n := server.NewAccount{UserID: fmt.Sprintf("u%s-%s", w.prefix, randomWord()), Email: fmt.Sprintf("%s@example.com", randomWord()),
		FirstName: "Ada", LastName: "Lovelace", Password: Password}
	for _, e := range edit {
		e(&n)
	}
	_, err := w.T.CreateAccount(w.Ctx, Admin, n)
	Expect(err).NotTo(HaveOccurred())
	return n.UserID
}

func randomWord() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Sponsor makes the device the user's to activate.
func (w *World) Sponsor(user string, d *Device, edit ...func(*server.Sponsorship)) {
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
func (w *World) Owner(serial string) server.Actor {
	GinkgoHelper()
	v, err := w.T.Token(w.Ctx, serial)
	Expect(err).NotTo(HaveOccurred())
	if v.OwnerID == "" {
		return server.Actor{}
	}
	return server.AsUser(v.OwnerID)
}

// Activate registers the device on the user's account with two
// consecutive codes.
func (w *World) Activate(user string, d *Device) (server.TokenView, error) {
	c1, c2 := d.TwoConsecutiveCodes()
	return w.T.Activate(w.Ctx, user, d.Serial(), c1, c2)
}

// ActiveUser is a user with a sponsored, activated token who may log in
// right away with the code the token shows: on a target whose clock moves,
// activated with the last two codes and then a step later (learned drift
// 0); elsewhere activated with the codes of the two steps before now (the
// server then learns a drift of -1 until the first login).
func (w *World) ActiveUser() (string, *Device) {
	user, d := w.NewUser(), w.NewDevice()
	w.Sponsor(user, d)
	p := d.Spec().Period
	if w.Caps.MoveClock {
		_, err := w.Activate(user, d)
		Expect(err).NotTo(HaveOccurred())
		w.WaitForNextCode()
		return user, d
	}
	_, err := w.T.Activate(w.Ctx, user, d.Serial(), d.PressAt(-2*p), d.PressAt(-p))
	Expect(err).NotTo(HaveOccurred())
	return user, d
}

// Status is the token's view on the server.
func (w *World) Status(d *Device) server.TokenView {
	v, err := w.T.Token(w.Ctx, d.Serial())
	Expect(err).NotTo(HaveOccurred())
	return v
}

// Login verifies the code the device shows now.
func (w *World) Login(user string, d *Device) (server.Verification, error) {
	return w.T.Verify(w.Ctx, user, d.Press())
}

// WrongCode is a code the device does not show near now.
func (w *World) WrongCode(d *Device) string {
	near := map[string]bool{}
	for _, dt := range []time.Duration{-60, -30, 0, 30, 60} {
		near[d.PressAt(dt*time.Second)] = true
	}
	for v := 10000019; ; v += 7919 {
		c := fmt.Sprintf("%08d", v%100000000)
		if !near[c] {
			return c
		}
	}
}

// Outbox is the kinds of the user's notifications, oldest first.
func (w *World) Outbox(user string) []string {
	ns, err := w.T.Notifications(w.Ctx, user)
	Expect(err).NotTo(HaveOccurred())
	var kinds []string
	for _, n := range ns {
		kinds = append(kinds, string(n.Kind))
	}
	return kinds
}

// ExpectRefusal asserts a refusal's code and that its message is the
// catalogue's, rendered with the target's operator and portal names, and
// records the code for the catalogue coverage check.
func (w *World) ExpectRefusal(err error, code server.Code) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "expected a %s refusal", code)
	var e *server.Error
	Expect(errors.As(err, &e)).To(BeTrue(), "not a server refusal: %v", err)
	Expect(e.Code).To(Equal(code), "refusal %v", err)
	Expect(errors.Is(err, &server.Error{Code: code})).To(BeTrue())
	p, perr := w.T.Policy(w.Ctx)
	Expect(perr).NotTo(HaveOccurred())
	portal := p.PortalName
	want := Message(code, p.OperatorName, portal)
	if code == server.CodeTokenUnusable && e.Message != want {
		// The guide's shorter text for a token pending approval.
		want = strings.ReplaceAll("You cannot use your token to log into {portal} at this time. Follow the link below to log in without a One-Time Password Token.", "{portal}", portal)
	}
	Expect(e.Message).To(Equal(want))
	AddReportEntry(AssertedCode, string(code), ReportEntryVisibilityNever)
}

// AssertedCode names the report entries ExpectRefusal adds.
const AssertedCode = "asserted-code"

// Message is the catalogue's message for code with the given names.
func Message(code server.Code, operator, portal string) string {
	for _, e := range server.Catalogue {
		if e.Code == code {
			return strings.NewReplacer("{operator}", operator, "{portal}", portal, "{maxphones}", "3").Replace(e.Message)
		}
	}
	return ""
}
