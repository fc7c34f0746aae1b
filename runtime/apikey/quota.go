package apikey

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Period is the calendar period of a usage plan's quota.
type Period uint8

// The quota periods of §3.2's `quota { period = DAY|WEEK|MONTH }`.
const (
	// Day runs from 00:00 UTC to the next 00:00 UTC.
	Day Period = iota + 1
	// Week runs from Sunday 00:00 UTC to the next Sunday 00:00 UTC.
	Week
	// Month runs from the first day of a month, 00:00 UTC, to the first day
	// of the next.
	Month
)

// ParsePeriod returns the Period that s (DAY, WEEK or MONTH) names.
func ParsePeriod(s string) (Period, error) {
	switch s {
	case "DAY":
		return Day, nil
	case "WEEK":
		return Week, nil
	case "MONTH":
		return Month, nil
	}
	return 0, fmt.Errorf("parse quota period %q: want DAY, WEEK or MONTH", s)
}

// String returns the period's configuration name.
func (p Period) String() string {
	switch p {
	case Day:
		return "DAY"
	case Week:
		return "WEEK"
	case Month:
		return "MONTH"
	}
	return fmt.Sprintf("Period(%d)", uint8(p))
}

// Bounds returns the start and the end (exclusive) of the period that
// contains t, in UTC.
func (p Period) Bounds(t time.Time) (start, end time.Time) {
	y, m, d := t.UTC().Date()
	switch p {
	case Week:
		start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		start = start.AddDate(0, 0, -int(start.Weekday())) // Sunday is 0
		return start, start.AddDate(0, 0, 7)
	case Month:
		start = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	default:
		start = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 0, 1)
	}
}

// Counters holds the quota counters of a gateway by key across
// configuration reloads, as throttle.Set holds buckets: Compile asks it for
// a counter per usage plan and API key, gets the same counter back while
// the quota's period is unchanged (so a reload does not reset anyone's
// usage), and the gateway calls Sweep once per successful reload to forget
// counters the new configuration no longer uses. A Counters is safe for
// concurrent use; the zero value is empty and ready to use.
type Counters struct {
	mu      sync.Mutex
	entries map[string]*counterEntry
	// gen is the current generation, as in throttle.Set.
	gen uint64
}

// counterEntry is one counter of a Counters with the generation that last
// asked for it.
type counterEntry struct {
	counter *Counter
	gen     uint64
}

// Get returns the counter for key with the given limit and period. While
// key's period stays the same it returns the same counter, which keeps its
// count; a changed limit applies to that count at once (raising it lets
// more requests through in the current period, lowering it below the count
// refuses the rest of the period). A changed period returns a new counter
// that starts at 0. A negative limit counts as 0. Get marks key as used by
// the configuration being compiled.
func (c *Counters) Get(key string, limit int, period Period) *Counter {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[string]*counterEntry)
	}
	if e, ok := c.entries[key]; ok && e.counter.period == period {
		e.gen = c.gen
		e.counter.setLimit(limit)
		return e.counter
	}
	ctr := newCounter(limit, period)
	c.entries[key] = &counterEntry{counter: ctr, gen: c.gen}
	return ctr
}

// Sweep forgets every key that Get was not called for since the previous
// Sweep, starts a new generation, and returns the number of keys dropped.
// The gateway calls it once per successful reload, after the new table is
// in service, together with throttle.Set.Sweep.
func (c *Counters) Sweep() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	dropped := 0
	for key, e := range c.entries {
		if e.gen != c.gen {
			delete(c.entries, key)
			dropped++
		}
	}
	c.gen++
	return dropped
}

// Len returns the number of counters held.
func (c *Counters) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Counter counts the requests of one API key in one usage plan against the
// plan's quota, per calendar period. It is safe for concurrent use: Take
// never admits more than the limit in one period, however many goroutines
// call it.
type Counter struct {
	period Period

	mu    sync.Mutex
	limit int64
	used  int64
	// start and end bound the current period in Unix nanoseconds; end is
	// math.MinInt64 until the first Take.
	start, end int64
}

// newCounter returns a counter with nothing used.
func newCounter(limit int, period Period) *Counter {
	c := &Counter{period: period, end: math.MinInt64}
	c.limit = int64(max(limit, 0))
	return c
}

// setLimit changes the limit, keeping the count.
func (c *Counter) setLimit(limit int) {
	c.mu.Lock()
	c.limit = int64(max(limit, 0))
	c.mu.Unlock()
}

// advance moves the counter to the period that contains now when now is at
// or past the end of the current one. A time before the current period's
// start (a clock stepped back) counts in the current period. c.mu is held.
func (c *Counter) advance(now time.Time) {
	if now.UnixNano() < c.end {
		return
	}
	start, end := c.period.Bounds(now)
	c.start, c.end, c.used = start.UnixNano(), end.UnixNano(), 0
}

// Take counts one request at time now and reports whether it was within
// the quota; a refused request is not counted.
func (c *Counter) Take(now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.advance(now)
	if c.used >= c.limit {
		return false
	}
	c.used++
	return true
}

// Used returns the number of requests counted in the period that contains
// now (0 when now is past the period of the last count).
func (c *Counter) Used(now time.Time) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.UnixNano() >= c.end {
		return 0
	}
	return int(c.used)
}

// Limit returns the quota's limit per period.
func (c *Counter) Limit() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int(c.limit)
}

// Period returns the quota's period.
func (c *Counter) Period() Period { return c.period }
