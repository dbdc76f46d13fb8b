package probe

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/tokenlab/tokenlab/scenarios/provision"
	"github.com/tokenlab/tokenlab/scenarios/radclient"
	"github.com/tokenlab/tokenlab/server"
)

// The measurements, in the order Run makes them; the package doc says how
// each one is made and why.

// trial is one attempt's outcome.
type trial struct {
	accepted bool
	answer   radclient.Answer
	// warmup is the refused warm-up login's answer, when it was refused.
	warmup string
	// skip says why the attempt could not measure anything.
	skip string
	// note is what the attempt found, for the report's notes.
	note string
}

// noAnswer explains a request the server did not answer.
func (p *prober) noAnswer(err error) error {
	if errors.Is(err, radclient.ErrNoAnswer) {
		return fmt.Errorf("%w: check the address, the shared secret and that this host is one of the server's RADIUS clients", err)
	}
	return err
}

// warmUp logs u in with the code of at: every new user must pass it.
func (p *prober) warmUp(ctx context.Context, u *user, at time.Time) (string, error) {
	a, err := p.login(ctx, u, u.code(at, 0))
	if err != nil {
		return "", p.noAnswer(err)
	}
	if !a.Accepted() {
		return describe(a), nil
	}
	return "", nil
}

// warmUser makes a new user and warms it up at its token's now: the user,
// that time, and what refused the warm-up ("" when it passed).
func (p *prober) warmUser(ctx context.Context) (*user, time.Time, string, error) {
	u, err := p.newUser(ctx, 0)
	if err != nil {
		return nil, time.Time{}, "", err
	}
	at, _, err := u.now()
	if err != nil {
		return nil, time.Time{}, "", err
	}
	w, err := p.warmUp(ctx, u, at)
	return u, at, w, err
}

// checkWarmUp turns a warm-up the baseline passed but a later attempt did
// not into an error.
func checkWarmUp(tr trial) error {
	if tr.warmup != "" {
		return fmt.Errorf("a new user's login with the code its token shows was refused: %s", tr.warmup)
	}
	return nil
}

func (p *prober) baseline(ctx context.Context) error {
	tr, err := steady(p, func() (trial, error) {
		_, _, w, err := p.warmUser(ctx)
		return trial{warmup: w}, err
	})
	if err != nil {
		return err
	}
	if tr.warmup != "" {
		return fmt.Errorf("a new user of %s was refused with the code its token shows: %s; check that the provisioner writes where the server reads and that the server is the one the provisioner provisions", p.t.Provisioner.Name(), tr.warmup)
	}
	return nil
}

// window probes the window behind and ahead of now.
func (p *prober) window(ctx context.Context) error {
	var notes []string
	behind, ahead := 0, 0
	for k := 1; k <= p.o.MaxWindow; k++ {
		tr, err := steady(p, func() (trial, error) { return p.behindTrial(ctx, k) })
		if err != nil {
			return err
		}
		if tr.skip != "" {
			behind = -1
			notes = append(notes, fmt.Sprintf("behind not measured: %s", tr.skip))
			break
		}
		if !tr.accepted {
			notes = append(notes, fmt.Sprintf("-%d: %s", k, describe(tr.answer)))
			break
		}
		behind = k
		if k == p.o.MaxWindow {
			notes = append(notes, fmt.Sprintf("behind is at least %d: the probe's cap", k))
		}
	}
	for k := 1; k <= p.o.MaxWindow; k++ {
		tr, err := steady(p, func() (trial, error) { return p.aheadTrial(ctx, k) })
		if err != nil {
			return err
		}
		if err := checkWarmUp(tr); err != nil {
			return err
		}
		if !tr.accepted {
			notes = append(notes, fmt.Sprintf("+%d: %s", k, describe(tr.answer)))
			break
		}
		ahead = k
		if k == p.o.MaxWindow {
			notes = append(notes, fmt.Sprintf("ahead is at least %d: the probe's cap", k))
		}
	}
	p.rep.Window = Window{Ahead: &ahead}
	if behind >= 0 {
		p.rep.Window.Behind = &behind
	}
	p.rep.Notes["window"] = strings.Join(notes, "; ")
	return nil
}

