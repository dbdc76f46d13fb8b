package server

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Phone OTP: the second credential type (see docs/lifecycle.md, “Phone OTP
// and identity proofing”). Codes that the system "sends" by text or voice
// go to the outbox, where tests read them; the server keeps only an HMAC of
// each (codeHash), and compares in constant time.

// The methods a phone receives its codes by.
const (
	PhoneText  = "text"
	PhoneVoice = "voice"
)

// The states of a phone OTP subscription (SubscriptionView.Status).
const (
	SubscriptionActive  = "active"
	SubscriptionExpired = "expired"
	SubscriptionLapsed  = "lapsed"
)

// PhoneSubscription is an account's phone OTP subscription: the guide's
// annual subscription ("valid for one year from the date of purchase, and
// the renewal period lasts for 12 months"). It starts when the account's
// first phone is verified, expires Policy.PhoneValidity later, may be
// renewed until Policy.PhoneRenewalWindow after its expiry, and then lapses.
type PhoneSubscription struct {
	StartedAt time.Time `json:"started_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Expired is set by the sweep at the expiry (the refusals go by
	// ExpiresAt, before the sweep too); LapsedAt when it lapsed.
	Expired  bool      `json:"expired,omitempty"`
	LapsedAt time.Time `json:"lapsed_at,omitzero"`
	// Epoch counts the times the subscription stopped letting its phones log
	// in (expired, lapsed): each ends the phone OTP sessions of before.
	Epoch int `json:"epoch,omitempty"`
	// Reminders are the reminders already sent in the current state.
	Reminders []string `json:"reminders,omitempty"`
}

// PhoneSend is a code sent to a number, for the send limit.
type PhoneSend struct {
	Number string    `json:"number"`
	At     time.Time `json:"at"`
}

// PhoneView is a registered phone as the server tells it: never its code.
type PhoneView struct {
	Number     string     `json:"number"`
	Method     string     `json:"method"`
	Verified   bool       `json:"verified"`
	AddedAt    time.Time  `json:"added_at"`
	VerifiedAt *time.Time `json:"verified_at,omitempty"`
}

func phoneView(p Phone) PhoneView {
	v := PhoneView{Number: p.Number, Method: p.Method, Verified: p.Verified, AddedAt: p.AddedAt}
	if p.Verified {
		at := p.VerifiedAt
		v.VerifiedAt = &at
	}
	return v
}

// PhonesView is the phones an account logs in with and their subscription.
type PhonesView struct {
	UserID string `json:"user_id"`
	// OwnerID is the account the phones are registered on: the account
	// itself, or for a connected account its parent, whose phones it uses.
	OwnerID      string            `json:"owner_id"`
	Phones       []PhoneView       `json:"phones"`
	Subscription *SubscriptionView `json:"subscription"`
}

// SubscriptionView is a phone OTP subscription as of the server's clock.
type SubscriptionView struct {
	// Status is active, expired (it may still be renewed) or lapsed.
	Status    string    `json:"status"`
	StartedAt time.Time `json:"started_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// RenewBy is the last instant a renewal is taken: ExpiresAt plus the
	// policy's renewal window.
	RenewBy  time.Time  `json:"renew_by"`
	LapsedAt *time.Time `json:"lapsed_at,omitempty"`
}

// PhoneCodeSent says where a code went and until when it is good.
type PhoneCodeSent struct {
	Number string `json:"number"`
	Method string `json:"method"`
	// Purpose is "verify" for a phone not verified yet (the code verifies
	// it), "login" for a verified one (the code logs in or elevates).
	Purpose   string    `json:"purpose"`
	ExpiresAt time.Time `json:"expires_at"`
}

// The purposes of a phone code; a code of one purpose does not serve the
// other.
const (
	purposeVerify = "verify"
	purposeLogin  = "login"
)

// deriveCodeKey is the key of codeHash, derived from the seed key so that
// it is as secret as the seeds and needs no file of its own.
func deriveCodeKey(seedKey []byte) []byte {
	m := hmac.New(sha256.New, seedKey)
	m.Write([]byte("tokenlab phone and proofing codes v1"))
	return m.Sum(nil)
}

// codeHash is how a phone or proofing code is kept: an HMAC under a key the
// database does not hold, bound to the account, the purpose and the number.
// A plain hash of a 6-digit code would give the code back to anyone who
// reads the database in a million tries.
func (s *Server) codeHash(userID, purpose, number, code string) []byte {
	m := hmac.New(sha256.New, s.codeKey)
	for _, part := range []string{userID, purpose, number, code} {
		m.Write([]byte(part))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// CheckPhoneNumber refuses a number that is not in E.164 form: "+", the
// country code and the subscriber number, 8 to 15 digits in all (E.164
// allows 15), without spaces, dashes or parentheses, as the guide asks
// ("do not include parenthesis, dashes, etc.").
func CheckPhoneNumber(n string) error {
	const form = "the phone number must be in E.164 form: + and 8 to 15 digits, the first not 0, with no spaces, dashes or parentheses, e.g. +17035550100"
	if len(n) < 9 || len(n) > 16 || n[0] != '+' || n[1] == '0' {
		return errors.New(form)
	}
	for i := 1; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return errors.New(form)
		}
	}
	return nil
}

// CheckPhoneMethod refuses a delivery method other than text or voice.
func CheckPhoneMethod(m string) error {
	if m != PhoneText && m != PhoneVoice {
		return errors.New(`the method must be "text" or "voice"`)
	}
	return nil
}

// CheckPhoneCode refuses a phone code that is not 6 digits: a malformed
// code is a bad request, and is not counted as a wrong one.
func CheckPhoneCode(c string) error {
	if len(c) != 6 || !digitsOnly(c) {
		return errors.New("a phone code is 6 digits")
	}
	return nil
}

func digitsOnly(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkPhoneArgs refuses a malformed number, method or code as a bad
// request. A number or a code, which a user types, gets a message that says
// what to type (MessageVariants); a method is the portal's to get right.
func (s *Server) checkPhoneArgs(number, method, code *string) error {
	if number != nil {
		if err := CheckPhoneNumber(*number); err != nil {
			e := s.refuse(CodeBadRequest, "%v", err)
			e.Message = badPhoneNumberMessage
			return e
		}
	}
	if method != nil {
		if err := CheckPhoneMethod(*method); err != nil {
			return s.refuse(CodeBadRequest, "%v", err)
		}
	}
	if code != nil {
		if err := CheckPhoneCode(*code); err != nil {
			e := s.refuse(CodeBadRequest, "%v", err)
			e.Message = badPhoneCodeMessage
			return e
		}
	}
	return nil
}

func phoneIndex(acc Account, number string) int {
	return slices.IndexFunc(acc.Phones, func(p Phone) bool { return p.Number == number })
}

// subStatus is a subscription's state at now, from its times: an expired or
// lapsed subscription refuses before the sweep has marked it.
func (s *Server) subStatus(sub *PhoneSubscription, now time.Time) string {
	switch {
	case sub == nil:
		return ""
	case !sub.LapsedAt.IsZero() || now.After(sub.ExpiresAt.Add(s.policy.PhoneRenewalWindow)):
		return SubscriptionLapsed
	case !now.Before(sub.ExpiresAt):
		return SubscriptionExpired
	}
	return SubscriptionActive
}

func (s *Server) subView(sub *PhoneSubscription, now time.Time) *SubscriptionView {
	if sub == nil {
		return nil
	}
	v := &SubscriptionView{Status: s.subStatus(sub, now), StartedAt: sub.StartedAt, ExpiresAt: sub.ExpiresAt,
		RenewBy: sub.ExpiresAt.Add(s.policy.PhoneRenewalWindow)}
	if !sub.LapsedAt.IsZero() {
		at := sub.LapsedAt
		v.LapsedAt = &at
	}
	return v
}

// refuseSubscription refuses a phone login (or code) under a subscription
// that does not let its phones log in.
func (s *Server) refuseSubscription(owner Account, now time.Time) error {
	sub := owner.PhoneSubscription
	switch s.subStatus(sub, now) {
	case SubscriptionExpired:
		return s.refuse(CodePhoneSubscriptionExpired, "the phone OTP subscription of %s expired on %s; it may be renewed until %s",
			owner.UserID, sub.ExpiresAt.UTC().Format(time.RFC3339), sub.ExpiresAt.Add(s.policy.PhoneRenewalWindow).UTC().Format(time.RFC3339))
	case SubscriptionLapsed:
		return s.refuse(CodePhoneSubscriptionLapsed, "the phone OTP subscription of %s lapsed", owner.UserID)
	}
	return nil
}

// phoneOwner is the account whose phones acc logs in with: its own, or a
// connected account's parent's.
func (s *Server) phoneOwner(tx Tx, acc Account) (Account, error) {
	if acc.ParentID == "" {
		return acc, nil
	}
	return s.account(tx, acc.ParentID)
}

// findPhone is the index of a phone acc logs in with, or the refusal: a
// number not registered is not_found, unless the subscription lapsed (which
// removed its phones), so that the user hears why.
func (s *Server) findPhone(owner Account, number string, now time.Time) (int, error) {
	i := phoneIndex(owner, number)
	if i >= 0 {
		return i, nil
	}
	if s.subStatus(owner.PhoneSubscription, now) == SubscriptionLapsed {
		return -1, s.refuseSubscription(owner, now)
	}
	return -1, s.refuse(CodeNotFound, "phone %s is not registered on %s", number, owner.UserID)
}

// holdsOTPCredential reports whether acc holds an OTP credential of its
// own: a verified phone under a subscription that has not lapsed, or an
// activated token that is not revoked (other than exceptSerial, which is
// being revoked).
func (s *Server) holdsOTPCredential(tx Tx, acc Account, now time.Time, exceptSerial string) (bool, error) {
	if s.subStatus(acc.PhoneSubscription, now) != SubscriptionLapsed && acc.PhoneSubscription != nil &&
		slices.ContainsFunc(acc.Phones, func(p Phone) bool { return p.Verified }) {
		return true, nil
	}
	owned, err := tx.Tokens(TokenFilter{OwnerID: acc.UserID})
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(owned, func(t Token) bool { return t.Status != StatusRevoked && t.Serial != exceptSerial }), nil
}

// dropProofingWithoutCredential clears acc's identity proofing when, having
// just lost an OTP credential, it holds none any more: the caller calls it
// only on such a loss, so that a user proofed before their first
// credential keeps the proofing. The guide: "if you lose your OTP
// token, you will not be able to register a new token without repeating the
// identity proofing process", and a user who registers no token "must
// register a phone …, otherwise you will be required to repeat the identity
// verification process". The caller writes acc.
func (s *Server) dropProofingWithoutCredential(tx Tx, acc *Account, now time.Time, exceptSerial string) error {
	if !acc.Proofed && acc.Proofing == nil {
		return nil
	}
	held, err := s.holdsOTPCredential(tx, *acc, now, exceptSerial)
	if err != nil || held {
		return err
	}
	acc.Proofed, acc.Proofing = false, nil
	return nil
}

// mayChangePhones refuses a change of acc's phones the guide's rule
// forbids: "the phone numbers can be updated only after you login with your
// phone OTP". It applies once the account holds an OTP credential — a
// verified phone, and also a token, or anyone who knew the password of a
// token holder could add a phone of their own and log in with it — and then
// takes the session of a phone or hardware OTP login of the account.
func (s *Server) mayChangePhones(tx Tx, now time.Time, acc Account, sessionID string) error {
	if s.policy.PhoneChangeWithoutOTP {
		return nil
	}
	held, err := s.holdsOTPCredential(tx, acc, now, "")
	if err != nil || !held {
		return err
	}
	if sessionID == "" {
		return s.refuse(CodePhoneOTPRequired, "%s holds an OTP credential: give the session ID of a phone or hardware OTP login", acc.UserID)
	}
	ss, err := s.liveSession(tx, sessionID, now)
	if err != nil {
		return err
	}
	if ss.UserID != acc.UserID {
		return s.refuse(CodeForbidden, "the session is not %s's", acc.UserID)
	}
	if ss.Strength.Credential < CredentialPhoneOTP {
		return s.refuse(CodePhoneOTPRequired, "the session has %s strength: log in or elevate with a phone or hardware OTP", ss.Strength.Credential)
	}
	return nil
}

// noteSend counts a code about to be sent to number, or refuses it: at most
// PhoneCodeSends to a number, and PhoneCodeSends × MaxPhones to all the
// account's numbers, within PhoneCodeSendWindow. The sends outside the
// window are dropped, so the account keeps at most the latter many. The
// caller writes acc.
func (s *Server) noteSend(acc *Account, number string, now time.Time) error {
	since := now.Add(-s.policy.PhoneCodeSendWindow)
	var kept []PhoneSend
	n := 0
	for _, ps := range acc.PhoneSends {
		if ps.At.After(since) {
			kept = append(kept, ps)
			if ps.Number == number {
				n++
			}
		}
	}
	if n >= s.policy.PhoneCodeSends {
		return s.refuse(CodePhoneCodeLimit, "%s was sent %d codes in the last %s", number, n, s.policy.PhoneCodeSendWindow)
	}
	if all := s.policy.PhoneCodeSends * s.policy.MaxPhones; len(kept) >= all {
		return s.refuse(CodePhoneCodeLimit, "the phones of %s were sent %d codes in the last %s", acc.UserID, len(kept), s.policy.PhoneCodeSendWindow)
	}
	acc.PhoneSends = append(kept, PhoneSend{Number: number, At: now})
	return nil
}

// sendCode gives p a new code for the account forID (replacing any code
// it had) and sends it, by p's method, to the outbox of forID.
func (s *Server) sendCode(tx Tx, now time.Time, p *Phone, forID, purpose, code string) error {
	p.CodeHash, p.CodeExpires, p.CodeFor, p.CodeAttempts = s.codeHash(forID, purpose, p.Number, code), now.Add(s.policy.PhoneCodeValidity), forID, 0
	note := notePhoneCodeText
	if p.Method == PhoneVoice {
		note = notePhoneCodeVoice
	}
	return s.notifyTo(tx, now, forID, p.Number, note, noteValues{code: code, validity: inWords(s.policy.PhoneCodeValidity)})
}

// inWords is a code's validity as a text message says it: "2 minutes".
func inWords(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return fmt.Sprintf("%d %ss", n, unit)
	}
	switch {
	case d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d%time.Minute == 0:
		return plural(int64(d/time.Minute), "minute")
	case d%time.Second == 0:
		return plural(int64(d/time.Second), "second")
	}
	return d.String()
}

// takeCode checks a code entered for p, for the account forID: right, it is
// used up (a code serves once); wrong, it counts against the code, which is
// void after PhoneCodeAttempts. Every wrong, expired, used or missing code
// is phone_code_incorrect alike. The caller writes p's account.
func (s *Server) takeCode(p *Phone, forID, purpose, code string, now time.Time) error {
	right := hmac.Equal(p.CodeHash, s.codeHash(forID, purpose, p.Number, code))
	live := p.CodeHash != nil && now.Before(p.CodeExpires)
	if right && live && p.CodeFor == forID {
		p.CodeHash, p.CodeExpires, p.CodeFor, p.CodeAttempts = nil, time.Time{}, "", 0
		return nil
	}
	if !live {
		p.CodeHash, p.CodeExpires, p.CodeFor, p.CodeAttempts = nil, time.Time{}, "", 0
		return s.refuse(CodePhoneCodeIncorrect, "no live code for %s: none sent, used, or expired", p.Number)
	}
	p.CodeAttempts++
	if p.CodeAttempts >= s.policy.PhoneCodeAttempts {
		p.CodeHash, p.CodeExpires, p.CodeFor, p.CodeAttempts = nil, time.Time{}, "", 0
		return s.refuse(CodePhoneCodeIncorrect, "wrong code for %s; the code is void after %d wrong ones: send a new one", p.Number, s.policy.PhoneCodeAttempts)
	}
	return s.refuse(CodePhoneCodeIncorrect, "wrong code for %s (%d of %d before the code is void)", p.Number, p.CodeAttempts, s.policy.PhoneCodeAttempts)
}

// ownPhones loads the account whose phones a user changes: a connected
// account has none of its own.
func (s *Server) ownPhones(tx Tx, userID string) (Account, error) {
	acc, err := s.account(tx, userID)
	if err != nil {
		return acc, err
	}
	if acc.ParentID != "" {
		return acc, s.refuse(CodeActionUnavailable, "%s is connected to %s and uses its phones", userID, acc.ParentID)
	}
	return acc, nil
}

// AddPhone registers a phone (E.164, e.g. +17035550100) for phone OTP, by
// text or voice, at most Policy.MaxPhones, and sends it a code to verify it
// with (VerifyPhone). Once the account holds an OTP credential, sessionID
// must be a phone or hardware OTP login of the account (mayChangePhones);
// otherwise it may be "".
func (s *Server) AddPhone(ctx context.Context, userID, number, method, sessionID string) (PhoneView, error) {
	if err := s.checkIDs(userRef(&userID), optional(sessionRef(&sessionID))); err != nil {
		return PhoneView{}, err
	}
	if err := s.checkPhoneArgs(&number, &method, nil); err != nil {
		return PhoneView{}, err
	}
	code := randomString(6, "0123456789")
	var out PhoneView
	err := s.do(ctx, AsUser(userID), "phone.add", userID, func(tx Tx, now time.Time) error {
		acc, err := s.ownPhones(tx, userID)
		if err != nil {
			return err
		}
		// Before anything that tells which numbers the account has.
		if err := s.mayChangePhones(tx, now, acc, sessionID); err != nil {
			return err
		}
		if phoneIndex(acc, number) >= 0 {
			return s.refuse(CodeConflict, "phone %s is already registered", number)
		}
		if len(acc.Phones) >= s.policy.MaxPhones {
			return s.refuse(CodePhoneLimit, "%d phones already registered", len(acc.Phones))
		}
		if err := s.noteSend(&acc, number, now); err != nil {
			return err
		}
		acc.LastPhoneID++
		p := Phone{ID: acc.LastPhoneID, Number: number, Method: method, AddedAt: now}
		if err := s.sendCode(tx, now, &p, userID, purposeVerify, code); err != nil {
			return err
		}
		acc.Phones = append(acc.Phones, p)
		out = phoneView(p)
		return tx.PutAccount(acc)
	})
	return out, err
}

// VerifyPhone verifies a registered phone with the code sent to it: only a
// verified phone logs in. The first phone verified starts the account's
// phone OTP subscription (or a new one, after one lapsed).
func (s *Server) VerifyPhone(ctx context.Context, userID, number, code string) (PhoneView, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return PhoneView{}, err
	}
	if err := s.checkPhoneArgs(&number, nil, &code); err != nil {
		return PhoneView{}, err
	}
	var out PhoneView
	err := s.do(ctx, AsUser(userID), "phone.verify", userID, func(tx Tx, now time.Time) error {
		acc, err := s.ownPhones(tx, userID)
		if err != nil {
			return err
		}
		i := phoneIndex(acc, number)
		if i < 0 {
			return s.refuse(CodeNotFound, "phone %s is not registered on %s", number, userID)
		}
		p := &acc.Phones[i]
		if p.Verified {
			return s.refuse(CodeConflict, "phone %s is already verified", number)
		}
		if err := s.takeCode(p, userID, purposeVerify, code, now); err != nil {
			if perr := tx.PutAccount(acc); perr != nil {
				return perr
			}
			return err
		}
		p.Verified, p.VerifiedAt = true, now
		out = phoneView(*p)
		if st := s.subStatus(acc.PhoneSubscription, now); st == "" || st == SubscriptionLapsed {
			epoch := 0
			if acc.PhoneSubscription != nil {
				epoch = acc.PhoneSubscription.Epoch + 1
			}
			acc.PhoneSubscription = &PhoneSubscription{StartedAt: now, ExpiresAt: now.Add(s.policy.PhoneValidity), Epoch: epoch}
			s.scheduleAccount(&acc)
		}
		return tx.PutAccount(acc)
	})
	return out, err
}

