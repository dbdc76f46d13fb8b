package server_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tokenlab/tokenlab/server"
)

// model is a reference of one active token's lifecycle, written from
// docs/lifecycle.md and independent of the server's code: what a login, a
// resync, a suspension… must answer and leave behind.
type model struct {
	revoked, suspended, byAdmin, locked, blocked bool
	fail, resyncFail                             int
	lastStep, drift                              int64
}

const (
	lockAt   = 5
	blockAt  = 3
	loginWin = 1
)

// verify: the device shows the code of step target; now is the server's step.
func (m *model) verify(target, now int64, wrong bool) server.Code {
	switch {
	case m.revoked:
		return server.CodeTokenRevoked
	case m.suspended:
		return server.CodeTokenUnusable
	case m.locked:
		return server.CodeTokenLocked
	}
	center := now + m.drift
	inWindow := !wrong && target >= center-loginWin && target <= center+loginWin
	switch {
	case inWindow && target > m.lastStep:
		m.lastStep, m.drift, m.fail = target, target-now, 0
		return ""
	case inWindow:
		return server.CodeOTPReplayed
	}
	m.fail++
	if m.fail >= lockAt {
		m.locked = true
	}
	return server.CodeOTPInvalid
}

// resync: the device shows steps first and first+1 (or wrong codes).
func (m *model) resync(first, now int64, wrong bool) server.Code {
	switch {
	case m.revoked:
		return server.CodeTokenRevoked
	case m.suspended:
		return server.CodeTokenUnusable
	case m.blocked:
		return server.CodeActivationBlocked
	}
	switch {
	case !wrong && first > m.lastStep:
		m.lastStep, m.drift = first+1, first+1-now
		m.locked, m.fail, m.resyncFail = false, 0, 0
		return ""
	case !wrong:
		return server.CodeOTPReplayed
	}
	m.resyncFail++
	if m.resyncFail >= blockAt {
		m.blocked = true
	}
	return server.CodeOTPIncorrect
}

func (m *model) suspend(admin bool) server.Code {
	switch {
	case m.revoked:
		return server.CodeTokenRevoked
	case m.suspended:
		return server.CodeActionUnavailable
	}
	m.suspended, m.byAdmin = true, admin
	return ""
}

func (m *model) enable(admin bool) server.Code {
	switch {
	case m.revoked:
		return server.CodeTokenRevoked
	case !m.suspended:
		return server.CodeActionUnavailable
	case m.byAdmin && !admin:
		return server.CodeForbidden
	}
	m.suspended = false
	return ""
}

func (m *model) reset() server.Code {
	if m.revoked {
		return server.CodeTokenRevoked
	}
	m.blocked, m.resyncFail = false, 0
	return ""
}

