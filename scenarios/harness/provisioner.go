package harness

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
// API, or the HTTP client) the way provision's tokenlab+http:// does over
// HTTP — an account, a token shipped in a PSKC file, a sponsorship and an
// activation with two consecutive codes — with t's clock as the tokens'
// true time. It is a provision.Service: every other role goes through t.
// The in-process RADIUS targets use it.
func TokenlabProvisioner(t Target, virtualClock bool) provision.Service {
	now := clock.Func(func() time.Time {
		// A failed read (a target gone) gives a time no code matches,
		// which the spec's next assertion reports.
		now, _ := t.Now(context.Background())
		return now
	})
	return provision.NewTokenlab("tokenlab", t, virtualClock, t.Advance, now)
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
