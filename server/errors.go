package server

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable machine code of a refusal (see docs/lifecycle.md, “Errors”).
type Code string

// The error catalogue. The first nine are the token lifecycle's refusals (see
// docs/lifecycle.md, “Errors”); the rest cover what the guide leaves to the
// portal.
const (
	CodeSerialIncorrect     Code = "serial_incorrect"
	CodeOTPIncorrect        Code = "otp_incorrect"
	CodeActivationBlocked   Code = "activation_blocked"
	CodeActionUnavailable   Code = "action_unavailable"
	CodeTokenLocked         Code = "token_locked"
	CodeTokenUnusable       Code = "token_unusable"
	CodeTokenExpired        Code = "token_expired"
	CodeTokenRevoked        Code = "token_revoked"
	CodeOTPReplayed         Code = "otp_replayed"
	CodeOTPInvalid          Code = "otp_invalid"
	CodeNoToken             Code = "no_hardware_token"
	CodeStrengthTooLow      Code = "strength_insufficient"
	CodeTermsNotAccepted    Code = "terms_not_accepted"
	CodeCredentialsInvalid  Code = "credentials_invalid"
	CodeSessionInvalid      Code = "session_invalid"
	CodeForbidden           Code = "forbidden"
	CodeNotFound            Code = "not_found"
	CodeConflict            Code = "conflict"
	CodeBadRequest          Code = "bad_request"
	CodePhoneLimit          Code = "phone_limit"
	CodePhoneCodeIncorrect  Code = "phone_code_incorrect"
	CodeProofingCodeInvalid Code = "proofing_code_incorrect"
	// CodePasswordChangeRequired: the account's password is a temporary
	// one (a revocation reset it) and must be changed first.
	CodePasswordChangeRequired Code = "password_change_required"
	// CodePasswordRejected: a new password the password rules refuse.
	CodePasswordRejected Code = "password_rejected"

	// Phone OTP (phone.go).
	CodePhoneUnverified          Code = "phone_unverified"
	CodePhoneCodeLimit           Code = "phone_code_limit"
	CodePhoneOTPRequired         Code = "phone_otp_required"
	CodePhoneSubscriptionExpired Code = "phone_subscription_expired"
	CodePhoneSubscriptionLapsed  Code = "phone_subscription_lapsed"
)

// Entry is one row of the catalogue: a code, when it is used, and the
// message the portal shows. {operator} and {portal} are replaced by the
// policy's OperatorName and PortalName. Source says whether the message is
// the guide's own text or tokenlab's, written in its voice.
type Entry struct {
	Code    Code
	When    string
	Message string
	Source  string
}

