package pgstore

import "github.com/tokenlab/tokenlab/server"

// CurrentSchema is the schema the transaction's store is on.
func CurrentSchema(t server.Tx) (string, error) {
	var s string
	err := t.(*tx).scanOne("schema", `SELECT current_schema()`, nil, &s)
	return s, err
}

// ReadCommitted lowers the store's Updates to READ COMMITTED, which is not
// serialisable.
func ReadCommitted(s *Store) { s.beginUpdate = "BEGIN ISOLATION LEVEL READ COMMITTED" }

// Setting is a setting of the transaction's session.
func Setting(t server.Tx, name string) (string, error) {
	var s string
	err := t.(*tx).scanOne("setting", `SELECT current_setting($1)`, []any{name}, &s)
	return s, err
}
