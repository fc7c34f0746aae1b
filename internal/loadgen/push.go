package loadgen

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// pushJob is one scheduled POST.
type pushJob struct {
	seq uint64
	at  int64 // scheduled time, nanoseconds since the load started
}

// pushPending is a POST whose frame has not arrived yet.
type pushPending struct {
	at       int64
	measured bool
}

// pusher makes the @connections push load of a run.
type pusher struct {
	r      *runner
	cfg    *PushConfig
	ids    []string // url-escaped connection ids, round-robin targets
	client *http.Client
	rec    *recorder
	jobs   chan pushJob

	mu       sync.Mutex
	pending  map[uint64]pushPending
	finished bool // every POST has been made
	drained  chan struct{}
	failed   map[int]int

	// Counters of the measured phase (postedAll and deliveredAll: since
	// the load started).
	posted, delivered, late, timedOut atomic.Int64
	postedAll, deliveredAll           atomic.Int64
}

func newPusher(r *runner, ids []string) *pusher {
	cfg := r.s.Push
	tlsCfg := &tls.Config{InsecureSkipVerify: r.s.InsecureSkipVerify} //nolint:gosec // the user's choice (--insecure)
	if r.s.TLSConfig != nil {
		tlsCfg = r.s.TLSConfig.Clone()
	}
	transport := &http.Transport{
		MaxIdleConns:        cfg.Concurrency,
		MaxIdleConnsPerHost: cfg.Concurrency,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		TLSClientConfig:     tlsCfg,
	}
	p := &pusher{
		r:       r,
		cfg:     cfg,
		client:  &http.Client{Transport: transport, Timeout: r.s.Timeout},
		rec:     newRecorder(),
		jobs:    make(chan pushJob, 4*cfg.Concurrency),
		pending: make(map[uint64]pushPending),
		drained: make(chan struct{}),
		failed:  make(map[int]int),
	}
	for _, id := range ids {
		p.ids = append(p.ids, url.PathEscape(id))
	}
	return p
}

// run schedules the POSTs and makes them with cfg.Concurrency workers,
// returning once the last one has been answered (or the run is aborted).
func (p *pusher) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range p.cfg.Concurrency {
		wg.Go(func() { p.work(ctx) })
	}
	p.schedule()
	close(p.jobs)
	wg.Wait()
	p.client.CloseIdleConnections()
	p.mu.Lock()
	p.finished = true
	p.checkDrainedLocked()
	p.mu.Unlock()
}

// schedule queues POST j at j/Rate seconds after the load started, until
// the schedule reaches the end of the measured phase.
func (p *pusher) schedule() {
	r := p.r
	interval := float64(time.Second) / p.cfg.Rate
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for j := uint64(0); ; j++ {
		at := int64(float64(j) * interval)
		if at >= r.measureEnd {
			return
		}
		if wait := at - r.now(); wait > 0 {
			timer.Reset(time.Duration(wait))
			select {
			case <-timer.C:
			case <-r.abort:
				return
			}
		}
		select {
		case p.jobs <- pushJob{seq: j, at: at}:
		case <-r.abort:
			return
		}
	}
}

// work makes the queued POSTs.
func (p *pusher) work(ctx context.Context) {
	r := p.r
	var body []byte
	for job := range p.jobs {
		measured := job.at >= r.measureStart
		if measured && r.now()-job.at >= int64(LateThreshold) {
			p.late.Add(1)
		}
		body = r.s.pushTmpl.render(body[:0], 0, job.seq, r.tok, true, r.startUnix+job.at)
		target := r.s.pushURL + p.ids[job.seq%uint64(len(p.ids))]
		p.mu.Lock()
		p.pending[job.seq] = pushPending{at: job.at, measured: measured}
		p.mu.Unlock()
		status := p.post(ctx, target, body)
		if status == http.StatusOK {
			p.postedAll.Add(1)
			if measured {
				p.posted.Add(1)
			}
			continue
		}
		p.mu.Lock()
		delete(p.pending, job.seq)
		p.failed[status]++
		p.checkDrainedLocked()
		p.mu.Unlock()
	}
}

// post makes one POST and returns its status, 0 when there was no answer.
func (p *pusher) post(ctx context.Context, target string, body []byte) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0
	}
	for k, vs := range p.cfg.Header {
		req.Header[k] = vs
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// deliver accounts for the frame of POST seq arriving at now.
func (p *pusher) deliver(seq uint64, now int64) {
	p.mu.Lock()
	m, ok := p.pending[seq]
	if ok {
		delete(p.pending, seq)
		p.checkDrainedLocked()
	}
	p.mu.Unlock()
	if !ok {
		p.r.addError("unmatched-push")
		return
	}
	p.deliveredAll.Add(1)
	if m.measured {
		p.delivered.Add(1)
	}
	p.rec.record(int(seq), time.Duration(now-m.at), m.measured)
}

// expire drops the POSTs whose frame has not arrived within the timeout.
func (p *pusher) expire(now int64) {
	timeout := int64(p.r.s.Timeout)
	n := 0
	p.mu.Lock()
	for seq, m := range p.pending {
		if now-m.at >= timeout {
			delete(p.pending, seq)
			n++
		}
	}
	if n > 0 {
		p.checkDrainedLocked()
	}
	p.mu.Unlock()
	p.timedOut.Add(int64(n))
}

// checkDrainedLocked closes p.drained once every POST has been made and
// no frame is awaited; p.mu is held.
func (p *pusher) checkDrainedLocked() {
	if p.finished && len(p.pending) == 0 {
		select {
		case <-p.drained:
		default:
			close(p.drained)
		}
	}
}

// result summarises the push load.
func (p *pusher) result(d time.Duration) *PushResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	res := &PushResult{
		Posted:    p.posted.Load(),
		Delivered: p.delivered.Load(),
		Late:      p.late.Load(),
		TimedOut:  p.timedOut.Load() + int64(len(p.pending)),
		Failed:    make(map[int]int, len(p.failed)),
		Latency:   latencyOf(p.rec.measured()),
	}
	for k, v := range p.failed {
		res.Failed[k] = v
	}
	if d > 0 {
		res.Throughput = float64(res.Delivered) / d.Seconds()
	}
	return res
}