// RemovePhone removes a phone; sessionID as for AddPhone. The sessions its
// codes logged in end. Removing the account's last OTP credential clears
// its identity proofing (dropProofingWithoutCredential).
func (s *Server) RemovePhone(ctx context.Context, userID, number, sessionID string) error {
	if err := s.checkIDs(userRef(&userID), optional(sessionRef(&sessionID))); err != nil {
		return err
	}
	if err := s.checkPhoneArgs(&number, nil, nil); err != nil {
		return err
	}
	return s.do(ctx, AsUser(userID), "phone.remove", userID, func(tx Tx, now time.Time) error {
		acc, err := s.ownPhones(tx, userID)
		if err != nil {
			return err
		}
		if err := s.mayChangePhones(tx, now, acc, sessionID); err != nil {
			return err
		}
		i := phoneIndex(acc, number)
		if i < 0 {
			return s.refuse(CodeNotFound, "phone %s is not registered on %s", number, userID)
		}
		wasCredential := acc.Phones[i].Verified && s.subStatus(acc.PhoneSubscription, now) != SubscriptionLapsed
		acc.Phones = slices.Delete(acc.Phones, i, i+1)
		if wasCredential {
			if err := s.dropProofingWithoutCredential(tx, &acc, now, ""); err != nil {
				return err
			}
		}
		return tx.PutAccount(acc)
	})
}

