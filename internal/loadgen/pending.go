package loadgen

// pendingMsg is a message awaiting its reply.
type pendingMsg struct {
	sent     int64 // (scheduled) send time, nanoseconds since the load started
	measured bool  // sent in the measured phase
	done     bool
}

// pendingQueue holds one connection's outstanding messages by sequence
// number, in a ring that grows when the span between the oldest
// outstanding message and the next one outgrows it. Sequence numbers are
// added in increasing order; replies complete them in any order.
type pendingQueue struct {
	slots       []pendingMsg // length a power of two
	head        uint64       // the oldest sequence number that may be outstanding
	next        uint64       // the sequence number the next add must use
	outstanding int
}

// add records message seq, which must be q.next, as outstanding.
func (q *pendingQueue) add(seq uint64, sent int64, measured bool) {
	if q.slots == nil {
		q.slots = make([]pendingMsg, 16)
	}
	if q.next-q.head == uint64(len(q.slots)) {
		q.grow()
	}
	q.slots[seq&uint64(len(q.slots)-1)] = pendingMsg{sent: sent, measured: measured}
	q.next = seq + 1
	q.outstanding++
}

// grow doubles the ring, keeping every slot between head and next.
func (q *pendingQueue) grow() {
	old := q.slots
	q.slots = make([]pendingMsg, 2*len(old))
	for s := q.head; s < q.next; s++ {
		q.slots[s&uint64(len(q.slots)-1)] = old[s&uint64(len(old)-1)]
	}
}

// complete marks message seq answered and returns it; ok is false when seq
// is not outstanding (unknown, or already answered).
func (q *pendingQueue) complete(seq uint64) (m pendingMsg, ok bool) {
	if seq < q.head || seq >= q.next {
		return m, false
	}
	s := &q.slots[seq&uint64(len(q.slots)-1)]
	if s.done {
		return m, false
	}
	s.done = true
	q.outstanding--
	for q.head < q.next && q.slots[q.head&uint64(len(q.slots)-1)].done {
		q.head++
	}
	return *s, true
}

// oldest returns the sequence number of the oldest outstanding message.
func (q *pendingQueue) oldest() (seq uint64, m pendingMsg, ok bool) {
	if q.outstanding == 0 {
		return 0, m, false
	}
	return q.head, q.slots[q.head&uint64(len(q.slots)-1)], true
}
