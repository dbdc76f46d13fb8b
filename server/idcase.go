package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrOtherSpellings is returned (wrapped) by New for a database that holds
// a user ID that is not lower-case or a serial that is not upper-case: it
// was written before identifiers ignored case, and lookups, which now
// put every identifier in its one spelling, would no longer find them
// (docs/lifecycle.md, “Identifiers”).
var ErrOtherSpellings = errors.New("the database holds identifiers in a case this version does not look up")

// spellingsCheckName marks a database whose identifiers were found in
// their one spelling, so that the check reads every account and token
// once, not at every start; the entry points keep them so after.
const spellingsCheckName = "ids_case_checked"

// checkSpellings refuses a database with another spelling than the one
// the entry points look up, naming the first few.
func (s *Server) checkSpellings(ctx context.Context) error {
	return s.store.Update(ctx, func(tx Tx) error {
		if _, err := tx.Meta(spellingsCheckName); err == nil {
			return nil
		} else if !errors.Is(err, ErrNoRecord) {
			return err
		}
		accs, err := tx.Accounts()
		if err != nil {
			return err
		}
		toks, err := tx.Tokens(TokenFilter{})
		if err != nil {
			return err
		}
		var odd []string
		for _, a := range accs {
			if a.UserID != canonicalUserID(a.UserID) {
				odd = append(odd, fmt.Sprintf("account %q", a.UserID))
			}
		}
		for _, t := range toks {
			if t.Serial != canonicalSerial(t.Serial) {
				odd = append(odd, fmt.Sprintf("token %q", t.Serial))
			}
		}
		if len(odd) > 0 {
			shown := odd[:min(len(odd), 5)]
			return fmt.Errorf("%w (user IDs are lower-case, serials upper-case): %s (%d in all); an earlier version wrote them: keep running it on this data, or recreate them in a new data directory",
				ErrOtherSpellings, strings.Join(shown, ", "), len(odd))
		}
		return tx.PutMeta(spellingsCheckName, "v1")
	})
}
