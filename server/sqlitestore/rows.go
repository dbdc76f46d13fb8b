package sqlitestore

import "github.com/tokenlab/tokenlab/server"

// rowCache keeps, for the committer, the stored data of the accounts and
// tokens it has read or written, and which tokens each owner has, so that
// a login reads neither from SQLite. Under load, those two reads took
// about a third of the time the committer spends running a login, and the
// committer is what bounds durable throughput.
//
// The cache holds exactly what the database holds in the committer's open
// transaction, never more: every write goes to SQLite first and then to
// the cache. What an Update wrote is forgotten when its savepoint is rolled
// back, everything when a commit fails, and everything when another
// connection (another process) has committed since the committer's last
// transaction (PRAGMA data_version). Views do not use it. It holds the
// data text, and for tokens also the token decoded when that is certain
// to be what the text decodes to, so a cached read returns what a database
// read would; callers get copies.
//
// Only the committer goroutine uses it.
type rowCache struct {
	rows  map[rowKey]string
	bytes int // of the keys and data in rows
	max   int // bytes; beyond it, arbitrary rows are dropped

	// tokens holds, for some of the token rows in rows, their data
	// decoded: decoding took about a quarter of the committer's time
	// once the rows were cached. Only a decoded row, or a written token
	// that storedToken vouches decodes to itself, is kept.
	tokens map[string]*server.Token

	// owned maps an owner to the serials of its tokens, in serial order:
	// the answer of Tokens(TokenFilter{OwnerID: owner}).
	owned map[string][]string

	// What the running Update changed, undone if it is rolled back.
	written      []rowKey
	ownedChanged bool

	dataVersion int64 // the writer's PRAGMA data_version when last seen
}

// rowKey names a row: its table and its key.
type rowKey struct{ table, key string }

// maxCachedRowBytes bounds the cache: about 10,000 tokens, decoded.
const maxCachedRowBytes = 16 << 20

func newRowCache(maxBytes int) *rowCache {
	return &rowCache{rows: map[rowKey]string{}, tokens: map[string]*server.Token{}, owned: map[string][]string{}, max: maxBytes}
}

// get is the cached data of a row; a nil cache has nothing.
func (c *rowCache) get(k rowKey) (string, bool) {
	if c == nil {
		return "", false
	}
	d, ok := c.rows[k]
	return d, ok
}

// read records a row's data as read in the transaction, and for a token
// row, if not nil, the data decoded.
func (c *rowCache) read(k rowKey, data string, tok *server.Token) {
	if c == nil {
		return
	}
	c.set(k, data, tok)
}

// wrote records a row's data as written by the running Update, and for a
// token row, if not nil, what the data decodes to.
func (c *rowCache) wrote(k rowKey, data string, tok *server.Token) {
	if c == nil {
		return
	}
	c.set(k, data, tok)
	c.written = append(c.written, k)
}

// decoded is the cached token row of serial decoded, if it is known.
func (c *rowCache) decoded(serial string) (*server.Token, bool) {
	if c == nil {
		return nil, false
	}
	t, ok := c.tokens[serial]
	return t, ok
}

// decodedCost is roughly what a decoded token holds beyond its data.
const decodedCost = 512

func (c *rowCache) set(k rowKey, data string, tok *server.Token) {
	c.remove(k)
	c.rows[k] = data
	c.bytes += len(k.key) + len(data)
	if tok != nil && k.table == "tokens" {
		c.tokens[k.key] = tok
		c.bytes += decodedCost
	}
	for r := range c.rows { // map order: an arbitrary victim
		if c.bytes <= c.max {
			break
		}
		if r != k {
			c.remove(r)
		}
	}
}

// remove drops a row.
func (c *rowCache) remove(k rowKey) {
	if d, ok := c.rows[k]; ok {
		delete(c.rows, k)
		c.bytes -= len(k.key) + len(d)
	}
	if k.table == "tokens" {
		if _, ok := c.tokens[k.key]; ok {
			delete(c.tokens, k.key)
			c.bytes -= decodedCost
		}
	}
}

// ownedBy is the serials of an owner's tokens, if known.
func (c *rowCache) ownedBy(owner string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	s, ok := c.owned[owner]
	return s, ok
}

// readOwned records the serials of an owner's tokens as read.
func (c *rowCache) readOwned(owner string, serials []string) {
	if c == nil {
		return
	}
	if len(c.owned) >= maxCachedOwners {
		clear(c.owned)
	}
	c.owned[owner] = serials
}

// maxCachedOwners bounds the owner lists, which are small.
const maxCachedOwners = 100_000

// ownersChanged forgets every owner's list: a token was added or changed
// owner, status or schedule.
func (c *rowCache) ownersChanged() {
	if c == nil {
		return
	}
	clear(c.owned)
	c.ownedChanged = true
}

// begin starts an Update's bookkeeping.
func (c *rowCache) begin() {
	if c == nil {
		return
	}
	c.written, c.ownedChanged = c.written[:0], false
}

// rollBack forgets what the running Update wrote.
func (c *rowCache) rollBack() {
	if c == nil {
		return
	}
	for _, k := range c.written {
		c.remove(k)
	}
	if c.ownedChanged {
		clear(c.owned)
	}
	c.begin()
}

// reset forgets everything.
func (c *rowCache) reset() {
	if c == nil {
		return
	}
	clear(c.rows)
	clear(c.tokens)
	clear(c.owned)
	c.bytes = 0
	c.begin()
}
