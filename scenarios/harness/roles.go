package harness

import (
	"fmt"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2" //nolint:revive // the DSL reads best unqualified
)

// Role is one thing a target can do for the specs. A tokenlab target has
// every role (but the clock when its clock is real); a RADIUS target in
// front of a system tokenlab did not write has only Provision and Verify.
// A spec declares the roles it uses with World.Needs; on a target without
// one of them it is skipped, with the reason, before it starts.
type Role string

// The roles. Each of the target's methods belongs to one (see methodRoles);
// the World's helpers belong to the role of what they call.
const (
	// Provision: a fresh user holding a token that logs in at once
	// (World.ActiveUser, World.FreshUser).
	Provision Role = "provision"
	// Verify: checking a login code (Target.Verify, World.Login).
	Verify Role = "verify"
	// Reasons: a refusal says which catalogue code it is, with the
	// catalogue's message. Without it ExpectRefusal checks only that the
	// code was refused: a foreign server's Access-Reject says no more.
	Reasons Role = "reasons"
	// Lockout: the system locks a token after consecutive wrong codes, as
	// tokenlab's policy says (five, and a daily budget). Not a method: a
	// behaviour the lockout specs assert, which a foreign system may lack.
	Lockout Role = "lockout"
	// Activate: the classical enrolment — accounts, seed-file imports,
	// sponsorship, licence keys, activation with two codes, approval and
	// the administrator's reset of blocked attempts (World.NewUser,
	// NewDevice, Sponsor, Activate).
	Activate Role = "activate"
	// Resync: resynchronising a token with two consecutive codes, and the
	// administrator's reset that unblocks it.
	Resync Role = "resync"
	// Suspend: suspending a token and re-enabling it.
	Suspend Role = "suspend"
	// Revoke: revoking a token.
	Revoke Role = "revoke"
	// Expiry: tokens expire a year after purchase and are renewed.
	Expiry Role = "expiry"
	// Clock: moving the server's clock (World.Advance, WaitForNextCode)
	// and running its sweep.
	Clock Role = "clock"
	// Inspect: reading a token's state (status, fail count, drift, the step
	// and drift of a Verification), the policy, notifications and the
	// audit log (World.Status, World.Outbox).
	Inspect Role = "inspect"
	// Portal: the portal beyond enrolment — accounts and connected
	// accounts, partner applications and their terms, portal logins,
	// sessions and elevation.
	Portal Role = "portal"
	// Phone: phone OTP — registering and verifying phones, login codes,
	// phone logins and elevation, the subscription.
	Phone Role = "phone"
	// Proofing: identity proofing — the bureau's outcome, the activation
	// code the user enters.
	Proofing Role = "proofing"
	// NextCode: a code outside the login window but inside the sync window
	// is answered with a request for the next code (RADIUS
	// Access-Challenge), which World.AnswerChallenge answers.
	NextCode Role = "next-code"
)

// AllRoles are the roles, in the order reports list them.
var AllRoles = []Role{Provision, Verify, Reasons, Lockout, Activate, Resync, Suspend, Revoke, Expiry, Clock, Inspect, Portal, Phone, Proofing, NextCode}

// label is the Ginkgo label of a spec that needs the role.
func (r Role) label() string { return "needs-" + string(r) }

// Roles is a set of roles.
type Roles []Role

// Has reports whether r is in the set.
func (rs Roles) Has(r Role) bool { return slices.Contains(rs, r) }

func (rs Roles) String() string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// tokenlabRoles are a tokenlab server's roles over its own API: all but
// the next-code challenge (RADIUS's), and the clock only when it is
// virtual.
func tokenlabRoles(virtualClock bool) Roles {
	var rs Roles
	for _, r := range AllRoles {
		if r == NextCode || (r == Clock && !virtualClock) {
			continue
		}
		rs = append(rs, r)
	}
	return rs
}

// Needs declares the roles a spec uses, as decorators for It, Describe,
// When or DescribeTable (spread them into Entry: Entry(name, append(
// w.Needs(r), row)...)): a label needs-ROLE for each, so that
// --label-filter can select them ('!needs-clock'), and Serial on a shared
// target when the spec moves the clock, which would disturb specs running
// beside it. The roles of a spec are those of its own and its containers'
// declarations together.
func (w *World) Needs(roles ...Role) []any {
	labels := make([]string, 0, len(roles))
	for _, r := range roles {
		labels = append(labels, r.label())
	}
	d := []any{Label(labels...)}
	if slices.Contains(roles, Clock) && w.Kind.shared {
		d = append(d, Serial)
	}
	return d
}

// declared reads a spec's roles from its labels.
func declared(labels []string) Roles {
	var rs Roles
	for _, l := range labels {
		if r, ok := strings.CutPrefix(l, "needs-"); ok && !rs.Has(Role(r)) {
			rs = append(rs, Role(r))
		}
	}
	return rs
}

// overRadius says why a RADIUS target with a foreign provisioner lacks
// each role, for skip reasons.
var overRadius = map[Role]string{
	Reasons:  "its Reply-Messages are not tokenlab's catalogue, so a refusal says no more than that",
	Lockout:  "whether and when the system locks a token is not known",
	Activate: "tokens cannot be enrolled through RADIUS (the provisioner makes the users)",
	Resync:   "the system's tokens cannot be resynchronised through RADIUS",
	Suspend:  "the system's tokens cannot be suspended or re-enabled through RADIUS",
	Revoke:   "the system's tokens cannot be revoked through RADIUS",
	Expiry:   "the system's tokens cannot be renewed through RADIUS, nor their expiry read",
	Clock:    "the system's clock is real",
	Inspect:  "a token's state, the policy and notifications cannot be read through RADIUS",
	Portal:   "RADIUS has no portal accounts, applications or sessions",
	Phone:    "RADIUS cannot register phones or send phone codes",
	Proofing: "RADIUS cannot record identity proofing",
	NextCode: "whether the system asks for the next code is not known",
}

// SkipReason names the report entries of a spec the harness skipped: one
// for each role it needs that the target lacks, "TARGET: no ROLE role —
// WHY", or what else the target cannot give; for summaries of a run's
// skips.
const SkipReason = "skip-reason"

// skipReason is the skip reason of a spec that needs roles the target
// lacks: the target, then each role and why it is missing. Each is also a
// MissingRole report entry.
func (w *World) skipReason(missing []Role) string {
	var b strings.Builder
	b.WriteString(w.Kind.Description)
	for i, r := range missing {
		why := "not offered"
		if w.Kind.why != nil {
			why = w.Kind.why(r)
		}
		sep := ": "
		if i > 0 {
			sep = "; "
		}
		fmt.Fprintf(&b, "%sno %s role — %s", sep, r, why)
		AddReportEntry(SkipReason, fmt.Sprintf("%s: no %s role — %s", w.Kind.Description, r, why), ReportEntryVisibilityNever)
	}
	return b.String()
}
