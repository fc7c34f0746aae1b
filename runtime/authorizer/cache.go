package authorizer

import (
	"container/list"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultCacheSize is the number of results an Authorizer caches at most
// when Options.CacheSize is not positive.
const DefaultCacheSize = 10000

// resultCache holds authorizer results for a fixed time to live. It is
// bounded: when full, the entry that expires first (the oldest, since every
// entry lives for the same TTL) makes room. Expired entries are dropped
// when they are looked up and, from the oldest end, on every insertion. It
// is safe for concurrent use.
type resultCache struct {
	ttl time.Duration
	max int

	mu      sync.Mutex
	entries map[string]*list.Element
	// order holds *cacheEntry values, oldest (soonest to expire) first.
	order list.List
}

type cacheEntry struct {
	key     string
	result  Result
	expires time.Time
}

func newResultCache(ttl time.Duration, max int) *resultCache {
	if max <= 0 {
		max = DefaultCacheSize
	}
	return &resultCache{ttl: ttl, max: max, entries: make(map[string]*list.Element)}
}

// get returns the result cached for key, if it has not expired at now.
func (c *resultCache) get(key string, now time.Time) (Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return Result{}, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return Result{}, false
	}
	return e.result, true
}

// put caches r for key from now on, replacing any entry for key.
func (c *resultCache) put(key string, r Result, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
	for el := c.order.Front(); el != nil; el = c.order.Front() {
		if now.Before(el.Value.(*cacheEntry).expires) && c.order.Len() < c.max {
			break
		}
		c.remove(el)
	}
	c.entries[key] = c.order.PushBack(&cacheEntry{key: key, result: r, expires: now.Add(c.ttl)})
}

// len returns the number of entries, expired or not.
func (c *resultCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

func (c *resultCache) remove(el *list.Element) {
	delete(c.entries, el.Value.(*cacheEntry).key)
	c.order.Remove(el)
}

// cacheKey joins the api id, stage and identity-source values into one key;
// each part is length-prefixed so that no two lists give the same key.
func cacheKey(apiID, stage string, values []string) string {
	var b strings.Builder
	for _, s := range append([]string{apiID, stage}, values...) {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}
