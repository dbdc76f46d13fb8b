package server

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// An event is something the sweep does to a token at a time: send a
// reminder, expire it, or revoke it.
type event struct {
	at   time.Time
	name string // reminders: the key recorded in Token.Reminders
	kind eventKind
	why  eventWhy
	// deadline is what a reminder reminds of.
	deadline time.Time
}

// eventKind is what the sweep does; it names the audit action (sweep.…).
type eventKind string

const (
	eventReminder eventKind = "reminder"
	eventExpire   eventKind = "expire"
	eventRevoke   eventKind = "revoke"
)

// eventWhy is what a reminder reminds of, or why a token is revoked. It is
// written into the reminder's key (Token.Reminders) and the audit detail.
type eventWhy string

const (
	whyExpiry     eventWhy = "expiry"     // a reminder: the token expires
	whyRevocation eventWhy = "revocation" // a reminder: the token is to be revoked
	whySuspended  eventWhy = "suspended"  // a revocation: suspended too long
	whyExpired    eventWhy = "expired"    // a revocation: expired too long
)

// nextEvent is the token's earliest event not yet done.
func (s *Server) nextEvent(t *Token) (event, bool) {
	var evs []event
	reminder := func(deadline time.Time, before time.Duration, why eventWhy, since time.Time) {
		at := deadline.Add(-before)
		name := fmt.Sprintf("%s-%dd@%s", why, before/day, deadline.UTC().Format(time.RFC3339))
		if slices.Contains(t.Reminders, name) || at.Before(since) {
			return // sent, or due before the state began: a reminder is never sent late
		}
		evs = append(evs, event{at: at, name: name, kind: eventReminder, why: why, deadline: deadline})
	}
	switch t.Status {
	case StatusActive:
		if t.ExpiresAt.IsZero() {
			return event{}, false
		}
		reminder(t.ExpiresAt, s.policy.ExpiryReminder, whyExpiry, t.ActivatedAt)
		evs = append(evs, event{at: t.ExpiresAt, kind: eventExpire})
	case StatusSuspended:
		deadline := t.SuspendedAt.Add(s.policy.SuspendedRevokeAfter)
		for _, d := range s.policy.RevocationReminders {
			reminder(deadline, d, whyRevocation, t.SuspendedAt)
		}
		evs = append(evs, event{at: pastDeadline(deadline), kind: eventRevoke, why: whySuspended})
	case StatusExpired:
		deadline := t.ExpiresAt.Add(s.policy.ExpiredRevokeAfter)
		for _, d := range s.policy.RevocationReminders {
			reminder(deadline, d, whyRevocation, t.ExpiresAt)
		}
		evs = append(evs, event{at: pastDeadline(deadline), kind: eventRevoke, why: whyExpired})
	default:
		return event{}, false
	}
	// Earliest first; at the same instant a reminder goes before the change.
	slices.SortStableFunc(evs, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		if a.kind == eventReminder && b.kind != eventReminder {
			return -1
		}
		return 0
	})
	return evs[0], true
}

// pastDeadline is when an automatic revocation happens: the first instant
// past its deadline, a nanosecond (the clock's resolution) after it. The
// guide revokes a token "suspended for more than 60 days", "expired for more
// than one year", and asks for a renewal "by the end of the business day of
// the 59th day": at the deadline itself the token may still be re-enabled or
// renewed. The reminders count back from the deadline, "the actual token
// revocation date".
func pastDeadline(deadline time.Time) time.Time { return deadline.Add(time.Nanosecond) }

// schedule records when the sweep next has something to do for t.
func (s *Server) schedule(t *Token) {
	t.NextEventAt = time.Time{}
	if ev, ok := s.nextEvent(t); ok {
		t.NextEventAt = ev.at
	}
}

// SweepReport says what a sweep did.
type SweepReport struct {
	Reminders int `json:"reminders"`
	Expired   int `json:"expired"`
	Revoked   int `json:"revoked"`
	// AuditPruned is how many audit entries the retention policy deleted.
	AuditPruned int `json:"audit_pruned,omitempty"`
	// The phone OTP subscriptions' reminders, expiries and lapses.
	PhoneReminders int `json:"phone_reminders,omitempty"`
	PhoneExpired   int `json:"phone_expired,omitempty"`
	PhoneLapsed    int `json:"phone_lapsed,omitempty"`
}

