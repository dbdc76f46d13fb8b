package storetest

import (
	"time"

	"github.com/tokenlab/tokenlab/internal/oath"
	"github.com/tokenlab/tokenlab/server"
)

// at is a fixed instant plus minutes. It has nanoseconds, as the server's
// times do, and a store must keep them.
func at(minutes int) time.Time {
	return time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC).Add(time.Duration(minutes) * time.Minute)
}

// zone is a location other than UTC, with a half-hour offset: times put in
// it must come back as the same instant.
var zone = time.FixedZone("UTC+05:30", 5*3600+30*60)

// The full records below give every field a value other than its zero
// (zeroFields checks it), and in places a time outside UTC.

func fullAccount(userID string) server.Account {
	return server.Account{
		UserID: userID, Email: userID + "@example.org", FirstName: "Ada", MiddleName: "K", LastName: "Lovelace ünïcode",
		Organization: "Analytical", Role: server.RoleOrgAdmin, ApplicationAdmin: []string{"app", "app2"}, PasswordHash: []byte{0, 1, 2, 255},
		TemporaryPassword: true, RememberToken: true, Proofed: true,
		Proofing: &server.Proofing{Outcome: "postal", CodeHash: []byte("hash"), At: at(1).In(zone)},
		Phones: []server.Phone{
			{ID: 7, Number: "+15550100", Method: "text", Verified: true, VerifiedAt: at(5).In(zone), CodeHash: []byte{9, 8},
				CodeExpires: at(2), CodeFor: "child-of-" + userID, CodeAttempts: 2, AddedAt: at(3)},
			{ID: 8, Number: "+15550101", Method: "voice", AddedAt: at(4)},
		},
		ParentID: "parent-of-" + userID, CreatedAt: at(0),
		PhoneSubscription: &server.PhoneSubscription{StartedAt: at(5), ExpiresAt: at(6).In(zone), Expired: true,
			LapsedAt: at(7), Epoch: 3, Reminders: []string{"r1"}},
		PhoneSends:  []server.PhoneSend{{Number: "+15550100", At: at(8).In(zone)}},
		LastPhoneID: 8, NextEventAt: at(9),
	}
}

func fullToken(serial string) server.Token {
	return server.Token{
		Serial: serial, Manufacturer: "acme", Kind: oath.HOTP, Algorithm: oath.SHA256, Digits: 8, PeriodS: 60,
		SealedSecret: []byte{0, 0xff, 0x10, 7}, Status: server.StatusSuspended, Locked: true,
		SuspendedBy: "admin", SuspendedAt: at(10).In(zone), OwnerID: "u1", Level: 3,
		SessionEpoch: 4, FailCount: 2, FailureTimes: []time.Time{at(7).In(zone), at(8).In(zone)}, ActivationFailures: 1, ResyncFailures: 4, Blocked: true,
		DriftSteps: -3, AnchorAt: at(6), AnchorDrift: -2, DriftPPM: -12.345678901234, RateSamples: 5,
		LastStep:   1<<40 + 123456,
		ImportedAt: at(0), PurchasedAt: at(1), ActivatedAt: at(2), LastUsedAt: at(3), ExpiresAt: at(4),
		RevokedAt: at(5), RevokedBy: "root", Reminders: []string{"r1", "r2"}, NextEventAt: at(60),
	}
}

func fullSponsorship(userID, serial string) server.Sponsorship {
	return server.Sponsorship{UserID: userID, Serial: serial, ActivateBy: at(9), ApplicationID: "app", Level: 2,
		LicenceKey: "K-" + serial, CreatedAt: at(1), Used: true}
}

func fullLicenceKey(key string) server.LicenceKey {
	return server.LicenceKey{Key: key, Serial: "T1", Level: 3, PurchasedAt: at(1), RedeemedBy: "u1", RedeemedAt: at(2)}
}

func fullApplication(id string) server.Application {
	return server.Application{ID: id, Name: "App " + id,
		MinStrength: server.Strength{Credential: server.CredentialHardwareOTP, Level: 3}, Terms: "be nice\nalways"}
}

func fullSession(id string) server.Session {
	return server.Session{ID: id, UserID: "u1", Strength: server.Strength{Credential: server.CredentialPhoneOTP, Level: 2},
		CreatedAt: at(1), LastUsedAt: at(3).In(zone), Serial: "T1", TokenEpoch: 2,
		Phone: "+15550100", PhoneOwner: "u0", PhoneID: 7, PhoneEpoch: 3, EndedAt: at(2), MustChangePassword: true}
}

// fullNotification has no ID: the store gives it one.
func fullNotification(userID string) server.Notification {
	return server.Notification{UserID: userID, Recipient: userID + "@example.org", Kind: "reminder",
		Subject: "Hi", Body: "line 1\nline 2 ünïcode", CreatedAt: at(1)}
}

// fullAuditEntry has no ID: the store gives it one.
func fullAuditEntry(target string) server.AuditEntry {
	return server.AuditEntry{At: at(1), Actor: "admin:root", Action: "token.revoke", Target: target,
		Outcome: "ok", Detail: "lost ünïcode"}
}

func serials(ks []server.Token) []string {
	out := []string{}
	for _, k := range ks {
		out = append(out, k.Serial)
	}
	return out
}

// notificationIDs lists the IDs of ns, [] for none.
func notificationIDs(ns []server.Notification) []int64 {
	out := []int64{}
	for _, n := range ns {
		out = append(out, n.ID)
	}
	return out
}

// auditIDs lists the IDs of es, [] for none.
func auditIDs(es []server.AuditEntry) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}
