package runtime

import (
	crand "crypto/rand"
	"encoding/base64"
	"math/rand/v2"
	"sync"
	"unsafe"
)

// idBytes is the number of bytes behind an id: 11 bytes encode to 15 base64
// characters plus one '=' of padding, the 16-character shape of API Gateway's
// connection and request ids (RT-14).
const idBytes = 11

// IDLength is the length of connection, request and message ids.
const IDLength = 16

// NewID returns a new connection, request or message id for the gateway node
// numbered node: 16 characters of URL-safe base64 ending in '=' (RT-14).
//
// Nine of its eleven bytes are random (72 bits, so ids are unguessable and
// unique across a cluster without coordination); the last two hold the node
// number, XORed with the first two random bytes so that ids of one node do
// not share a visible suffix. NodeOf recovers the number, which lets a cluster
// route an @connections call to the node that holds the connection.
// URL-safe base64 keeps ids free of '/' and '+', so they travel in @connections
// paths without escaping.
//
// The random bytes come from ChaCha8 generators (math/rand/v2), each seeded
// with 32 bytes from crypto/rand and used by one goroutine at a time (see
// randomBytes). ChaCha8 is a cryptographically strong generator, so ids stay
// as unguessable as crypto/rand's own bytes would make them, without a
// system call per id.
func NewID(node uint16) string {
	var b [IDLength]byte
	return string(appendID(b[:0], node))
}

// appendID appends a new id (see NewID) to dst.
func appendID(dst []byte, node uint16) []byte {
	var b [idBytes]byte
	randomBytes(b[:9])
	b[9] = byte(node>>8) ^ b[0]
	b[10] = byte(node) ^ b[1]
	return base64.URLEncoding.AppendEncode(dst, b[:])
}

// idsInto writes len(ids) new ids into mem, which must hold
// len(ids)*IDLength bytes, and sets ids to strings that share mem's
// memory: one allocation (or none, when mem is the spare tail of a buffer
// allocated anyway) instead of one per id. mem must never be modified
// afterwards; the strings keep it alive.
func idsInto(mem []byte, node uint16, ids ...*string) {
	for i, id := range ids {
		part := appendID(mem[i*IDLength:i*IDLength], node)
		*id = unsafe.String(unsafe.SliceData(part), IDLength)
	}
}

// rngs holds seeded ChaCha8 generators. A generator is taken for one call
// and given back, so no two goroutines ever share one; a generator the pool
// drops is simply garbage, and a new one gets a fresh seed.
var rngs = sync.Pool{New: func() any {
	var seed [32]byte
	// crypto/rand.Read never returns an error.
	_, _ = crand.Read(seed[:])
	return rand.NewChaCha8(seed)
}}

// randomBytes fills b with cryptographically strong random bytes.
func randomBytes(b []byte) {
	g := rngs.Get().(*rand.ChaCha8)
	_, _ = g.Read(b)
	rngs.Put(g)
}

// NodeOf returns the node number encoded in an id made by NewID, and false when
// id does not have that shape.
func NodeOf(id string) (uint16, bool) {
	if len(id) != IDLength || id[IDLength-1] != '=' {
		return 0, false
	}
	var b [idBytes]byte
	n, err := base64.URLEncoding.Decode(b[:], []byte(id))
	if err != nil || n != idBytes {
		return 0, false
	}
	return uint16(b[9]^b[0])<<8 | uint16(b[10]^b[1]), true
}
