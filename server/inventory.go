package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/internal/seedfile"
)

// ImportSeeds adds seed-file tokens to the inventory, all or nothing, with
// their secrets sealed. Each starts Pending Activation. A serial already in
// the inventory refuses the whole import (conflict).
func (s *Server) ImportSeeds(ctx context.Context, actor Actor, seeds []Seed) ([]string, error) {
	if err := s.checkIDs(actorRef(&actor)); err != nil {
		return nil, err
	}
	if len(seeds) == 0 {
		return nil, s.refuse(CodeBadRequest, "the seed file holds no tokens")
	}
	toks := make([]Token, 0, len(seeds))
	seen := map[string]bool{}
	for i, sd := range seeds {
		if err := sd.Validate(); err != nil {
			return nil, s.refuse(CodeBadRequest, "token %d (%s): %v", i+1, sd.Serial, err)
		}
		if !validID(sd.Serial) {
			return nil, s.refuse(CodeBadRequest, "token %d: serial must be letters, digits, '.', '_', '-' or '@'", i+1)
		}
		if err := s.checkSeedLimits(sd); err != nil {
			return nil, s.refuse(CodeBadRequest, "token %d (%s): %v", i+1, sd.Serial, err)
		}
		sd.Serial = canonicalSerial(sd.Serial) // sealed and kept upper-case (docs/lifecycle.md, “Identifiers”)
		if seen[sd.Serial] {
			return nil, s.refuse(CodeBadRequest, "serial %s appears twice", sd.Serial)
		}
		seen[sd.Serial] = true
		sealed, err := s.sealer.seal(sd.Serial, sd.Secret)
		if err != nil {
			return nil, err
		}
		t := Token{Serial: sd.Serial, Manufacturer: sd.Manufacturer, Kind: sd.Kind, Algorithm: sd.Algorithm, Digits: sd.Digits,
			SealedSecret: sealed, Status: StatusPendingActivation, LastStep: -1}
		if sd.Kind == oath.TOTP {
			t.PeriodS = int64(sd.Period / time.Second)
			if t.PeriodS == 0 {
				t.PeriodS = 30
			}
			t.DriftSteps = sd.DriftSteps // a vendor's measured drift is a fair first guess
		} else {
			t.LastStep = int64(sd.Counter) - 1 // the next code is the counter's; checkSeedLimits keeps it in range
		}
		toks = append(toks, t)
	}
	serials := make([]string, len(toks))
	err := s.do(ctx, actor, "inventory.import", fmt.Sprintf("%d tokens", len(toks)), func(tx Tx, now time.Time) error {
		if !actor.Admin {
			return s.refuse(CodeForbidden, "only an administrator imports tokens")
		}
		for i := range toks {
			if _, err := tx.Token(toks[i].Serial); err == nil {
				return s.refuse(CodeConflict, "serial %s is already in the inventory (serials do not tell upper from lower case): nothing was imported", toks[i].Serial)
			} else if !errors.Is(err, ErrNoRecord) {
				return err
			}
		}
		for i := range toks {
			toks[i].ImportedAt = now
			if err := tx.PutToken(toks[i]); err != nil {
				return err
			}
			serials[i] = toks[i].Serial
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return serials, nil
}

// Sponsor makes a pending token the user's to activate: a partner pays
// for it (so its year of validity starts now), by an optional deadline, and
// optionally on behalf of an application whose terms the user must accept
// first. Level is 2 or 3 (3 needs identity proofing); 0 means 2.
func (s *Server) Sponsor(ctx context.Context, actor Actor, sp Sponsorship) (Sponsorship, error) {
	if err := s.checkIDs(actorRef(&actor), userRef(&sp.UserID), serialRef(&sp.Serial), optional(appRef(&sp.ApplicationID)), optional(licenceKeyRef(&sp.LicenceKey))); err != nil {
		return Sponsorship{}, err
	}
	if sp.Level == 0 {
		sp.Level = LevelUnproofed
	}
	if sp.Level != LevelUnproofed && sp.Level != LevelProofed {
		return Sponsorship{}, s.refuse(CodeBadRequest, "level must be 2 or 3")
	}
	err := s.do(ctx, actor, "token.sponsor", sp.Serial, func(tx Tx, now time.Time) error {
		if !actor.Admin {
			return s.refuse(CodeForbidden, "only an administrator sponsors tokens")
		}
		if _, err := s.account(tx, sp.UserID); err != nil {
			return err
		}
		t, err := tx.Token(sp.Serial)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no token %q in the inventory", sp.Serial)
		}
		if err != nil {
			return err
		}
		if t.Status != StatusPendingActivation {
			return s.refuse(CodeConflict, "token %s is %s, not pending activation", t.Serial, t.Status)
		}
		if sp.ApplicationID != "" {
			if _, err := tx.Application(sp.ApplicationID); errors.Is(err, ErrNoRecord) {
				return s.refuse(CodeNotFound, "no application %q", sp.ApplicationID)
			}
		}
		sp.CreatedAt, sp.Used = now, false
		t.PurchasedAt = now
		if err := tx.PutToken(t); err != nil {
			return err
		}
		if err := tx.PutSponsorship(sp); err != nil {
			return err
		}
		a, err := tx.Account(sp.UserID)
		if err != nil {
			return err
		}
		if sp.ActivateBy.IsZero() {
			return s.notify(tx, now, a, noteSponsorship, noteValues{serial: t.Serial})
		}
		return s.notify(tx, now, a, noteSponsorshipBy, noteValues{serial: t.Serial, deadline: sp.ActivateBy.UTC().Format("2006-01-02 15:04 MST")})
	})
	if err != nil {
		return Sponsorship{}, err
	}
	return sp, nil
}

// CreateLicenceKey sells a token: a licence key bound to a pending serial
// and a product (level 2 without identity proofing, 3 with). Its year of
// validity starts now.
func (s *Server) CreateLicenceKey(ctx context.Context, actor Actor, serial string, level Level) (string, error) {
	if err := s.checkIDs(actorRef(&actor), serialRef(&serial)); err != nil {
		return "", err
	}
	if level == 0 {
		level = LevelUnproofed
	}
	if level != LevelUnproofed && level != LevelProofed {
		return "", s.refuse(CodeBadRequest, "level must be 2 or 3")
	}
	key := randomString(4, "ABCDEFGHJKLMNPQRSTUVWXYZ") + "-" + randomString(4, "23456789ABCDEFGHJKLMNPQRSTUVWXYZ") + "-" +
		randomString(4, "23456789ABCDEFGHJKLMNPQRSTUVWXYZ") + "-" + randomString(4, "23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
	err := s.do(ctx, actor, "licence.create", serial, func(tx Tx, now time.Time) error {
		if !actor.Admin {
			return s.refuse(CodeForbidden, "only an administrator sells licence keys")
		}
		t, err := tx.Token(serial)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no token %q in the inventory", serial)
		}
		if err != nil {
			return err
		}
		if t.Status != StatusPendingActivation {
			return s.refuse(CodeConflict, "token %s is %s, not pending activation", t.Serial, t.Status)
		}
		t.PurchasedAt = now
		if err := tx.PutToken(t); err != nil {
			return err
		}
		return tx.PutLicenceKey(LicenceKey{Key: key, Serial: serial, Level: level, PurchasedAt: now})
	})
	if err != nil {
		return "", err
	}
	return key, nil
}

// RedeemLicenceKey is a user entering a licence key: the serial it is bound
// to becomes theirs to activate.
func (s *Server) RedeemLicenceKey(ctx context.Context, userID, key string) error {
	if err := s.checkIDs(userRef(&userID), licenceKeyRef(&key)); err != nil {
		return err
	}
	return s.do(ctx, AsUser(userID), "licence.redeem", userID, func(tx Tx, now time.Time) error {
		if _, err := s.account(tx, userID); err != nil {
			return err
		}
		lk, err := tx.LicenceKey(key)
		if errors.Is(err, ErrNoRecord) {
			return s.refuse(CodeNotFound, "no such licence key")
		}
		if err != nil {
			return err
		}
		if lk.RedeemedBy != "" && lk.RedeemedBy != userID {
			return s.refuse(CodeConflict, "the licence key was redeemed by another account")
		}
		lk.RedeemedBy, lk.RedeemedAt = userID, now
		if err := tx.PutLicenceKey(lk); err != nil {
			return err
		}
		// The entitlement to activate lives with the sponsorships.
		return tx.PutSponsorship(Sponsorship{UserID: userID, Serial: lk.Serial, Level: lk.Level, LicenceKey: lk.Key, CreatedAt: now})
	})
}

// ImportSeedFile decodes a seed file (PSKC, OATH CSV or otpauth URIs, as
// opts says or detected) and imports its tokens, all or nothing. A file that
// cannot be read is a bad request whose detail says why — never with a
// secret in it.
func (s *Server) ImportSeedFile(ctx context.Context, actor Actor, data []byte, opts ImportOptions) ([]string, error) {
	if err := s.checkIDs(actorRef(&actor)); err != nil {
		return nil, err
	}
	if !actor.Admin {
		return nil, s.refuse(CodeForbidden, "only an administrator imports tokens")
	}
	f, err := seedfile.ParseFormat(opts.Format)
	if err != nil {
		return nil, s.refuse(CodeBadRequest, "%v", err)
	}
	seeds, err := seedfile.Decode(data, seedfile.DecodeOptions{Format: f, Key: opts.Key, Password: opts.Password})
	if err != nil {
		return nil, s.refuse(CodeBadRequest, "%v", err)
	}
	return s.ImportSeeds(ctx, actor, seeds)
}
