// Package server is tokenlab's verification service: the token inventory,
// the accounts and the hardware token lifecycle that docs/lifecycle.md
// describes, exact to the portal's Hardware OTP guide. Scenarios call it
// directly (this Go API) or over HTTP (tokenlab serve); the emulator's
// virtual tokens supply the codes.
// The server never imports the emulator: seeds arrive in seed files
// (internal/seedfile), codes arrive as a user types them.
//
// # One API
//
// Service declares the flows once, in small roles (Inventory, Accounts,
// Tokens, Sessions, Records, Phones, IdentityProofing). *Server implements
// it in process and server/client's *Client over HTTP, with the same
// arguments, the same views and the same refusals, so a program, a scenario
// suite or the CLI picks either and calls the same methods:
//
//	var svc server.Service = srv // or client.New(url, adminToken)
//	v, err := svc.Suspend(ctx, server.AsUser("alice"), serial)
//
// Every call that an administrator or a user may make names its Actor; the
// zero Actor is refused (bad_request). A call only the user makes for
// themselves (activate, verify, log in, change their password) names the
// user by ID. The API names no internal type: Clock, Kind, Algorithm and
// Seed are declared here.
//
// # Roles
//
// An Actor is a user (AsUser), an organization administrator
// (AsOrgAdmin) or the operator's administrator (AsAdmin). An organization
// administrator is an account with RoleOrgAdmin and an Organization; the
// server checks the claim against the account on every call and lets it
// act only on the accounts of its organization and their tokens (create
// accounts, connect them, resync, suspend, enable, renew, revoke — as an
// administrator), never on another organization's, nor do the operator's
// jobs (reset, approve, inventory, sponsorships, licence keys,
// applications); anything else is forbidden. The administrator acts on
// anyone's. Accepting an application's terms needs the Organization
// Administrator role or the Application Administrator role for that
// application (Account.ApplicationAdmin), the roles the guide names, and
// accepts them for the whole organization. A revocation's temporary
// password marks the account's sessions MustChangePassword and keeps every
// application closed to them (password_change_required) until
// ChangePassword; docs/lifecycle.md, “Accounts and roles” and “The
// temporary password”, says why.
//
// A second Store is proven with server/storetest's conformance suite, which
// server/sqlitestore runs.
//
// # Lifecycle
//
//	                   import (admin)
//	                        │
//	                        ▼
//	              ┌──────────────────────┐  3 failed activations: blocked
//	              │  Pending Activation  │  until an administrator resets it
//	              └──────────────────────┘
//	     activate (serial + 2 consecutive codes, sponsored or licensed,
//	     terms accepted, deadline not passed, no other token held)
//	          │                                   │ Policy.ApprovalRequired
//	          ▼                                   ▼
//	┌────────────────────┐   approve    ┌──────────────────┐
//	│       Active       │◀─────────────│ Pending Approval │
//	│  ┌──────────────┐  │              └──────────────────┘
//	│  │Active(Locked)│  │ 5 wrong codes lock; only a resync
//	│  └──────────────┘  │ (2 consecutive codes) unlocks
//	└────────────────────┘
//	  │ suspend ▲ enable (by user: user or admin;      │ expiry date
//	  ▼         │         by admin: admin only)        ▼
//	┌────────────────────┐                     ┌──────────────┐
//	│     Suspended      │                     │   Expired    │◀─┐
//	└────────────────────┘                     └──────────────┘  │
//	  │ more than 60 days (reminders 30, 15,   │ renew: expiry + 1 year,
//	  │ 3 days before)                         │ back to Active
//	  │                                        │ more than 1 year expired
//	  ▼                                        ▼ (reminders 30, 15, 3 days)
//	┌──────────────────────────────────────────────────────────────┐
//	│ Revoked — permanent: no one can ever activate the serial     │
//	│ again. Also by the user or an administrator from Pending     │
//	│ Activation, Active (locked or not), Expired or Suspended.    │
//	└──────────────────────────────────────────────────────────────┘
//
// A token is valid Policy.Validity (a year) from its purchase — the
// sponsorship or the licence key sale — and a reminder goes out 30 days
// before it expires. Renewal moves the expiry a year past the previous
// expiry date. Revocation by the user ends their sessions, resets their
// password to a temporary one (sent by e-mail) and clears the "remember my
// token" cookie flag; an administrator's revocation also sends a revocation
// notice. The reminders, expiries and automatic revocations are applied by
// Sweep, driven by the server's clock: each event happens at its own due
// time, so a virtual clock moved two years at once gives the same history as
// a daily sweep.
//
// # Codes and drift
//
// Activation and resync search ±Policy.SyncWindow (1000) steps around the
// server's time for two consecutive codes; the second code's step fixes the
// token's drift. A login code is accepted within ±Policy.LoginWindow (1) step
// of the server's time plus the learned drift, and only for a step later than
// the last accepted one: a code is accepted once, ever, even under
// concurrent requests, because every operation is one serialisable store
// transaction and a verification is acknowledged only after its new last
// step, drift and failure counter are committed. Each success moves the
// learned drift to the accepted step, so a token that drifts slowly is
// followed without a resync. A replayed code is refused as otp_replayed and
// does not count towards the lockout; a wrong one does. HOTP tokens accept
// the next Policy.HOTPLookAhead (10) counters.
//
// # Policy defaults
//
// Every rule is a field of Policy; its zero value means the default. The
// defaults are written once, in the table PolicySettings returns, which
// also gives GET /v1/policy its keys; docs/lifecycle.md, “Policy defaults”,
// says what each setting decides and which values it takes (Policy.Validate
// refuses the others; ParsePolicy reads a policy file of GET /v1/policy's
// keys). A test keeps this copy equal to it:
//
//	Policy field           GET /v1/policy               default
//	OperatorName           operator_name                Exostar
//	PortalName             portal_name                  MAG
//	SyncWindow             sync_window                  1000 steps
//	LoginWindow            login_window                 1 step
//	DriftTracking          drift_tracking               offset
//	MaxDriftPPM            max_drift_ppm                15 ppm
//	MaxLoginWindow         max_login_window             10 steps
//	HOTPLookAhead          hotp_look_ahead              10 counters
//	LockoutThreshold       lockout_threshold            5 codes
//	LockoutBudget          lockout_budget               20 codes
//	LockoutBudgetWindow    lockout_budget_window_days   1 day
//	ActivationAttempts     activation_attempts          3 attempts
//	ResyncAttempts         resync_attempts              3 attempts
//	Validity               validity_days                365 days
//	ExpiryReminder         expiry_reminder_days         30 days
//	SuspendedRevokeAfter   suspended_revoke_after_days  60 days
//	ExpiredRevokeAfter     expired_revoke_after_days    365 days
//	RevocationReminders    revocation_reminder_days     30, 15, 3 days
//	ApprovalRequired       approval_required            false
//	MaxPhones              max_phones                   3 phones
//	PhoneCodeValidity      phone_code_validity_s        120 seconds
//	PhoneCodeAttempts      phone_code_attempts          3 codes
//	PhoneCodeSends         phone_code_sends             5 codes
//	PhoneCodeSendWindow    phone_code_send_window_s     3600 seconds
//	PhoneValidity          phone_validity_days          365 days
//	PhoneRenewalWindow     phone_renewal_window_days    365 days
//	PhoneChangeWithoutOTP  phone_change_without_otp     false
//	SessionIdleTimeout     session_idle_timeout_s       900 seconds
//	SessionMaxLifetime     session_max_lifetime_s       43200 seconds
//	AllowShortSecrets      allow_short_secrets          false
//	AuditRetention         audit_retention_days         400 days
//	AuditMaxEntries        audit_max_entries            1000000 entries
//	NoNextCodeChallenge    no_next_code_challenge       false
//	RadiusPasswordAndCode  radius_password_and_code     false
//	PasswordMinLength      password_min_length          8 characters
//	PasswordCost           -                            10
//
// A failing activation or resync attempt is answered otp_incorrect even when
// it is the one that blocks; the next attempt is answered
// activation_blocked. Likewise the wrong login code that locks the token is
// answered otp_invalid, and the next token_locked.
//
// # Errors
//
// Every refusal is an *Error with a stable Code and the portal's Message
// (Catalogue lists them all, with the guide's text where it has one); test
// them with errors.Is(err, server.ErrTokenLocked) or errors.As. A refusal
// still commits what the failed attempt must change (a failure counter, a
// lock) and is written to the audit log with its code.
//
// # Storage and secrets
//
// State lives behind the Store interface; server/sqlitestore is the default,
// on SQLite in a data directory. Seeds are sealed with AES-256-GCM under a
// 32-byte key (LoadOrCreateSeedKey makes seed.key with mode 0600), with the
// serial as additional data; they are never returned, logged or put in an
// error after import. The store keeps a check value of the key, and New
// refuses another key (ErrSeedKeyMismatch; docs/lifecycle.md, “The seed
// key”).
package server