// Phones returns the phones an account logs in with — a connected
// account's parent's — and their subscription.
func (s *Server) Phones(ctx context.Context, userID string) (PhonesView, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return PhonesView{}, err
	}
	now, err := s.now(ctx)
	if err != nil {
		return PhonesView{}, err
	}
	var out PhonesView
	err = s.view(ctx, func(tx Tx) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		owner, err := s.phoneOwner(tx, acc)
		if err != nil {
			return err
		}
		out = PhonesView{UserID: userID, OwnerID: owner.UserID, Phones: []PhoneView{}, Subscription: s.subView(owner.PhoneSubscription, now)}
		for _, p := range owner.Phones {
			out.Phones = append(out.Phones, phoneView(p))
		}
		return nil
	})
	return out, err
}

// SendPhoneCode sends a 6-digit code to a phone the user logs in with, valid
// for Policy.PhoneCodeValidity; sending again (the guide's "Resend Code")
// replaces the code. A verified phone gets a login code (LoginWithPhone,
// ElevateWithPhone), refused once the subscription has expired; a phone not
// verified yet gets its verification code again (VerifyPhone). At most
// Policy.PhoneCodeSends to a number within Policy.PhoneCodeSendWindow.
func (s *Server) SendPhoneCode(ctx context.Context, userID, number string) (PhoneCodeSent, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return PhoneCodeSent{}, err
	}
	if err := s.checkPhoneArgs(&number, nil, nil); err != nil {
		return PhoneCodeSent{}, err
	}
	code := randomString(6, "0123456789")
	var out PhoneCodeSent
	err := s.do(ctx, AsUser(userID), "phone.send", userID, func(tx Tx, now time.Time) error {
		acc, err := s.account(tx, userID)
		if err != nil {
			return err
		}
		owner, err := s.phoneOwner(tx, acc)
		if err != nil {
			return err
		}
		i, err := s.findPhone(owner, number, now)
		if err != nil {
			return err
		}
		p := &owner.Phones[i]
		purpose := purposeLogin
		if !p.Verified {
			if owner.UserID != userID {
				return s.refuse(CodePhoneUnverified, "phone %s of %s is not verified", number, owner.UserID)
			}
			purpose = purposeVerify
		} else if err := s.refuseSubscription(owner, now); err != nil {
			return err
		}
		if err := s.noteSend(&owner, number, now); err != nil {
			return err
		}
		if err := s.sendCode(tx, now, p, userID, purpose, code); err != nil {
			return err
		}
		out = PhoneCodeSent{Number: number, Method: p.Method, Purpose: purpose, ExpiresAt: p.CodeExpires}
		return tx.PutAccount(owner)
	})
	return out, err
}