// Catalogue is every refusal the server can give; MessageVariants are the
// other messages some of them are given with.
var Catalogue = []Entry{
	{CodeSerialIncorrect, "activation with a serial that is not in the inventory, not the user's to activate, or already on another account",
		"The Token Serial Number is not correct. Enter the Token Serial Number that matches your token. Refer to the instructions if you are unsure of where the Token Serial Number is located on your token.", "guide"},
	{CodeOTPIncorrect, "activation or resync codes that are not two consecutive codes in the sync window (the attempt counts)",
		"You have entered an incorrect One-Time Password. Enter the 1st and 2nd consecutive One-Time Passwords as displayed on your token correctly. You will need to wait 30 seconds between the 1st and 2nd One-Time Password.", "guide"},
	{CodeActivationBlocked, "activation or resync of a token blocked after too many failed attempts: an administrator must reset it",
		"The token cannot be activated on your account at this time. Contact {operator} Customer Support in order to resume activation of your token.", "guide"},
	{CodeActionUnavailable, "any other activation failure (deadline passed, terms not accepted, proofing missing, another token held, a connected account, the token already on this account); an action the token's status does not allow; accounts that cannot be connected; a phone on a connected account",
		"This action cannot be completed at this time. Contact {operator} Customer Support for assistance.", "guide"},
	{CodeTokenLocked, "login with a locked token",
		"Your OTP hardware token is locked. You must re-activate your token to your account before you can log into {portal} with a One-Time Password Token. To do this, follow the link below to log in without your One-Time Password Token and proceed to Manage OTP in My Account.", "guide"},
	{CodeTokenUnusable, "login with, or resync of, a suspended or pending-approval token",
		"You cannot use your token to log into {portal} at this time. Follow the link below to log in without a One-Time Password Token. You may need to re-activate your OTP hardware token by proceeding to Manage OTP in My Account.", "guide"},
	{CodeTokenExpired, "login with, or resync of, an expired token",
		"Your OTP Hardware Token has expired. Once you have logged into {portal}, you can renew your OTP Hardware Token by selecting the Manage OTP option on the My Account tab.", "guide"},
	{CodeTokenRevoked, "any use of a revoked token: activation, login, resync, suspend, enable, renew, revoke, reset",
		"Your OTP Hardware Token has been revoked and cannot be used again. Revocation is permanent: obtain a new token to continue.", "tokenlab"},
	{CodeOTPReplayed, "a login code, or a resync pair, from a step no later than the last accepted one (does not count towards the lockout)",
		"This One-Time Password has already been used. Wait for your token to show a new code, then enter it.", "tokenlab"},
	{CodeOTPInvalid, "a login code that matches no step in the window (counts towards the lockout)",
		"You have entered an incorrect One-Time Password. Press the button on your token and enter the code it displays.", "tokenlab"},
	{CodeNoToken, "login with a code on an account with no token (its own or, for a connected child, its parent's)",
		"There is no OTP Hardware Token on your account. Activate a token before you log in with a One-Time Password.", "tokenlab"},
	{CodeStrengthTooLow, "an application that needs a stronger credential than the session's",
		"This application requires a stronger credential than the one you logged in with. Elevate your credential strength to continue.", "tokenlab"},
	{CodeTermsNotAccepted, "an application whose terms and conditions the user has not accepted",
		"You must accept the Terms and Conditions of this application before you can use it.", "tokenlab"},
	{CodeCredentialsInvalid, "a wrong user ID or password (login, password change)",
		"The User ID or password you entered is incorrect.", "tokenlab"},
	{CodeSessionInvalid, "a session that does not exist or has ended: logged out, idle, too old, or its token no longer usable",
		"Your session has ended. Log in again.", "tokenlab"},
	{CodeForbidden, "an actor who may not do this: a user acting on another's token, re-enabling a token an administrator suspended, or doing an administrator's job; an organization administrator acting on an account outside their organization, or an account claiming that role without it; accepting terms without the Organization or Application Administrator role; another user's session given to change phones",
		"You are not allowed to do this. Contact your Organization Administrator.", "tokenlab"},
	{CodeNotFound, "an account, token, application, phone, phone OTP subscription or licence key that does not exist",
		"The requested item does not exist.", "tokenlab"},
	{CodeConflict, "something that already exists (an account, an application, a serial, a phone); selling or sponsoring a token that is not pending activation; a licence key another account redeemed; verifying a verified phone; proofing a proofed account",
		"The item already exists.", "tokenlab"},
	{CodeBadRequest, "a malformed request: a missing or invalid field, a code that is not the token's number of digits, a seed file that cannot be read",
		"The request is not valid.", "tokenlab"},
	{CodePhoneLimit, "a phone beyond `MaxPhones`",
		"You can register up to {maxphones} phones for phone-based One-Time Passwords.", "tokenlab"},
	{CodePhoneCodeIncorrect, "a phone code that is wrong, expired, already used, sent for another account, or void after `PhoneCodeAttempts` wrong ones",
		"The One-Time Password you entered is incorrect or has expired. Send a new code and try again.", "tokenlab"},
	{CodeProofingCodeInvalid, "a wrong proofing activation code, or one entered when none is pending",
		"The proofing activation code you entered is incorrect.", "tokenlab"},
	{CodePasswordChangeRequired, "a session opening an application while the account's password is the temporary one a revocation set, until the user changes it",
		"You logged in with a temporary System-Generated Password. Enter a new permanent password before you access your applications.", "tokenlab"},
	{CodePasswordRejected, "a new password shorter than `PasswordMinLength`, longer than 72 bytes, or the same as the current (temporary) one",
		"Your new password does not meet the password requirements. Enter a new permanent password that is long enough and is not your current password.", "tokenlab"},
	{CodePhoneUnverified, "a login code asked for, or entered, for a phone whose registration code was not entered yet",
		"This phone is not verified yet. Enter the code sent to it when you registered it before you log in with it.", "tokenlab"},
	{CodePhoneCodeLimit, "a phone code asked for beyond `PhoneCodeSends` to one number (`PhoneCodeSends` × `MaxPhones` to an account's numbers) within `PhoneCodeSendWindow`",
		"Too many One-Time Passwords were sent to this phone. Wait a while before you ask for another.", "tokenlab"},
	{CodePhoneOTPRequired, "adding or removing a phone of an account that holds an OTP credential (a verified phone, a token) without the session ID of its phone or hardware OTP login",
		"For the protection of your account, the phone numbers can be updated only after you login with your phone OTP or your OTP Hardware Token.", "tokenlab"},
	{CodePhoneSubscriptionExpired, "a phone OTP login, elevation or login code once the phone OTP subscription has expired (it may still be renewed)",
		"Your Phone OTP subscription has expired. Once you have logged into {portal}, you can renew your Phone OTP subscription by selecting the Manage OTP option on the My Account tab.", "tokenlab"},
	{CodePhoneSubscriptionLapsed, "a phone OTP login, elevation, login code or renewal once the subscription's renewal window has passed",
		"Your Phone OTP subscription has lapsed and can no longer be renewed. Purchase and set up a new Phone OTP credential to log in with a phone.", "tokenlab"},
}