// behindTrial: does a new user log in with the code of k steps ago?
func (p *prober) behindTrial(ctx context.Context, k int) (trial, error) {
	u, err := p.newUser(ctx, 0)
	if err != nil {
		return trial{}, err
	}
	at, step, err := u.now()
	if err != nil {
		return trial{}, err
	}
	code := u.code(at, -k)
	if p.virtual {
		// The creation step is unused; moving the clock on makes it k steps
		// old.
		if err := p.advance(ctx, u, k); err != nil {
			return trial{}, err
		}
		code = u.code(at, 0)
	} else if used, err := p.usedUpTo(ctx, u); err != nil {
		return trial{}, err
	} else if used >= step-int64(k) {
		return trial{skip: "the server has used the codes up to the step before now (an activation on a real clock); it would take waiting for the clock — start tokenlab serve with --virtual-clock for an exact probe"}, nil
	}
	a, err := p.login(ctx, u, code)
	if err != nil {
		return trial{}, p.noAnswer(err)
	}
	return trial{accepted: a.Accepted(), answer: a}, nil
}

// usedUpTo is the last step the server recorded as used for u's token,
// when the provisioner has the Service role; otherwise the provisioner's
// contract (no code used) holds and it is -1.
func (p *prober) usedUpTo(ctx context.Context, u *user) (int64, error) {
	if p.svc == nil {
		return -1, nil
	}
	v, err := p.svc.Service().Token(ctx, u.Token.Serial())
	if err != nil {
		return 0, fmt.Errorf("reading token %s: %w", u.Token.Serial(), err)
	}
	if v.LastStep == nil {
		return -1, nil
	}
	return *v.LastStep, nil
}

// aheadTrial: after a login now, does a new user log in with the code of
// k steps ahead?
func (p *prober) aheadTrial(ctx context.Context, k int) (trial, error) {
	u, at, w, err := p.warmUser(ctx)
	if w != "" || err != nil {
		return trial{warmup: w}, err
	}
	a, err := p.login(ctx, u, u.code(at, k))
	if err != nil {
		return trial{}, p.noAnswer(err)
	}
	return trial{accepted: a.Accepted(), answer: a}, nil
}

func (p *prober) replay(ctx context.Context) error {
	tr, err := steady(p, func() (trial, error) {
		u, at, w, err := p.warmUser(ctx)
		if w != "" || err != nil {
			return trial{warmup: w}, err
		}
		a, err := p.login(ctx, u, u.code(at, 0))
		if err != nil {
			return trial{}, p.noAnswer(err)
		}
		return trial{accepted: a.Accepted(), answer: a}, nil
	})
	if err != nil {
		return err
	}
	if err := checkWarmUp(tr); err != nil {
		return err
	}
	p.rep.ReplayRefused = !tr.accepted
	p.rep.Notes["replay_refused"] = "the second time: " + describe(tr.answer)
	return nil
}

func (p *prober) olderCode(ctx context.Context) error {
	if b := p.rep.Window.Behind; b != nil && *b == 0 {
		p.rep.OlderCodeRefused = true
		p.rep.Notes["older_code_refused"] = "the window takes no code behind now: an older code is refused by the window itself"
		return nil
	}
	var used string
	tr, err := steady(p, func() (trial, error) {
		used = ""
		u, err := p.newUser(ctx, 0)
		if err != nil {
			return trial{}, err
		}
		if p.virtual {
			// The creation step, unused, becomes the step before now.
			if err := p.advance(ctx, u, 1); err != nil {
				return trial{}, err
			}
		}
		at, step, err := u.now()
		if err != nil {
			return trial{}, err
		}
		if last, err := p.usedUpTo(ctx, u); err != nil {
			return trial{}, err
		} else if last >= step-1 {
			used = " (the provisioner's activation had used that code already, so this says little of unused older codes)"
		}
		if w, err := p.warmUp(ctx, u, at); w != "" || err != nil {
			return trial{warmup: w}, err
		}
		a, err := p.login(ctx, u, u.code(at, -1))
		if err != nil {
			return trial{}, p.noAnswer(err)
		}
		return trial{accepted: a.Accepted(), answer: a}, nil
	})
	if err != nil {
		return err
	}
	if err := checkWarmUp(tr); err != nil {
		return err
	}
	p.rep.OlderCodeRefused = !tr.accepted
	p.rep.Notes["older_code_refused"] = "the code of the step before: " + describe(tr.answer) + used
	return nil
}