// phoneOTP checks a login code entered for one of the phones acc logs in
// with, and uses it up; it returns the strength it gives (level 3 when the
// user or, for a connected account, the phone's owner is proofed) and the
// session fields that tie a session to the phone. It writes the phone's
// account.
func (s *Server) phoneOTP(tx Tx, now time.Time, acc Account, number, code string) (Session, error) {
	owner, err := s.phoneOwner(tx, acc)
	if err != nil {
		return Session{}, err
	}
	i, err := s.findPhone(owner, number, now)
	if err != nil {
		return Session{}, err
	}
	p := &owner.Phones[i]
	if !p.Verified || owner.PhoneSubscription == nil { // verifying starts a subscription: without one, nothing logs in
		return Session{}, s.refuse(CodePhoneUnverified, "phone %s is not verified", number)
	}
	if err := s.refuseSubscription(owner, now); err != nil {
		return Session{}, err
	}
	cerr := s.takeCode(p, acc.UserID, purposeLogin, code, now)
	if err := tx.PutAccount(owner); err != nil {
		return Session{}, err
	}
	if cerr != nil {
		return Session{}, cerr
	}
	level := LevelUnproofed
	if acc.Proofed || owner.Proofed {
		level = LevelProofed
	}
	return Session{Strength: Strength{Credential: CredentialPhoneOTP, Level: level},
		Phone: number, PhoneOwner: owner.UserID, PhoneID: p.ID, PhoneEpoch: owner.PhoneSubscription.Epoch}, nil
}

