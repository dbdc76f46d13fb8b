// Package pgstore implements server.Store on PostgreSQL, with
// github.com/jackc/pgx/v5, so that several tokenlab servers (replicas
// behind a load balancer) share one database. SQLite (server/sqlitestore)
// stays the default for one process.
//
// PLACEHOLDER: the design is written once it is measured.
package pgstore
