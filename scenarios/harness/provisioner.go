package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/emulator"
	"github.com/tokenlab/tokenlab/internal/clock"
	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/server"
)

// TokenlabProvisioner makes users on a tokenlab server through t (the Go
// API, or the HTTP client) the way the guide enrols them: an account, a
// token shipped in a PSKC file, a sponsorship and an activation with two
// consecutive codes. With a virtual clock it then moves the clock two steps
// on, so that no step in the new token's login window is used and its
// learned drift is 0; with a real clock it activates with the codes of the two steps before
// now, and the server learns a drift of -1 until the first login. It is a
// provision.Service: every other role goes through t.
//
// The in-process RADIUS targets use it; provision's tokenlab+http:// does
// the same over HTTP for a remote server.
func TokenlabProvisioner(t Target, virtualClock bool) provision.Service {
	return &tokenlabProvisioner{t: t, virtual: virtualClock}
}

type tokenlabProvisioner struct {
	t       Target
	virtual bool
}

func (p *tokenlabProvisioner) Name() string { return "tokenlab" }

func (p *tokenlabProvisioner) Digits() []int { return []int{6, 8} }

func (p *tokenlabProvisioner) Close() error { return nil }

func (p *tokenlabProvisioner) Service() server.Service { return p.t }

func (p *tokenlabProvisioner) VirtualClock() bool { return p.virtual }

func (p *tokenlabProvisioner) Policy(ctx context.Context) (server.Policy, error) {
	return p.t.Policy(ctx)
}

func (p *tokenlabProvisioner) Advance(ctx context.Context, d time.Duration) (server.SweepReport, error) {
	if !p.virtual {
		return server.SweepReport{}, fmt.Errorf("the server's clock is real")
	}
	return p.t.Advance(ctx, d)
}

func (p *tokenlabProvisioner) NewUser(ctx context.Context, o provision.Options) (provision.User, error) {
	if o.Digits != 0 && !slices.Contains(p.Digits(), o.Digits) {
		return provision.User{}, provision.ErrDigits
	}
	user := "p" + randomWord() + "-" + randomWord()
	if _, err := p.t.CreateAccount(ctx, Admin, newAccount(user)); err != nil {
		return provision.User{}, err
	}
	tok, err := newDevice(ctx, p.t, func(s *emulator.Spec) {
		if o.Digits != 0 {
			s.Digits = o.Digits
		}
	})
	if err != nil {
		return provision.User{}, err
	}
	// Two steps on, the window (±1) holds no step the activation used.
	if err := enrol(ctx, p.t, p.virtual, 2, user, tok); err != nil {
		return provision.User{}, err
	}
	return provision.User{ID: user, Token: tok, Password: Password}, nil
}

// newAccount is a scenario account's details.
func newAccount(user string) server.NewAccount {
	return server.NewAccount{UserID: user, Email: fmt.Sprintf("%s@example.com", randomWord()),
		FirstName: "Ada", LastName: "Lovelace", Password: Password}
}

// newDevice makes a virtual token (TOTP, SHA1, 8 digits, 30 s unless
// edited) whose true time is t's clock, and ships its seed to t's
// inventory in a PSKC file.
func newDevice(ctx context.Context, t Target, edit ...func(*emulator.Spec)) (*emulator.Token, error) {
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
	now, err := t.Now(ctx)
	if err != nil {
		return nil, err
	}
	spec.Created = now
	if spec.Drift.Start.IsZero() {
		spec.Drift.Start = now
	}
	// The token keeps the server's time, virtual or not; a failed read
	// (a target gone) gives a time no code matches, which the spec's next
	// assertion reports.
	tok, err := emulator.New(spec, clock.Func(func() time.Time {
		now, _ := t.Now(context.Background())
		return now
	}))
	if err != nil {
		return nil, err
	}
	var file bytes.Buffer
	if err := seedfile.EncodePSKC(&file, []seedfile.Token{tok.Spec().Seed()}, seedfile.EncodeOptions{}); err != nil {
		return nil, err
	}
	serials, err := t.ImportSeedFile(ctx, Admin, file.Bytes(), server.ImportOptions{})
	if err != nil {
		return nil, err
	}
	if len(serials) != 1 || serials[0] != spec.Serial {
		return nil, fmt.Errorf("importing %s gave serials %v", spec.Serial, serials)
	}
	return tok, nil
}

// enrol sponsors tok to user and activates it so that it logs in at once
// with the code it shows: on a virtual clock activated with the last two
// codes and then steps later (learned drift 0, the current step unused);
// on a real clock with the codes of the two steps before now (drift -1
// until the first login).
func enrol(ctx context.Context, t Target, virtual bool, steps int, user string, tok *emulator.Token) error {
	if _, err := t.Sponsor(ctx, Admin, server.Sponsorship{UserID: user, Serial: tok.Serial()}); err != nil {
		return err
	}
	now, err := t.Now(ctx)
	if err != nil {
		return err
	}
	p := tok.Spec().Period
	from := now.Add(-2 * p)
	if virtual {
		from = now.Add(-p)
	}
	c1, err := tok.PressAt(from)
	if err != nil {
		return err
	}
	c2, err := tok.PressAt(from.Add(p))
	if err != nil {
		return err
	}
	if _, err := t.Activate(ctx, user, tok.Serial(), c1.Code, c2.Code); err != nil {
		return fmt.Errorf("activating %s: %w", tok.Serial(), err)
	}
	if virtual {
		_, err = t.Advance(ctx, time.Duration(steps)*p)
	}
	return err
}

func randomWord() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
