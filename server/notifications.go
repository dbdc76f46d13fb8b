package server

import (
	"strings"
	"time"
)

// NotificationKind is what a notification is about: the outbox's Kind,
// stable for a test or a mail template to key on.
type NotificationKind string

// The notification kinds.
const (
	NotificationSponsorship         NotificationKind = "sponsorship"
	NotificationActivation          NotificationKind = "activation"
	NotificationRevocationNotice    NotificationKind = "revocation_notice"
	NotificationTemporaryPassword   NotificationKind = "temporary_password"
	NotificationExpiryReminder      NotificationKind = "expiry_reminder"
	NotificationExpired             NotificationKind = "expired"
	NotificationRevocationReminder  NotificationKind = "revocation_reminder"
	NotificationPhoneCodeText       NotificationKind = "phone_code_text"
	NotificationPhoneCodeVoice      NotificationKind = "phone_code_voice"
	NotificationProofingCodePostal  NotificationKind = "proofing_code_postal"
	NotificationProofingCodeLive    NotificationKind = "proofing_code_live"
	NotificationPhoneExpiryReminder NotificationKind = "phone_expiry_reminder"
	NotificationPhoneExpired        NotificationKind = "phone_expired"
	NotificationPhoneLapseReminder  NotificationKind = "phone_lapse_reminder"
	NotificationPhoneLapsed         NotificationKind = "phone_lapsed"
)

// NotificationEntry is one notification of the catalogue: its kind, when it
// is sent, and its subject and body. {portal} and {operator} are replaced by
// the policy's PortalName and OperatorName; {serial} by the token's serial,
// {expires} by its expiry date, {deadline} by the date something must be
// done by, {password} by a temporary password, {code} by a one-time code and
// {validity} by how long the code is valid. A kind may have several entries
// when the text depends on the case (who revoked, whether there is a
// deadline).
type NotificationEntry struct {
	Kind    NotificationKind
	When    string
	Subject string
	Body    string
}

// Notifications is every e-mail and text the server sends.
var Notifications = []NotificationEntry{
	noteSponsorship, noteSponsorshipBy, noteActivation,
	noteRevokedByAdmin, noteTemporaryPassword,
	noteExpiryReminder, noteExpired,
	noteRevocationReminderSuspended, noteRevokedSuspended,
	noteRevocationReminderExpired, noteRevokedExpired,
	notePhoneCodeText, notePhoneCodeVoice, noteProofingCodePostal, noteProofingCodeLive,
	notePhoneExpiryReminder, notePhoneExpired, notePhoneLapseReminder, notePhoneLapsed,
}