// LoginWithPhone logs in with the password and a phone code: a phone OTP
// session (level 3 when the user is proofed, else 2). A code is used once.
// The password is compared before the write transaction (checkPassword).
func (s *Server) LoginWithPhone(ctx context.Context, userID, password, number, code string) (Session, error) {
	if err := s.checkIDs(userRef(&userID)); err != nil {
		return Session{}, err
	}
	if err := s.checkPhoneArgs(&number, nil, &code); err != nil {
		return Session{}, err
	}
	checked, ok, err := s.checkPassword(ctx, userID, password)
	if err != nil {
		return Session{}, err
	}
	var out Session
	err = s.do(ctx, AsUser(userID), "session.login_phone", userID, func(tx Tx, now time.Time) error {
		acc, err := s.passwordChecked(tx, userID, checked, ok)
		if err != nil {
			return err
		}
		ss, err := s.phoneOTP(tx, now, acc, number, code)
		if err != nil {
			return err
		}
		ss.MustChangePassword = acc.TemporaryPassword
		ss.ID, ss.UserID, ss.CreatedAt, ss.LastUsedAt = randomString(32, "abcdefghijklmnopqrstuvwxyz0123456789"), userID, now, now
		out = ss
		return tx.PutSession(ss)
	})
	return out, err
}