func (p *prober) digits(ctx context.Context) error {
	var notes []string
	accepted := []int{}
	for _, d := range p.t.Provisioner.Digits() {
		if d != 6 && d != 8 {
			continue
		}
		tr, err := steady(p, func() (trial, error) {
			u, err := p.newUser(ctx, d)
			if errors.Is(err, provision.ErrDigits) {
				return trial{skip: err.Error()}, nil
			}
			if err != nil {
				return trial{}, err
			}
			at, _, err := u.now()
			if err != nil {
				return trial{}, err
			}
			a, err := p.login(ctx, u, u.code(at, 0))
			if err != nil {
				return trial{}, p.noAnswer(err)
			}
			return trial{accepted: a.Accepted(), answer: a}, nil
		})
		switch {
		case err != nil:
			return err
		case tr.skip != "":
			notes = append(notes, fmt.Sprintf("%d: the provisioner cannot make such tokens", d))
		case tr.accepted:
			accepted = append(accepted, d)
			notes = append(notes, fmt.Sprintf("%d: accepted", d))
		default:
			notes = append(notes, fmt.Sprintf("%d: %s", d, describe(tr.answer)))
		}
	}
	slices.Sort(accepted)
	p.rep.DigitsAccepted = accepted
	if len(accepted) > 0 {
		p.rep.Digits = accepted[len(accepted)-1]
	}
	p.rep.Notes["digits"] = strings.Join(notes, ", ")
	return nil
}

// gallop is the first trials of the lockout search: 1, 2, 4, … and the cap.
func gallop(max int) []int {
	var ks []int
	for k := 1; k < max; k *= 2 {
		ks = append(ks, k)
	}
	return append(ks, max)
}

// lockTrial sends k wrong codes for a new user and then the code of now:
// the user, the time the code was made at, and whether it was refused.
func (p *prober) lockTrial(ctx context.Context, k int) (*user, time.Time, trial, error) {
	u, err := p.newUser(ctx, 0)
	if err != nil {
		return nil, time.Time{}, trial{}, err
	}
	for i := range k {
		a, err := p.login(ctx, u, u.wrongCode())
		if err != nil {
			return nil, time.Time{}, trial{}, p.noAnswer(err)
		}
		if a.Accepted() {
			return nil, time.Time{}, trial{}, fmt.Errorf("wrong code %d of %d was accepted: the system accepts codes its token never showed", i+1, k)
		}
	}
	at, _, err := u.now()
	if err != nil {
		return nil, time.Time{}, trial{}, err
	}
	a, err := p.login(ctx, u, u.code(at, 0))
	if err != nil {
		return nil, time.Time{}, trial{}, p.noAnswer(err)
	}
	return u, at, trial{accepted: a.Accepted(), answer: a}, nil
}

func (p *prober) lockout(ctx context.Context) error {
	var log []string
	var lockedBy string // the answer of the first locked trial, quoted once
	locked := func(k int) (bool, error) {
		tr, err := steady(p, func() (trial, error) {
			_, _, tr, err := p.lockTrial(ctx, k)
			return tr, err
		})
		if err != nil {
			return false, err
		}
		if tr.accepted {
			log = append(log, fmt.Sprintf("%d accepted", k))
		} else {
			log = append(log, fmt.Sprintf("%d refused", k))
			if lockedBy == "" {
				lockedBy = describe(tr.answer)
			}
		}
		return !tr.accepted, nil
	}
	lo, hi := 0, -1 // lo wrong codes leave the right code accepted (the baseline), hi lock it
	for _, k := range gallop(p.o.MaxLockout) {
		l, err := locked(k)
		if err != nil {
			return err
		}
		if l {
			hi = k
			break
		}
		lo = k
	}
	if hi < 0 {
		p.rep.LockoutThreshold = nil
		p.rep.Notes["lockout_threshold"] = fmt.Sprintf("no lock after %d wrong codes; the right code after k wrong ones: %s", p.o.MaxLockout, strings.Join(log, ", "))
		p.rep.UnlocksBy = nil
		p.rep.Notes["unlocks_by"] = "no lockout to unlock"
		return nil
	}
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		l, err := locked(mid)
		if err != nil {
			return err
		}
		if l {
			hi = mid
		} else {
			lo = mid
		}
	}
	threshold := hi
	p.rep.LockoutThreshold = &threshold
	p.rep.Notes["lockout_threshold"] = fmt.Sprintf("the right code after k wrong ones: %s; locked: %s", strings.Join(log, ", "), lockedBy)
	return p.unlocks(ctx, threshold)
}