var (
	noteSponsorship = NotificationEntry{NotificationSponsorship, "a partner sponsors a token for the user, with no activation deadline",
		"Your OTP Hardware Token is sponsored",
		"Your partner is sponsoring your OTP Hardware Token {serial}. Register it in {portal}."}
	noteSponsorshipBy = NotificationEntry{NotificationSponsorship, "a partner sponsors a token for the user, to activate by a deadline",
		"Your OTP Hardware Token is sponsored",
		"Your partner is sponsoring your OTP Hardware Token {serial}. Register it in {portal} by {deadline}."}
	noteActivation = NotificationEntry{NotificationActivation, "the user activates a token",
		"Your OTP Hardware Token is active",
		"Your OTP Hardware Token {serial} is now registered on your {portal} account. It is valid until {expires}."}
	noteRevokedByAdmin = NotificationEntry{NotificationRevocationNotice, "an administrator revokes the user's token",
		"Your OTP Hardware Token was revoked",
		"An administrator revoked your OTP Hardware Token {serial}. Revocation is permanent. Your permanent password was reset: a temporary password follows in a separate e-mail."}
	noteTemporaryPassword = NotificationEntry{NotificationTemporaryPassword, "the user's token is revoked (by the user or an administrator): the password is reset",
		"{portal}: your temporary password",
		"Your permanent password was reset because your OTP Hardware Token {serial} was revoked. Log in with this temporary System-Generated Password and choose a new permanent password: {password}"}
	noteExpiryReminder = NotificationEntry{NotificationExpiryReminder, "Policy.ExpiryReminder before an active token expires",
		"Your OTP Hardware Token expires soon",
		"Your OTP Hardware Token {serial} expires on {expires}. Renew it before then to keep using it."}
	noteExpired = NotificationEntry{NotificationExpired, "an active token expires",
		"Your OTP Hardware Token has expired",
		"Your OTP Hardware Token {serial} expired on {expires}. Renew it to use it again."}
	noteRevocationReminderSuspended = NotificationEntry{NotificationRevocationReminder, "each of Policy.RevocationReminders before a suspended token is revoked",
		"Your OTP Hardware Token will be revoked",
		"Your Suspended OTP Hardware Token {serial} will be revoked automatically on {deadline}. Re-enable it before then to keep it."}
	noteRevokedSuspended = NotificationEntry{NotificationRevocationNotice, "a token suspended for Policy.SuspendedRevokeAfter is revoked",
		"Your OTP Hardware Token was revoked",
		"Your OTP Hardware Token {serial} was revoked automatically: it was suspended for too long. Revocation is permanent."}
	noteRevocationReminderExpired = NotificationEntry{NotificationRevocationReminder, "each of Policy.RevocationReminders before an expired token is revoked",
		"Your OTP Hardware Token will be revoked",
		"Your Expired OTP Hardware Token {serial} will be revoked automatically on {deadline}. Renew it before then to keep it."}
	noteRevokedExpired = NotificationEntry{NotificationRevocationNotice, "a token expired for Policy.ExpiredRevokeAfter is revoked",
		"Your OTP Hardware Token was revoked",
		"Your OTP Hardware Token {serial} was revoked automatically: it was expired for too long. Revocation is permanent."}
	notePhoneCodeText = NotificationEntry{NotificationPhoneCodeText, "a phone code is sent to a phone registered for text messages",
		"{portal} One-Time Password",
		"Your {portal} One-Time Password is {code}. It expires in {validity}."}
	notePhoneCodeVoice = NotificationEntry{NotificationPhoneCodeVoice, "a phone code is sent to a phone registered for voice calls",
		"{portal} One-Time Password",
		"Your {portal} One-Time Password is {code}. It expires in {validity}."}
	noteProofingCodePostal = NotificationEntry{NotificationProofingCodePostal, "identity proofing ends in postal: an activation code goes by post",
		"Your identity proofing activation code",
		"(sent by postal mail) Your proofing activation code is {code}. Enter it in {portal} to complete identity proofing."}
	noteProofingCodeLive = NotificationEntry{NotificationProofingCodeLive, "identity proofing ends in a live video session the user passed: the proofing agent gives the activation code",
		"Your identity proofing activation code",
		"(given by the proofing agent) Your proofing activation code is {code}. Enter it in {portal} to complete identity proofing."}
	notePhoneExpiryReminder = NotificationEntry{NotificationPhoneExpiryReminder, "Policy.ExpiryReminder before a phone OTP subscription expires",
		"Your Phone OTP subscription expires soon",
		"Your Phone OTP subscription expires on {expires}. Renew it before then to keep logging in with your phones."}
	notePhoneExpired = NotificationEntry{NotificationPhoneExpired, "a phone OTP subscription expires",
		"Your Phone OTP subscription has expired",
		"Your Phone OTP subscription expired on {expires}. Renew it by {deadline} to log in with your phones again; after that it lapses."}
	notePhoneLapseReminder = NotificationEntry{NotificationPhoneLapseReminder, "each of Policy.RevocationReminders before an expired phone OTP subscription lapses",
		"Your Phone OTP subscription will lapse",
		"Your expired Phone OTP subscription will lapse on {deadline}, and can then no longer be renewed. Renew it before then to keep it."}
	notePhoneLapsed = NotificationEntry{NotificationPhoneLapsed, "a phone OTP subscription expired for Policy.PhoneRenewalWindow lapses",
		"Your Phone OTP subscription has lapsed",
		"Your Phone OTP subscription lapsed: it was expired for too long. Its phones were removed. Purchase and set up a new Phone OTP credential to log in with a phone again."}
)

// noteValues fill an entry's placeholders besides the policy's names.
type noteValues struct {
	serial, expires, deadline, password, code, validity string
}

// render is the entry's subject and body for a policy and values. One pass
// of a Replacer, so that a value holding a brace is never read as a
// placeholder.
func (e NotificationEntry) render(p Policy, v noteValues) (subject, body string) {
	r := strings.NewReplacer("{portal}", p.PortalName, "{operator}", p.OperatorName, "{serial}", v.serial,
		"{expires}", v.expires, "{deadline}", v.deadline, "{password}", v.password, "{code}", v.code, "{validity}", v.validity)
	return r.Replace(e.Subject), r.Replace(e.Body)
}

// date is how a notification writes a day.
func date(t time.Time) string { return t.UTC().Format("2006-01-02") }

// notify records an e-mail to the account in the outbox.
func (s *Server) notify(tx Tx, at time.Time, acc Account, e NotificationEntry, v noteValues) error {
	return s.notifyTo(tx, at, acc.UserID, acc.Email, e, v)
}

// notifyTo records a notification to any recipient (a phone) in the outbox.
func (s *Server) notifyTo(tx Tx, at time.Time, userID, recipient string, e NotificationEntry, v noteValues) error {
	subject, body := e.render(s.policy, v)
	return addNotification(tx, Notification{UserID: userID, Recipient: recipient, Kind: e.Kind, Subject: subject, Body: body, CreatedAt: at})
}
