package runtime

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"time"
)

// ErrGone is returned for a connection that does not exist, has closed, or
// has not finished its $connect (@connections answers 410 GoneException).
var ErrGone = errors.New("connection gone")

// Locator finds a connection by id for an @connections call. The gateway's
// own connections are found in its in-memory registry; a cluster of gateways
// can put a Locator in front that forwards the call to the node whose number
// the id encodes (see NodeOf).
type Locator interface {
	// Locate returns the connection with the given id, or ErrGone.
	Locate(ctx context.Context, id string) (Connection, error)
}

// Connection is what an @connections call can do with a connection.
type Connection interface {
	// Info describes the connection.
	Info() ConnectionInfo
	// Post sends data to the client as one text message (RT-2); ErrGone
	// when the connection has closed or is closing.
	Post(ctx context.Context, data []byte) error
	// Disconnect closes the connection with 1000 "Connection Closed
	// Normally"; ErrGone when it has closed already.
	Disconnect(ctx context.Context) error
}

// ConnectionInfo describes a connection (the @connections GET reply, D-30).
type ConnectionInfo struct {
	ID           string
	API          string
	Stage        string
	ConnectedAt  time.Time
	LastActiveAt time.Time
	SourceIP     string
	UserAgent    string
}

// registryShards spreads connections over independently locked maps, so
// connects and disconnects on many cores do not contend on one lock.
const registryShards = 32

// registry holds the connections of this gateway that have finished their
// $connect.
type registry struct {
	seed   maphash.Seed
	shards [registryShards]registryShard
}

type registryShard struct {
	mu    sync.RWMutex
	conns map[string]*conn
}

func newRegistry() *registry {
	r := &registry{seed: maphash.MakeSeed()}
	for i := range r.shards {
		r.shards[i].conns = map[string]*conn{}
	}
	return r
}

func (r *registry) shard(id string) *registryShard {
	return &r.shards[maphash.String(r.seed, id)%registryShards]
}

func (r *registry) add(c *conn) {
	sh := r.shard(c.id)
	sh.mu.Lock()
	sh.conns[c.id] = c
	sh.mu.Unlock()
}

func (r *registry) remove(c *conn) {
	sh := r.shard(c.id)
	sh.mu.Lock()
	if sh.conns[c.id] == c {
		delete(sh.conns, c.id)
	}
	sh.mu.Unlock()
}

func (r *registry) get(id string) *conn {
	sh := r.shard(id)
	sh.mu.RLock()
	c := sh.conns[id]
	sh.mu.RUnlock()
	return c
}

// Locate implements Locator for this gateway's own connections.
func (r *registry) Locate(_ context.Context, id string) (Connection, error) {
	if c := r.get(id); c != nil {
		return c, nil
	}
	return nil, ErrGone
}

// each calls fn for every registered connection. fn runs without the
// registry's locks held, so it may close connections.
func (r *registry) each(fn func(*conn)) {
	var batch []*conn
	for i := range r.shards {
		sh := &r.shards[i]
		batch = batch[:0]
		sh.mu.RLock()
		for _, c := range sh.conns {
			batch = append(batch, c)
		}
		sh.mu.RUnlock()
		for _, c := range batch {
			fn(c)
		}
	}
}

// count returns the number of connections per stage.
func (r *registry) count() map[stageKey]int {
	n := map[stageKey]int{}
	r.each(func(c *conn) { n[c.key]++ })
	return n
}