// unlocks tries each way out of a lock on its own locked user.
func (p *prober) unlocks(ctx context.Context, k int) error {
	by := []string{}
	var notes []string
	// lock makes a user locked by k wrong codes, confirmed by the right
	// code's refusal; nil when this user was not locked after all.
	type lockedUser struct {
		u  *user
		at time.Time
	}
	lock := func() (*lockedUser, error) {
		u, at, tr, err := p.lockTrial(ctx, k)
		if err != nil || tr.accepted {
			return nil, err
		}
		return &lockedUser{u, at}, nil
	}
	try := func(name string, f func(l *lockedUser) (bool, string, error)) error {
		tr, err := steady(p, func() (trial, error) {
			l, err := lock()
			if err != nil {
				return trial{}, err
			}
			if l == nil {
				return trial{note: "a user was not locked by the threshold's wrong codes this time"}, nil
			}
			ok, note, err := f(l)
			return trial{accepted: ok, note: note}, err
		})
		if err != nil {
			return err
		}
		if tr.accepted {
			by = append(by, name)
		}
		if tr.note != "" {
			notes = append(notes, name+": "+tr.note)
		}
		return nil
	}
	if a := p.rep.Window.Ahead; a != nil && *a >= 1 {
		err := try("later_code", func(l *lockedUser) (bool, string, error) {
			a, err := p.login(ctx, l.u, l.u.code(l.at, 1))
			if err != nil {
				return false, "", p.noAnswer(err)
			}
			return a.Accepted(), "the next step's code: " + describe(a), nil
		})
		if err != nil {
			return err
		}
	} else {
		notes = append(notes, "later_code: not tried, the window takes no code ahead")
	}
	if p.svc != nil {
		err := try("resync", func(l *lockedUser) (bool, string, error) {
			if _, err := p.svc.Service().Resync(ctx, server.AsAdmin("probe"), l.u.Token.Serial(), l.u.code(l.at, 0), l.u.code(l.at, 1)); err != nil {
				return false, "the API refused the resync: " + err.Error(), nil
			}
			a, err := p.login(ctx, l.u, l.u.code(l.at, 2))
			if err != nil {
				return false, "", p.noAnswer(err)
			}
			return a.Accepted(), "after a resync through the API, " + describe(a), nil
		})
		if err != nil {
			return err
		}
	} else {
		notes = append(notes, "resync: not tried, the provisioner has no API to resync through")
	}
	if p.virtual {
		found := false
		for _, d := range []time.Duration{30 * time.Second, 5 * time.Minute, time.Hour, 24 * time.Hour} {
			err := try("clock", func(l *lockedUser) (bool, string, error) {
				if _, err := p.svc.Advance(ctx, d); err != nil {
					return false, "", err
				}
				at, _, err := l.u.now()
				if err != nil {
					return false, "", err
				}
				a, err := p.login(ctx, l.u, l.u.code(at, 0))
				if err != nil {
					return false, "", p.noAnswer(err)
				}
				if a.Accepted() {
					return true, fmt.Sprintf("accepted %v after the lock", d), nil
				}
				return false, "", nil
			})
			if err != nil {
				return err
			}
			if slices.Contains(by, "clock") {
				found = true
				break
			}
		}
		if !found {
			notes = append(notes, "clock: still locked 24h later")
		}
	} else {
		notes = append(notes, "clock: not tried, the server's clock is real and the probe does not wait")
	}
	p.rep.UnlocksBy = by
	if len(by) == 0 {
		lead := "nothing the probe tried unlocked it: an administrator must"
		if !p.virtual {
			// A lock that lifts with time (a rate limit) would not show.
			lead = "nothing the probe tried unlocked it, and it did not wait to see whether the lock lifts with time"
		}
		notes = append([]string{lead}, notes...)
	}
	p.rep.Notes["unlocks_by"] = strings.Join(notes, "; ")
	return nil
}

