// Package storetest is the conformance suite of server.Store: the tests
// every implementation runs, so that the server behaves the same on any of
// them. It follows dex's storage/conformance and go-cloud's drivertest: the
// store's own tests call RunTests with a function that opens the store,
// and the suite checks, through server.Store and server.Tx alone, what
// the server relies on:
//
//   - every record round-trips whole, every field, times to the
//     nanosecond (as the same instant; the location may change), and
//     Put replaces the whole record, indexes included;
//   - a missing record is server.ErrNoRecord (errors.Is), and a miss
//     does not spoil the transaction it happened in;
//   - lists come in a fixed order: the server's output (account lists,
//     the sweep's notifications, the audit) follows it;
//   - an Update that fails or panics changes nothing, its error comes
//     back unchanged and its panic goes on in the caller; a View sees
//     only committed data and changes nothing;
//   - Updates are serialisable: concurrent read-modify-writes lose no
//     update, and of concurrent Updates accepting the same OTP step only
//     one wins;
//   - notification and audit IDs increase in commit order, listings are
//     oldest first, an audit limit keeps the newest entries; pruning the
//     audit deletes by the entries' times, then keeps the newest by ID,
//     and IDs are never given again;
//   - the health check's heartbeat reads back as the last one written;
//   - what an Update acknowledged is there after Close and a re-open,
//     an Update is kept whole or not at all, and after Close an Update
//     fails and a View returns, neither hangs.
//
// The fixed orders are those of server/sqlitestore: accounts by user ID,
// applications by ID, sponsorships by serial, tokens by serial, tokens due
// by next event then serial, sessions by creation time.
//
// # Using it
//
// A new store adds one test:
//
//	func TestConformance(t *testing.T) {
//		storetest.RunTests(t, func(t *testing.T, dir string) server.Store {
//			s, err := mystore.Open(dir)
//			if err != nil {
//				t.Fatal(err)
//			}
//			return s
//		})
//	}
//
// open opens the store whose data lives in dir, creating it when dir is
// new; the suite calls it again on the same dir to test a restart, after
// closing the first store. Each subtest has a directory of its own. The
// suite closes every store it opens. A store whose data is not in a
// directory (PostgreSQL) can key a database or schema by dir.
//
// A store that several processes open on the same data at once (two
// processes on one SQLite file, replicas on one PostgreSQL database) also
// runs RunReplicaTests, with the same open function: two stores on one dir
// race, and must behave as one.
//
// A store that cannot do something the suite tests says so with an
// Option, and those tests are skipped with its reason: NoRestart for one
// whose data does not outlive Close.
package storetest