// Sweep applies every reminder, expiry and automatic revocation due at the
// clock's now, the tokens' and then the phone OTP subscriptions' (see
// docs/lifecycle.md, “Automatic events”). Each event
// happens at its own due time — its notification and audit entry carry that
// time — so moving a virtual clock two years at once gives the same history
// as sweeping every day. Then it applies the audit log's retention
// (docs/lifecycle.md, “The audit log”). Run it whenever the clock moves
// (the HTTP server does, on every move of its virtual clock) or
// periodically.
//
// On a store shared by several servers (Exclusive), one sweeps at a time:
// a sweep asked for while another server sweeps waits for it, then does
// what is left.
func (s *Server) Sweep(ctx context.Context) (SweepReport, error) {
	ex, ok := s.store.(Exclusive)
	if !ok {
		return s.sweep(ctx)
	}
	var rep SweepReport
	err := ex.Exclusive(ctx, "sweep", func(ctx context.Context) (err error) {
		rep, err = s.sweep(ctx)
		return err
	})
	return rep, err
}

func (s *Server) sweep(ctx context.Context) (SweepReport, error) {
	var rep SweepReport
	now, err := s.now(ctx)
	if err != nil {
		return rep, err
	}
	var due []Token
	if err := s.view(ctx, func(tx Tx) (err error) { due, err = tx.TokensDue(now); return err }); err != nil {
		return rep, err
	}
	for _, d := range due {
		var r SweepReport // of the Update's last run (Store)
		err := s.store.Update(ctx, func(tx Tx) error {
			r = SweepReport{}
			t, err := tx.Token(d.Serial)
			if err != nil {
				return err
			}
			return s.applyDue(tx, &t, now, &r)
		})
		if err != nil {
			return rep, fmt.Errorf("sweep of %s: %w", d.Serial, err)
		}
		rep.add(r)
	}
	if err := s.sweepAccounts(ctx, now, &rep); err != nil {
		return rep, err
	}
	n, err := s.pruneAudit(ctx, now)
	rep.AuditPruned = n
	return rep, err
}

// add counts r's events in rep too.
func (rep *SweepReport) add(r SweepReport) {
	rep.Reminders += r.Reminders
	rep.Expired += r.Expired
	rep.Revoked += r.Revoked
	rep.AuditPruned += r.AuditPruned
	rep.PhoneReminders += r.PhoneReminders
	rep.PhoneExpired += r.PhoneExpired
	rep.PhoneLapsed += r.PhoneLapsed
}

func (s *Server) applyDue(tx Tx, t *Token, now time.Time, rep *SweepReport) error {
	var acc *Account
	if t.OwnerID != "" {
		a, err := tx.Account(t.OwnerID)
		if err == nil {
			acc = &a
		}
	}
	for {
		ev, ok := s.nextEvent(t)
		if !ok || ev.at.After(now) {
			break
		}
		outcome := string(ev.kind)
		switch ev.kind {
		case eventReminder:
			t.Reminders = append(t.Reminders, ev.name)
			rep.Reminders++
			if acc != nil {
				// A revocation reminder's remedy is the way out of the
				// token's state: re-enable a suspended token, renew an
				// expired one.
				note, v := noteExpiryReminder, noteValues{serial: t.Serial, expires: date(t.ExpiresAt)}
				if ev.why != whyExpiry {
					note, v = noteRevocationReminderExpired, noteValues{serial: t.Serial, deadline: date(ev.deadline)}
					if t.Status == StatusSuspended {
						note = noteRevocationReminderSuspended
					}
				}
				if err := s.notify(tx, ev.at, *acc, note, v); err != nil {
					return err
				}
			}
		case eventExpire:
			t.Status, t.Reminders = StatusExpired, nil
			t.endSessions()
			rep.Expired++
			if acc != nil {
				if err := s.notify(tx, ev.at, *acc, noteExpired, noteValues{serial: t.Serial, expires: date(ev.at)}); err != nil {
					return err
				}
			}
		case eventRevoke:
			t.Status, t.RevokedAt, t.RevokedBy, t.Reminders = StatusRevoked, ev.at, ActorSystem, nil
			t.endSessions()
			rep.Revoked++
			outcome = "revoke (" + string(ev.why) + ")"
			if acc != nil {
				note := noteRevokedExpired
				if ev.why == whySuspended {
					note = noteRevokedSuspended
				}
				if err := s.notify(tx, ev.at, *acc, note, noteValues{serial: t.Serial}); err != nil {
					return err
				}
				// The account's last credential may have gone with it.
				if err := s.dropProofingWithoutCredential(tx, acc, ev.at, t.Serial); err != nil {
					return err
				}
				if err := tx.PutAccount(*acc); err != nil {
					return err
				}
			}
		}
		if err := addAudit(tx, AuditEntry{At: ev.at, Actor: System.String(), Action: "sweep." + string(ev.kind), Target: t.Serial, Outcome: "ok", Detail: outcome}); err != nil {
			return err
		}
	}
	s.schedule(t)
	return tx.PutToken(*t)
}