func (p *prober) drift(ctx context.Context) error {
	ahead := 0
	if p.rep.Window.Ahead != nil {
		ahead = *p.rep.Window.Ahead
	}
	if ahead == 0 {
		p.rep.LearnsDrift = false
		p.rep.Notes["learns_drift"] = "the window takes no code ahead: a token running fast cannot be followed"
		return nil
	}
	end := 3*ahead + 3
	var reached int
	tr, err := steady(p, func() (trial, error) {
		reached = 0
		u, at, w, err := p.warmUser(ctx)
		if w != "" || err != nil {
			return trial{warmup: w}, err
		}
		for off := ahead; ; off += ahead {
			a, err := p.login(ctx, u, u.code(at, off))
			if err != nil {
				return trial{}, p.noAnswer(err)
			}
			if !a.Accepted() {
				return trial{answer: a}, nil
			}
			reached = off
			if off >= end {
				return trial{accepted: true, answer: a}, nil
			}
		}
	})
	if err != nil {
		return err
	}
	if err := checkWarmUp(tr); err != nil {
		return err
	}
	p.rep.LearnsDrift = tr.accepted
	if tr.accepted {
		p.rep.Notes["learns_drift"] = fmt.Sprintf("followed %d step(s) further at each login, to %d steps ahead", ahead, reached)
	} else {
		p.rep.Notes["learns_drift"] = fmt.Sprintf("followed %d step(s) further at each login, to %d steps ahead; %d ahead: %s", ahead, reached, reached+ahead, describe(tr.answer))
	}
	return nil
}

func (p *prober) nextCode(ctx context.Context) error {
	ahead := 0
	if p.rep.Window.Ahead != nil {
		ahead = *p.rep.Window.Ahead
	}
	if ahead >= p.o.MaxWindow {
		p.rep.Notes["next_code_challenge"] = "not measured: the window reaches the probe's cap, so there is no code just outside it"
		return nil
	}
	out := ahead + 1
	var note string
	tr, err := steady(p, func() (trial, error) {
		u, at, w, err := p.warmUser(ctx)
		if w != "" || err != nil {
			return trial{warmup: w}, err
		}
		a, err := p.login(ctx, u, u.code(at, out))
		if err != nil {
			return trial{}, p.noAnswer(err)
		}
		if !a.Challenged() {
			note = fmt.Sprintf("+%d: %s, no challenge", out, describe(a))
			return trial{answer: a}, nil
		}
		if p.virtual {
			// The user waits for the token's next code.
			if err := p.advance(ctx, u, 1); err != nil {
				return trial{}, err
			}
		}
		b, err := p.respond(ctx, u, u.code(at, out+1), a.State)
		if err != nil {
			return trial{}, p.noAnswer(err)
		}
		note = fmt.Sprintf("+%d: %s; the next code with its State: %s", out, describe(a), describe(b))
		return trial{accepted: b.Accepted(), answer: b}, nil
	})
	if err != nil {
		return err
	}
	if err := checkWarmUp(tr); err != nil {
		return err
	}
	p.rep.NextCodeChallenge = tr.accepted
	p.rep.Notes["next_code_challenge"] = note
	return nil
}

