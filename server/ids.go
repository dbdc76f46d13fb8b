package server

import (
	"strings"
	"unicode/utf8"
)

// Identifiers (see docs/lifecycle.md, “Identifiers”): user IDs, serials,
// application IDs, session IDs and licence keys are 1 to MaxIDLength
// letters, digits, '.', '_', '-' or '@'. Every entry point of the Go API
// checks the ones it is given before its transaction, so that a malformed
// one is refused with bad_request having written nothing — not even an
// audit entry: a refused request must not be a way to grow the database.
// The detail names the field, never the value, which may be huge.
//
// Serials and user IDs do not tell upper from lower case: a serial is kept
// and looked up upper-case, as printed on the hardware, a user ID
// lower-case. The entry points put them in that form as they check them,
// so the server and its store only ever see one spelling of a name, and
// compare exactly. Identifiers are ASCII, so the case mapping is exact.

// MaxIDLength is the longest identifier, in bytes (identifiers are ASCII).
const MaxIDLength = 128

// The audit log keeps at most this much of an entry's target, actor and
// detail, in bytes; the rest is cut (with "…"). Identifiers fit whole;
// the caps bound what any other text could add.
const (
	MaxAuditTarget = 256
	MaxAuditDetail = 1024
)

// idKind is what an identifier names, which decides its field name in a
// refusal.
type idKind uint8

const (
	idUser idKind = iota
	idSerial
	idApplication
	idSession
	idLicenceKey
	idAdmin // an administrator actor's name: checked like any ID, its case kept
)

var idFields = map[idKind]string{
	idUser: "user_id", idSerial: "serial", idApplication: "application id", idSession: "session id",
	idLicenceKey: "licence key", idAdmin: "the administrator's name",
}

// idRef is an identifier argument to check, in place.
type idRef struct {
	kind     idKind
	p        *string
	optional bool   // "" is allowed (a filter that matches all)
	actor    *Actor // an actor: the zero Actor is refused as CheckActor does
}

func userRef(p *string) idRef       { return idRef{kind: idUser, p: p} }
func serialRef(p *string) idRef     { return idRef{kind: idSerial, p: p} }
func appRef(p *string) idRef        { return idRef{kind: idApplication, p: p} }
func sessionRef(p *string) idRef    { return idRef{kind: idSession, p: p} }
func licenceKeyRef(p *string) idRef { return idRef{kind: idLicenceKey, p: p} }
func optional(r idRef) idRef        { r.optional = true; return r }

// actorRef checks who acts: CheckActor, then the ID, a user's as a user ID.
func actorRef(a *Actor) idRef {
	k := idUser
	if a.Admin {
		k = idAdmin
	}
	return idRef{kind: k, p: &a.ID, actor: a}
}

// checkIDs refuses the first malformed identifier with bad_request, and
// puts serials and user IDs (a user actor's too) in their one spelling.
func (s *Server) checkIDs(refs ...idRef) error {
	for _, r := range refs {
		if r.actor != nil {
			if err := CheckActor(*r.actor); err != nil {
				return err
			}
		}
		if r.optional && *r.p == "" {
			continue
		}
		if !validID(*r.p) {
			return s.refuse(CodeBadRequest, "%s must be 1 to %d letters, digits, '.', '_', '-' or '@'", idFields[r.kind], MaxIDLength)
		}
		switch r.kind {
		case idUser:
			*r.p = canonicalUserID(*r.p)
		case idSerial:
			*r.p = canonicalSerial(*r.p)
		}
	}
	return nil
}

// canonicalUserID and canonicalSerial are the one spelling of a user ID
// (lower-case) and of a serial (upper-case).
func canonicalUserID(id string) string { return strings.ToLower(id) }
func canonicalSerial(s string) string  { return strings.ToUpper(s) }

// clip cuts s to at most n bytes, on a rune boundary, marking the cut
// with "…", so that the audit log never keeps more than its caps.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	cut := n - len(mark)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + mark
}

// auditEntry is e with its free-text fields within the caps.
func auditEntry(e AuditEntry) AuditEntry {
	e.Target, e.Actor, e.Detail = clip(e.Target, MaxAuditTarget), clip(e.Actor, MaxAuditTarget), clip(e.Detail, MaxAuditDetail)
	return e
}

// checkAuditTarget refuses an audit filter no entry's target can match.
func (s *Server) checkAuditTarget(target string) error {
	if len(target) > MaxAuditTarget {
		return s.refuse(CodeBadRequest, "target must be at most %d bytes", MaxAuditTarget)
	}
	return nil
}
