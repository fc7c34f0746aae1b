package observe

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wsgwctl/wsgwctl/config/model"
)

// Label names of the gateway's metrics (D-32).
const (
	LabelAPI       = "api"
	LabelStage     = "stage"
	LabelRoute     = "route"
	LabelDirection = "direction"
)

// Values of the direction label of wsgw_messages_total.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// LatencyBuckets are the upper bounds, in seconds, of the
// wsgw_integration_latency_seconds histogram: 1 ms to 30 s, roughly three
// buckets per decade, the last one matching API Gateway's 29 s integration
// timeout.
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// Metrics holds the gateway's Prometheus metrics in a registry of its own.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	connectionsOpen   *prometheus.GaugeVec
	connects          *prometheus.CounterVec
	messages          *prometheus.CounterVec
	integrationErrors *prometheus.CounterVec
	clientErrors      *prometheus.CounterVec
	executionErrors   *prometheus.CounterVec
	latency           *prometheus.HistogramVec

	mu sync.Mutex
	// series maps each stage with exported series to the route label values
	// it has series for ("" always among them).
	series map[stageKey]map[string]struct{}
}

type stageKey struct{ api, stage string }

// NewMetrics returns the gateway's metrics, registered in a new registry.
func NewMetrics() *Metrics {
	stageLabels := []string{LabelAPI, LabelStage}
	routeLabels := []string{LabelAPI, LabelStage, LabelRoute}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		connectionsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wsgw_connections_open",
			Help: "WebSocket connections open now.",
		}, stageLabels),
		connects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_connects_total",
			Help: "Handshakes that reached a stage ($connect requests, accepted or not).",
		}, stageLabels),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_messages_total",
			Help: "WebSocket messages received from (in) and sent to (out) clients.",
		}, []string{LabelAPI, LabelStage, LabelRoute, LabelDirection}),
		integrationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_integration_errors_total",
			Help: "Integration calls that failed or answered with an error status.",
		}, routeLabels),
		clientErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_client_errors_total",
			Help: "Requests refused as the client's fault (forbidden, throttled, bad request body).",
		}, routeLabels),
		executionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wsgw_execution_errors_total",
			Help: "Requests that failed inside the gateway.",
		}, routeLabels),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wsgw_integration_latency_seconds",
			Help:    "Time from sending an integration request to receiving its response.",
			Buckets: LatencyBuckets,
		}, routeLabels),
		series: make(map[stageKey]map[string]struct{}),
	}
	m.reg.MustRegister(m.connectionsOpen, m.connects, m.messages, m.integrationErrors,
		m.clientErrors, m.executionErrors, m.latency)
	return m
}