func (p *prober) messageAuthenticator(ctx context.Context) error {
	u, err := p.newUser(ctx, 0)
	if err != nil {
		return err
	}
	at, _, err := u.now()
	if err != nil {
		return err
	}
	code := u.code(at, 0)
	rc := *p.t.RADIUS
	rc.Timeout, rc.Retries = p.o.NoAnswerTimeout, 0
	a, err := rc.Do(ctx, radclient.Request{User: u.ID, Password: p.password(u, code), Unsigned: true})
	p.record(a, err)
	switch {
	case errors.Is(err, radclient.ErrNoAnswer):
		b, err := p.login(ctx, u, code)
		if err != nil {
			return fmt.Errorf("after an unsigned request, a signed one: %w", p.noAnswer(err))
		}
		p.rep.RequiresMessageAuthenticator = true
		p.rep.Notes["requires_message_authenticator"] = fmt.Sprintf("unsigned: no answer in %v; signed: %s", p.o.NoAnswerTimeout, describe(b))
	case err != nil:
		return err
	default:
		p.rep.RequiresMessageAuthenticator = false
		p.rep.Notes["requires_message_authenticator"] = "unsigned: " + describe(a) + ": exposed to BlastRADIUS; make the server require Message-Authenticator"
	}
	return nil
}

func (p *prober) retransmission(ctx context.Context) error {
	type sends struct {
		first, second radclient.Answer
		err2          error
	}
	var s sends
	tr, err := steady(p, func() (trial, error) {
		s = sends{}
		u, err := p.newUser(ctx, 0)
		if err != nil {
			return trial{}, err
		}
		at, _, err := u.now()
		if err != nil {
			return trial{}, err
		}
		wire, pkt, err := p.t.RADIUS.Packet(radclient.Request{User: u.ID, Password: p.password(u, u.code(at, 0))})
		if err != nil {
			return trial{}, err
		}
		// One socket: a retransmission comes from the same source port.
		conn, err := net.Dial("udp", p.t.RADIUS.Addr)
		if err != nil {
			return trial{}, err
		}
		defer conn.Close()
		s.first, err = p.t.RADIUS.Exchange(ctx, conn, wire, pkt)
		p.record(s.first, err)
		if err != nil {
			return trial{}, p.noAnswer(err)
		}
		if !s.first.Accepted() {
			return trial{warmup: describe(s.first)}, nil
		}
		// The answer was "lost": the NAS sends the copy when its timeout
		// passes, not the instant the answer arrived.
		wait := time.NewTimer(p.o.RetransmitAfter)
		select {
		case <-ctx.Done():
			wait.Stop()
			return trial{}, ctx.Err()
		case <-wait.C:
		}
		rc := *p.t.RADIUS
		rc.Timeout = p.o.NoAnswerTimeout
		s.second, s.err2 = rc.Exchange(ctx, conn, wire, pkt)
		p.record(s.second, s.err2)
		return trial{accepted: true}, nil
	})
	if err != nil {
		return err
	}
	if err := checkWarmUp(tr); err != nil {
		return err
	}
	switch {
	case errors.Is(s.err2, radclient.ErrNoAnswer):
		p.rep.Retransmission = "dropped"
		p.rep.Notes["retransmission"] = fmt.Sprintf("sent %v after the answer: no answer in %v; a NAS whose answer was lost gets none", p.o.RetransmitAfter, p.o.NoAnswerTimeout)
	case s.err2 != nil:
		return s.err2
	case s.second.Code == s.first.Code && p.rep.ReplayRefused:
		p.rep.Retransmission = "cached"
		p.rep.Notes["retransmission"] = fmt.Sprintf("sent %v after the answer: the same answer, %s, and not a second verification: replays are refused", p.o.RetransmitAfter, describe(s.second))
	case s.second.Code == s.first.Code:
		p.rep.Retransmission = "same_answer"
		p.rep.Notes["retransmission"] = fmt.Sprintf("sent %v after the answer: the same answer, %s; replays are accepted, so a cache cannot be told from a second verification", p.o.RetransmitAfter, describe(s.second))
	default:
		p.rep.Retransmission = "processed_again"
		p.rep.Notes["retransmission"] = fmt.Sprintf("sent %v after the answer: %s after %s: verified twice, so a NAS retransmitting after a lost answer fails a good login", p.o.RetransmitAfter, describe(s.second), describe(s.first))
	}
	return nil
}