// ElevateWithPhone raises a password-strength session to phone OTP with a
// code sent to one of the user's phones (the guide's "elevate your
// credential strength to Phone OTP after the login"). A session already at
// hardware OTP strength keeps it: the code is used, and the session is not
// lowered.
func (s *Server) ElevateWithPhone(ctx context.Context, sessionID, number, code string) (Session, error) {
	if err := s.checkIDs(sessionRef(&sessionID)); err != nil {
		return Session{}, err
	}
	if err := s.checkPhoneArgs(&number, nil, &code); err != nil {
		return Session{}, err
	}
	var out Session
	err := s.do(ctx, Actor{ID: "session"}, "session.elevate_phone", sessionID, func(tx Tx, now time.Time) error {
		ss, err := s.liveSession(tx, sessionID, now)
		if err != nil {
			return err
		}
		acc, err := s.account(tx, ss.UserID)
		if err != nil {
			return err
		}
		got, err := s.phoneOTP(tx, now, acc, number, code)
		if err != nil {
			return err
		}
		if ss.Strength.Credential != CredentialHardwareOTP {
			ss.Strength, ss.Phone, ss.PhoneOwner, ss.PhoneID, ss.PhoneEpoch = got.Strength, got.Phone, got.PhoneOwner, got.PhoneID, got.PhoneEpoch
		}
		out = ss
		return tx.PutSession(ss)
	})
	return out, err
}