// MessageVariants are the messages a code is given with besides its
// Catalogue entry's, each with when: the guide words a refusal differently
// for one case. A refusal's message is its Catalogue entry's or one of
// these.
var MessageVariants = []Entry{
	// The guide's text for a token pending approval leaves out the advice to
	// re-activate, which cannot help: only an administrator's approval does.
	{CodeTokenUnusable, "login with, or resync of, a pending-approval token", pendingApprovalMessage, "guide"},
	// What a user types wrong is said plainly, the same in process and over
	// HTTP, so that the portal can show it.
	{CodeBadRequest, "a phone number not in E.164 form", badPhoneNumberMessage, "tokenlab"},
	{CodeBadRequest, "a phone code that is not 6 digits", badPhoneCodeMessage, "tokenlab"},
	{CodeBadRequest, "a proofing activation code that is not 10 letters and digits", badProofingCodeMessage, "tokenlab"},
}

const (
	badPhoneNumberMessage  = "Enter the phone number in international form: + and the country code, then the number, with no spaces, dashes or parentheses (e.g. +17035550100)."
	badPhoneCodeMessage    = "Enter the 6-digit One-Time Password sent to your phone."
	badProofingCodeMessage = "Enter the 10-character proofing activation code you received."
)

const pendingApprovalMessage = "You cannot use your token to log into {portal} at this time. Follow the link below to log in without a One-Time Password Token."

// Error is a refusal: a stable code, the human message, and for the
// developer a detail that is never shown to the user (and never holds a
// secret). Compare with errors.Is(err, server.ErrTokenLocked) or
// errors.As(err, &e) and e.Code.
type Error struct {
	Code    Code
	Message string
	Detail  string
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Detail)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Is matches errors by code, so errors.Is(err, ErrTokenLocked) works for
// every token_locked error whatever its message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is, one per code.
var (
	ErrSerialIncorrect     = &Error{Code: CodeSerialIncorrect}
	ErrOTPIncorrect        = &Error{Code: CodeOTPIncorrect}
	ErrActivationBlocked   = &Error{Code: CodeActivationBlocked}
	ErrActionUnavailable   = &Error{Code: CodeActionUnavailable}
	ErrTokenLocked         = &Error{Code: CodeTokenLocked}
	ErrTokenUnusable       = &Error{Code: CodeTokenUnusable}
	ErrTokenExpired        = &Error{Code: CodeTokenExpired}
	ErrTokenRevoked        = &Error{Code: CodeTokenRevoked}
	ErrOTPReplayed         = &Error{Code: CodeOTPReplayed}
	ErrOTPInvalid          = &Error{Code: CodeOTPInvalid}
	ErrNoToken             = &Error{Code: CodeNoToken}
	ErrStrengthTooLow      = &Error{Code: CodeStrengthTooLow}
	ErrTermsNotAccepted    = &Error{Code: CodeTermsNotAccepted}
	ErrCredentialsInvalid  = &Error{Code: CodeCredentialsInvalid}
	ErrSessionInvalid      = &Error{Code: CodeSessionInvalid}
	ErrForbidden           = &Error{Code: CodeForbidden}
	ErrNotExist            = &Error{Code: CodeNotFound}
	ErrConflict            = &Error{Code: CodeConflict}
	ErrBadRequest          = &Error{Code: CodeBadRequest}
	ErrPhoneLimit          = &Error{Code: CodePhoneLimit}
	ErrPhoneCodeIncorrect  = &Error{Code: CodePhoneCodeIncorrect}
	ErrProofingCodeInvalid = &Error{Code: CodeProofingCodeInvalid}

	ErrPasswordChangeRequired   = &Error{Code: CodePasswordChangeRequired}
	ErrPasswordRejected         = &Error{Code: CodePasswordRejected}
	ErrPhoneUnverified          = &Error{Code: CodePhoneUnverified}
	ErrPhoneCodeLimit           = &Error{Code: CodePhoneCodeLimit}
	ErrPhoneOTPRequired         = &Error{Code: CodePhoneOTPRequired}
	ErrPhoneSubscriptionExpired = &Error{Code: CodePhoneSubscriptionExpired}
	ErrPhoneSubscriptionLapsed  = &Error{Code: CodePhoneSubscriptionLapsed}
)

// messages renders the catalogue's messages for a policy.
type messages map[Code]string

func newMessages(p Policy) messages {
	m := messages{}
	for _, e := range Catalogue {
		m[e.Code] = p.Fill(e.Message)
	}
	m["pending_approval"] = p.Fill(pendingApprovalMessage)
	return m
}

// Fill words a catalogue message (an Entry's, or a MessageVariants one) as
// a server with the policy does: its operator's and portal's names and its
// phone limit filled in.
func (p Policy) Fill(message string) string {
	p = p.withDefaults()
	return strings.NewReplacer("{operator}", p.OperatorName, "{portal}", p.PortalName, "{maxphones}", fmt.Sprint(p.MaxPhones)).Replace(message)
}

// Messages are the catalogue's messages as a server with the policy words
// them (its operator's and portal's names filled in), by code: what a
// RADIUS client reads in Reply-Message.
func (p Policy) Messages() map[Code]string {
	m := newMessages(p.withDefaults())
	delete(m, "pending_approval")
	return m
}

// refuse makes the error of a code, with a developer detail.
func (s *Server) refuse(code Code, detailf string, a ...any) *Error {
	return &Error{Code: code, Message: s.msgs[code], Detail: fmt.Sprintf(detailf, a...)}
}

// CodeOf returns the code of a refusal, or "" for another error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
