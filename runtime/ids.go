package runtime

import (
	"crypto/rand"
	"encoding/base64"
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
func NewID(node uint16) string {
	var b [idBytes]byte
	// crypto/rand.Read never returns an error.
	_, _ = rand.Read(b[:9])
	b[9] = byte(node>>8) ^ b[0]
	b[10] = byte(node) ^ b[1]
	return base64.URLEncoding.EncodeToString(b[:])
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