// phoneSessionEnd says whether a session whose strength came from a phone
// has ended because of it (sessionEnd): the phone was removed, or the
// subscription stopped letting it log in, even if it was renewed since.
func (s *Server) phoneSessionEnd(tx Tx, ss Session, now time.Time) (time.Time, string, error) {
	owner, err := tx.Account(ss.PhoneOwner)
	if errors.Is(err, ErrNoRecord) {
		return now, fmt.Sprintf("the account of its phone %s is gone", ss.Phone), nil
	}
	if err != nil {
		return time.Time{}, "", err
	}
	if !slices.ContainsFunc(owner.Phones, func(p Phone) bool { return p.ID == ss.PhoneID }) {
		return now, fmt.Sprintf("its phone %s was removed", ss.Phone), nil
	}
	if sub := owner.PhoneSubscription; sub == nil || sub.Epoch != ss.PhoneEpoch || s.subStatus(sub, now) != SubscriptionActive {
		return now, "its phone OTP subscription expired", nil
	}
	return time.Time{}, "", nil
}

// RenewPhoneSubscription renews an account's phone OTP subscription, by
// the user or an administrator: the expiry moves Policy.PhoneValidity past
// the previous expiry (as a token's renewal does), ahead of time or within
// Policy.PhoneRenewalWindow after it; a lapsed subscription is not renewed.
func (s *Server) RenewPhoneSubscription(ctx context.Context, actor Actor, userID string) (PhonesView, error) {
	if err := s.checkIDs(actorRef(&actor), userRef(&userID)); err != nil {
		return PhonesView{}, err
	}
	err := s.do(ctx, actor, "phone.renew", userID, func(tx Tx, now time.Time) error {
		if !actor.Admin && actor.ID != userID {
			return s.refuse(CodeForbidden, "%s may not renew the phone OTP subscription of %s", actor, userID)
		}
		acc, err := s.ownPhones(tx, userID)
		if err != nil {
			return err
		}
		sub := acc.PhoneSubscription
		switch s.subStatus(sub, now) {
		case "":
			return s.refuse(CodeNotFound, "%s has no phone OTP subscription: verify a phone to start one", userID)
		case SubscriptionLapsed:
			return s.refuseSubscription(acc, now)
		case SubscriptionExpired:
			// Its sessions ended at the expiry, and stay ended.
			sub.Epoch++
		}
		sub.ExpiresAt, sub.Expired, sub.Reminders = sub.ExpiresAt.Add(s.policy.PhoneValidity), false, nil
		s.scheduleAccount(&acc)
		return tx.PutAccount(acc)
	})
	if err != nil {
		return PhonesView{}, err
	}
	return s.Phones(ctx, userID)
}

// The phone OTP subscription's events, besides the token's (sweep.go).
const (
	eventLapse eventKind = "lapse"
	whyLapse   eventWhy  = "lapse" // a reminder: the subscription is to lapse
)

