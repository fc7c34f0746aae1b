package runtime

import (
	"net/http"
	"sync"
	"time"

	"github.com/wsgwctl/wsgwctl/runtime/throttle"
)

// sourceLimits bounds connections per gateway and per source address, and
// the rate at which one address starts handshakes (issue 6 hardening: one
// client must not be able to take every connection or flood $connect).
type sourceLimits struct {
	max, perIP int
	rate       int

	mu      sync.Mutex
	total   int
	sources map[string]*source
}

// source is what the gateway tracks of one source address.
type source struct {
	open   int
	bucket *throttle.Bucket
}

func newSourceLimits(max, perIP, rate int) *sourceLimits {
	return &sourceLimits{max: max, perIP: perIP, rate: rate, sources: map[string]*source{}}
}

// admit decides whether a handshake from ip may go on. It returns 0 and
// counts the connection when it may (the caller must call release exactly
// once when the connection, or the attempt, ends), else the HTTP status
// that refuses it: 429 when ip starts handshakes too fast, 503 when the
// gateway or ip has too many connections.
func (l *sourceLimits) admit(ip string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	src := l.sources[ip]
	if src == nil {
		src = &source{bucket: throttle.NewBucket(float64(l.rate), l.rate)}
		l.sources[ip] = src
	}
	switch {
	case !src.bucket.Allow(now):
		return http.StatusTooManyRequests
	case l.total >= l.max || src.open >= l.perIP:
		return http.StatusServiceUnavailable
	}
	l.total++
	src.open++
	return 0
}

// release ends a connection counted by admit.
func (l *sourceLimits) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if src := l.sources[ip]; src != nil {
		src.open--
	}
}

// sweep forgets addresses with no connection whose handshake allowance has
// refilled, so the table does not grow with every address ever seen.
func (l *sourceLimits) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for ip, src := range l.sources {
		if src.open == 0 && src.bucket.Tokens(now) >= l.rate {
			delete(l.sources, ip)
		}
	}
}