func (m *model) check(v server.TokenView) string {
	status, sub := server.StatusActive, "active"
	switch {
	case m.revoked:
		status, sub = server.StatusRevoked, string(server.StatusRevoked)
	case m.suspended:
		status, sub = server.StatusSuspended, string(server.StatusSuspended)
	case m.locked:
		sub = "locked"
	}
	if v.Status != status || v.SubStatus != sub || v.FailCount != m.fail || v.Blocked != m.blocked ||
		v.LastStep == nil || *v.LastStep != m.lastStep || v.DriftSteps != m.drift {
		return fmt.Sprintf("server %s/%s fail=%d blocked=%v last=%v drift=%d; model %s/%s fail=%d blocked=%v last=%d drift=%d",
			v.Status, v.SubStatus, v.FailCount, v.Blocked, deref(v.LastStep), v.DriftSteps, status, sub, m.fail, m.blocked, m.lastStep, m.drift)
	}
	return ""
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestRandomisedAgainstAModel(t *testing.T) {
	seen := map[server.Code]int{}
	defer func() {
		// The sequences must reach every outcome, or the comparison proves little.
		for _, c := range []server.Code{"", server.CodeOTPInvalid, server.CodeOTPReplayed, server.CodeTokenLocked, server.CodeTokenUnusable,
			server.CodeOTPIncorrect, server.CodeActivationBlocked, server.CodeForbidden, server.CodeActionUnavailable, server.CodeTokenRevoked} {
			if seen[c] == 0 {
				t.Errorf("no operation ended in %q: %v", c, seen)
			}
		}
		t.Logf("outcomes: %v", seen)
	}()
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 2026))
			f := newFixture(t, server.Policy{})
			u, d := f.activeToken()
			v := f.status(d.serial)
			m := &model{lastStep: *v.LastStep, drift: v.DriftSteps}
			admin := f.admin
			codeAt := func(step int64) string { return d.gen.Code(uint64(step)) }
			var history []string
			for i := range 400 {
				now := f.clk.Now().Unix() / 30
				var op string
				var want server.Code
				var err error
				switch r := rng.IntN(100); {
				case r < 40: // a press of a device whose clock is a few steps off
					target := now + m.drift + int64(rng.IntN(7)-3)
					wrong := rng.IntN(5) == 0
					code := codeAt(target)
					if wrong {
						code = d.wrong(f.clk.Now())
						for s := now + m.drift - 2; s <= now+m.drift+2; s++ {
							if code == codeAt(s) {
								wrong = false // not wrong after all: skip this op
							}
						}
						if !wrong {
							continue
						}
					}
					op = fmt.Sprintf("verify step %+d wrong=%v", target-now, wrong)
					want = m.verify(target, now, wrong)
					_, err = f.srv.Verify(f.ctx, u, code)
				case r < 55: // a resync with two consecutive codes
					first := now + m.drift + int64(rng.IntN(9)-6)
					wrong := rng.IntN(3) == 0
					c1, c2 := codeAt(first), codeAt(first+1)
					if wrong {
						c1, c2 = c2, c1
					}
					op = fmt.Sprintf("resync step %+d wrong=%v", first-now, wrong)
					want = m.resync(first, now, wrong)
					_, err = f.srv.Resync(f.ctx, server.AsUser(u), d.serial, c1, c2)
				case r < 62:
					byAdmin := rng.IntN(2) == 0
					op = fmt.Sprintf("suspend admin=%v", byAdmin)
					want = m.suspend(byAdmin)
					actor := server.AsUser(u)
					if byAdmin {
						actor = admin
					}
					err = errOf(f.srv.Suspend(f.ctx, actor, d.serial))
				case r < 70:
					byAdmin := rng.IntN(2) == 0
					op = fmt.Sprintf("enable admin=%v", byAdmin)
					want = m.enable(byAdmin)
					actor := server.AsUser(u)
					if byAdmin {
						actor = admin
					}
					err = errOf(f.srv.Enable(f.ctx, actor, d.serial))
				case r < 74:
					op, want = "admin reset", m.reset()
					err = errOf(f.srv.Reset(f.ctx, admin, d.serial))
				case r < 76 && i > 300:
					op, want = "revoke", ""
					if m.revoked {
						want = server.CodeTokenRevoked
					}
					m.revoked = true
					err = errOf(f.srv.Revoke(f.ctx, admin, d.serial))
				case r < 80:
					op = "restart"
					f.reopen()
				default:
					steps := rng.IntN(4)
					op = fmt.Sprintf("clock +%d steps", steps)
					f.clk.Step(time.Duration(steps) * 30 * time.Second)
				}
				history = append(history, op)
				seen[want]++
				if got := server.CodeOf(err); got != want || (want == "" && err != nil) {
					t.Fatalf("op %d %s: server says %v, model %q\nhistory: %v", i, op, err, want, history[max(0, len(history)-12):])
				}
				if diff := m.check(f.status(d.serial)); diff != "" {
					t.Fatalf("op %d %s: %s\nhistory: %v", i, op, diff, history[max(0, len(history)-12):])
				}
			}
		})
	}
}
