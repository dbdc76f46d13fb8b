package sqlitestore

import (
	"slices"
	"time"
	"unicode/utf8"

	"github.com/tokenlab/tokenlab/server"
)

// cloneToken is a copy of k that shares no memory with it.
func cloneToken(k server.Token) server.Token {
	k.SealedSecret = slices.Clone(k.SealedSecret) // nil stays nil, empty stays empty
	k.Reminders = slices.Clone(k.Reminders)
	k.FailureTimes = slices.Clone(k.FailureTimes)
	return k
}

// storedToken is what k reads back as once stored — its JSON decoded —
// when that is certain without decoding it, nil otherwise. Times come back
// in UTC without a monotonic reading; an empty, non-nil Reminders or
// FailureTimes would come back nil and a string that is not UTF-8 would
// change, so those are left to be decoded. TestStoredTokenIsWhatIsRead holds this to the JSON
// and fails when Token gains a field.
func storedToken(k server.Token) *server.Token {
	if k.Reminders != nil && len(k.Reminders) == 0 || k.FailureTimes != nil && len(k.FailureTimes) == 0 {
		return nil
	}
	for _, s := range [...]string{k.Serial, k.Manufacturer, string(k.Status), string(k.SuspendedBy), k.OwnerID, string(k.RevokedBy)} {
		if !utf8.ValidString(s) {
			return nil
		}
	}
	for _, s := range k.Reminders {
		if !utf8.ValidString(s) {
			return nil
		}
	}
	c := cloneToken(k)
	for _, t := range [...]*time.Time{&c.SuspendedAt, &c.AnchorAt, &c.ImportedAt, &c.PurchasedAt,
		&c.ActivatedAt, &c.LastUsedAt, &c.ExpiresAt, &c.RevokedAt, &c.NextEventAt} {
		*t = t.UTC()
	}
	for i := range c.FailureTimes {
		c.FailureTimes[i] = c.FailureTimes[i].UTC()
	}
	return &c
}