// Registry returns the registry the metrics live in, for collectors the
// gateway wants to serve beside them.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (the admin
// listener's GET /metrics).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Stage returns the metric handles of stage st of the API named api, with a
// route handle for each of routes (the route keys of the deployment the stage
// serves). A route has series of its own (route=KEY) when its effective
// settings enable detailed metrics, and shares the stage's route="" series
// otherwise. Stage creates every series up front; call it once per stage on
// each reload, then Retain with the handles now served.
func (m *Metrics) Stage(api string, st *model.Stage, routes []string) *StageMetrics {
	k := stageKey{api: api, stage: st.Name}
	s := &StageMetrics{
		key:      k,
		open:     m.connectionsOpen.WithLabelValues(api, st.Name),
		connects: m.connects.WithLabelValues(api, st.Name),
		routes:   make(map[string]*RouteMetrics, len(routes)),
	}
	s.base = m.route(api, st.Name, "")
	for _, key := range routes {
		if _, dup := s.routes[key]; dup {
			continue
		}
		if detailedMetrics(st, key) {
			s.routes[key] = m.route(api, st.Name, key)
		} else {
			s.routes[key] = s.base
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	labels := m.series[k]
	if labels == nil {
		labels = make(map[string]struct{})
		m.series[k] = labels
	}
	for _, key := range s.routeLabels() {
		labels[key] = struct{}{}
	}
	return s
}

// detailedMetrics reports whether route key of st has detailed metrics: its
// route_settings say so, else the stage's default_route_settings do.
func detailedMetrics(st *model.Stage, key string) bool {
	if rs, ok := st.RouteSettings[key]; ok {
		return rs.DetailedMetricsEnabled
	}
	return st.DefaultRouteSettings.DetailedMetricsEnabled
}

func (m *Metrics) route(api, stage, route string) *RouteMetrics {
	return &RouteMetrics{
		in:                m.messages.WithLabelValues(api, stage, route, DirectionIn),
		out:               m.messages.WithLabelValues(api, stage, route, DirectionOut),
		integrationErrors: m.integrationErrors.WithLabelValues(api, stage, route),
		clientErrors:      m.clientErrors.WithLabelValues(api, stage, route),
		executionErrors:   m.executionErrors.WithLabelValues(api, stage, route),
		latency:           m.latency.WithLabelValues(api, stage, route),
	}
}

// Retain deletes every series that none of live uses: those of stages that
// are not served any more, and those of routes that are gone or no longer
// detailed. The gateway calls it after swapping in a new table, with the
// handles of every stage that table serves.
func (m *Metrics) Retain(live ...*StageMetrics) {
	keep := make(map[stageKey]map[string]struct{}, len(live))
	for _, s := range live {
		labels := keep[s.key]
		if labels == nil {
			labels = make(map[string]struct{})
			keep[s.key] = labels
		}
		for _, key := range s.routeLabels() {
			labels[key] = struct{}{}
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for k, labels := range m.series {
		kept, ok := keep[k]
		if !ok {
			match := prometheus.Labels{LabelAPI: k.api, LabelStage: k.stage}
			m.connectionsOpen.DeletePartialMatch(match)
			m.connects.DeletePartialMatch(match)
			m.deleteRoutes(match)
			delete(m.series, k)
			continue
		}
		for route := range labels {
			if _, ok := kept[route]; !ok {
				m.deleteRoutes(prometheus.Labels{LabelAPI: k.api, LabelStage: k.stage, LabelRoute: route})
			}
		}
		m.series[k] = kept
	}
}

func (m *Metrics) deleteRoutes(match prometheus.Labels) {
	m.messages.DeletePartialMatch(match)
	m.integrationErrors.DeletePartialMatch(match)
	m.clientErrors.DeletePartialMatch(match)
	m.executionErrors.DeletePartialMatch(match)
	m.latency.DeletePartialMatch(match)
}

// StageMetrics are the pre-resolved metric handles of one stage. It is
// immutable after Metrics.Stage returns it, so its methods are safe for
// concurrent use and do not lock.
type StageMetrics struct {
	key      stageKey
	open     prometheus.Gauge
	connects prometheus.Counter
	base     *RouteMetrics
	routes   map[string]*RouteMetrics
}

// routeLabels lists the route label values s has series for.
func (s *StageMetrics) routeLabels() []string {
	labels := []string{""}
	for key, r := range s.routes {
		if r != s.base {
			labels = append(labels, key)
		}
	}
	return labels
}

// Connect counts a handshake that reached the stage (wsgw_connects_total,
// API Gateway's ConnectCount), whether $connect accepts it or not.
func (s *StageMetrics) Connect() { s.connects.Inc() }

// Opened counts a connection the stage accepted as open.
func (s *StageMetrics) Opened() { s.open.Inc() }

// Closed counts a connection of the stage as closed. A connection must call
// it on the handle it called Opened on, which keeps the gauge right across
// reloads that remove and re-add its stage.
func (s *StageMetrics) Closed() { s.open.Dec() }

// Route returns the handles of route key: its own series when the route has
// detailed metrics, the stage's route="" series otherwise, and for a key the
// stage was not given (or "", for events that belong to no route, such as
// @connections posts). It does not allocate.
func (s *StageMetrics) Route(key string) *RouteMetrics {
	if r, ok := s.routes[key]; ok {
		return r
	}
	return s.base
}

// RouteMetrics are the pre-resolved metric handles of one route (or of a
// stage's routes without detailed metrics). Its methods are safe for
// concurrent use and do not allocate.
type RouteMetrics struct {
	in, out           prometheus.Counter
	integrationErrors prometheus.Counter
	clientErrors      prometheus.Counter
	executionErrors   prometheus.Counter
	latency           prometheus.Observer
}

// MessageIn counts a message received from a client (MessageCount).
func (r *RouteMetrics) MessageIn() { r.in.Inc() }

// MessageOut counts a message sent to a client (MessageCount).
func (r *RouteMetrics) MessageOut() { r.out.Inc() }

// IntegrationError counts an integration call that failed or answered with an
// error status (IntegrationError).
func (r *RouteMetrics) IntegrationError() { r.integrationErrors.Inc() }

// ClientError counts a request refused as the client's fault: a forbidden
// route, a throttled request, a bad request body (ClientError).
func (r *RouteMetrics) ClientError() { r.clientErrors.Inc() }

// ExecutionError counts a request that failed inside the gateway
// (ExecutionError).
func (r *RouteMetrics) ExecutionError() { r.executionErrors.Inc() }

// IntegrationLatency records how long an integration call took
// (IntegrationLatency).
func (r *RouteMetrics) IntegrationLatency(d time.Duration) { r.latency.Observe(d.Seconds()) }