// nextPhoneEvent is the earliest event of acc's subscription not yet done:
// while it is active, the expiry reminder and the expiry; once it expired,
// the lapse reminders and the lapse, just past the renewal window.
func (s *Server) nextPhoneEvent(acc *Account) (event, bool) {
	sub := acc.PhoneSubscription
	if sub == nil || !sub.LapsedAt.IsZero() {
		return event{}, false
	}
	var evs []event
	reminder := func(deadline time.Time, before time.Duration, why eventWhy, since time.Time) {
		at := deadline.Add(-before)
		name := fmt.Sprintf("phone-%s-%dd@%s", why, before/day, deadline.UTC().Format(time.RFC3339))
		if slices.Contains(sub.Reminders, name) || at.Before(since) {
			return // sent, or due before the state began: a reminder is never sent late
		}
		evs = append(evs, event{at: at, name: name, kind: eventReminder, why: why, deadline: deadline})
	}
	if !sub.Expired {
		reminder(sub.ExpiresAt, s.policy.ExpiryReminder, whyExpiry, sub.StartedAt)
		evs = append(evs, event{at: sub.ExpiresAt, kind: eventExpire})
	} else {
		deadline := sub.ExpiresAt.Add(s.policy.PhoneRenewalWindow)
		for _, d := range s.policy.RevocationReminders {
			reminder(deadline, d, whyLapse, sub.ExpiresAt)
		}
		evs = append(evs, event{at: pastDeadline(deadline), kind: eventLapse})
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

// scheduleAccount records when the sweep next has something to do for acc.
func (s *Server) scheduleAccount(acc *Account) {
	acc.NextEventAt = time.Time{}
	if ev, ok := s.nextPhoneEvent(acc); ok {
		acc.NextEventAt = ev.at
	}
}

// sweepAccounts applies the phone OTP subscriptions' due events, each at its
// own due time, as Sweep does the tokens'.
func (s *Server) sweepAccounts(ctx context.Context, now time.Time, rep *SweepReport) error {
	var due []Account
	if err := s.view(ctx, func(tx Tx) (err error) { due, err = tx.AccountsDue(now); return err }); err != nil {
		return err
	}
	for _, d := range due {
		var r SweepReport // of the Update's last run (Store)
		err := s.store.Update(ctx, func(tx Tx) error {
			r = SweepReport{}
			acc, err := tx.Account(d.UserID)
			if err != nil {
				return err
			}
			return s.applyAccountDue(tx, &acc, now, &r)
		})
		if err != nil {
			return fmt.Errorf("sweep of %s: %w", d.UserID, err)
		}
		rep.add(r)
	}
	return nil
}

func (s *Server) applyAccountDue(tx Tx, acc *Account, now time.Time, rep *SweepReport) error {
	for {
		ev, ok := s.nextPhoneEvent(acc)
		if !ok || ev.at.After(now) {
			break
		}
		sub := acc.PhoneSubscription
		renewBy := sub.ExpiresAt.Add(s.policy.PhoneRenewalWindow)
		var err error
		switch ev.kind {
		case eventReminder:
			sub.Reminders = append(sub.Reminders, ev.name)
			rep.PhoneReminders++
			if ev.why == whyExpiry {
				err = s.notify(tx, ev.at, *acc, notePhoneExpiryReminder, noteValues{expires: date(sub.ExpiresAt)})
			} else {
				err = s.notify(tx, ev.at, *acc, notePhoneLapseReminder, noteValues{deadline: date(ev.deadline)})
			}
		case eventExpire:
			sub.Expired, sub.Reminders = true, nil
			sub.Epoch++
			rep.PhoneExpired++
			err = s.notify(tx, ev.at, *acc, notePhoneExpired, noteValues{expires: date(sub.ExpiresAt), deadline: date(renewBy)})
		case eventLapse:
			// "After 12 months, you will need to purchase and setup a
			// brand-new credential": the phones go with the subscription.
			lost := slices.ContainsFunc(acc.Phones, func(p Phone) bool { return p.Verified })
			sub.LapsedAt, sub.Reminders = ev.at, nil
			sub.Epoch++
			acc.Phones = nil
			rep.PhoneLapsed++
			if lost {
				err = s.dropProofingWithoutCredential(tx, acc, ev.at, "")
			}
			if err == nil {
				err = s.notify(tx, ev.at, *acc, notePhoneLapsed, noteValues{})
			}
		}
		if err != nil {
			return err
		}
		if err := addAudit(tx, AuditEntry{At: ev.at, Actor: System.String(), Action: "sweep.phone_" + string(ev.kind), Target: acc.UserID, Outcome: "ok", Detail: string(ev.kind)}); err != nil {
			return err
		}
	}
	s.scheduleAccount(acc)
	return tx.PutAccount(*acc)
}
