package observe

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/wsgwctl/wsgwctl/config/model"
)

func testStage(name string, detailed bool, routes map[string]bool) *model.Stage {
	st := &model.Stage{Name: name, DefaultRouteSettings: model.DefaultRouteSettings()}
	st.DefaultRouteSettings.DetailedMetricsEnabled = detailed
	if len(routes) > 0 {
		st.RouteSettings = make(map[string]model.RouteSettings)
		for key, d := range routes {
			rs := st.DefaultRouteSettings
			rs.DetailedMetricsEnabled = d
			st.RouteSettings[key] = rs
		}
	}
	return st
}

// traffic is what the tests send through one stage: two connections, three
// messages on "send" answered by one message out, one integration error,
// one throttled message on "$default".
func traffic(s *StageMetrics) {
	for range 2 {
		s.Connect()
		s.Opened()
	}
	s.Connect() // a refused handshake
	send := s.Route("send")
	for range 3 {
		send.MessageIn()
		send.IntegrationLatency(3 * time.Millisecond)
	}
	send.MessageOut()
	send.IntegrationError()
	send.IntegrationLatency(2 * time.Second)
	def := s.Route("$default")
	def.MessageIn()
	def.ClientError()
	def.ExecutionError()
	s.Route("").MessageOut() // an @connections post
	s.Closed()
}

func TestMetricsTrafficRT3(t *testing.T) {
	routes := []string{"$connect", "$default", "send"}
	tests := []struct {
		name  string
		stage *model.Stage
		want  string
	}{
		{
			name:  "stage without detailed metrics",
			stage: testStage("dev", false, nil),
			want: `
# HELP wsgw_client_errors_total Requests refused as the client's fault (forbidden, throttled, bad request body).
# TYPE wsgw_client_errors_total counter
wsgw_client_errors_total{api="chat",route="",stage="dev"} 1
# HELP wsgw_connections_open WebSocket connections open now.
# TYPE wsgw_connections_open gauge
wsgw_connections_open{api="chat",stage="dev"} 1
# HELP wsgw_connects_total Handshakes that reached a stage ($connect requests, accepted or not).
# TYPE wsgw_connects_total counter
wsgw_connects_total{api="chat",stage="dev"} 3
# HELP wsgw_execution_errors_total Requests that failed inside the gateway.
# TYPE wsgw_execution_errors_total counter
wsgw_execution_errors_total{api="chat",route="",stage="dev"} 1
# HELP wsgw_integration_errors_total Integration calls that failed or answered with an error status.
# TYPE wsgw_integration_errors_total counter
wsgw_integration_errors_total{api="chat",route="",stage="dev"} 1
# HELP wsgw_messages_total WebSocket messages received from (in) and sent to (out) clients.
# TYPE wsgw_messages_total counter
wsgw_messages_total{api="chat",direction="in",route="",stage="dev"} 4
wsgw_messages_total{api="chat",direction="out",route="",stage="dev"} 2
`,
		},
		{
			name:  "stage with detailed metrics",
			stage: testStage("dev", true, nil),
			want: `
# HELP wsgw_client_errors_total Requests refused as the client's fault (forbidden, throttled, bad request body).
# TYPE wsgw_client_errors_total counter
wsgw_client_errors_total{api="chat",route="",stage="dev"} 0
wsgw_client_errors_total{api="chat",route="$connect",stage="dev"} 0
wsgw_client_errors_total{api="chat",route="$default",stage="dev"} 1
wsgw_client_errors_total{api="chat",route="send",stage="dev"} 0
# HELP wsgw_connections_open WebSocket connections open now.
# TYPE wsgw_connections_open gauge
wsgw_connections_open{api="chat",stage="dev"} 1
# HELP wsgw_connects_total Handshakes that reached a stage ($connect requests, accepted or not).
# TYPE wsgw_connects_total counter
wsgw_connects_total{api="chat",stage="dev"} 3
# HELP wsgw_execution_errors_total Requests that failed inside the gateway.
# TYPE wsgw_execution_errors_total counter
wsgw_execution_errors_total{api="chat",route="",stage="dev"} 0
wsgw_execution_errors_total{api="chat",route="$connect",stage="dev"} 0
wsgw_execution_errors_total{api="chat",route="$default",stage="dev"} 1
wsgw_execution_errors_total{api="chat",route="send",stage="dev"} 0
# HELP wsgw_integration_errors_total Integration calls that failed or answered with an error status.
# TYPE wsgw_integration_errors_total counter
wsgw_integration_errors_total{api="chat",route="",stage="dev"} 0
wsgw_integration_errors_total{api="chat",route="$connect",stage="dev"} 0
wsgw_integration_errors_total{api="chat",route="$default",stage="dev"} 0
wsgw_integration_errors_total{api="chat",route="send",stage="dev"} 1
# HELP wsgw_messages_total WebSocket messages received from (in) and sent to (out) clients.
# TYPE wsgw_messages_total counter
wsgw_messages_total{api="chat",direction="in",route="",stage="dev"} 0
wsgw_messages_total{api="chat",direction="in",route="$connect",stage="dev"} 0
wsgw_messages_total{api="chat",direction="in",route="$default",stage="dev"} 1
wsgw_messages_total{api="chat",direction="in",route="send",stage="dev"} 3
wsgw_messages_total{api="chat",direction="out",route="",stage="dev"} 1
wsgw_messages_total{api="chat",direction="out",route="$connect",stage="dev"} 0
wsgw_messages_total{api="chat",direction="out",route="$default",stage="dev"} 0
wsgw_messages_total{api="chat",direction="out",route="send",stage="dev"} 1
`,
		},
		{
			name:  "only send detailed through route_settings",
			stage: testStage("dev", false, map[string]bool{"send": true}),
			want: `
# HELP wsgw_client_errors_total Requests refused as the client's fault (forbidden, throttled, bad request body).
# TYPE wsgw_client_errors_total counter
wsgw_client_errors_total{api="chat",route="",stage="dev"} 1
wsgw_client_errors_total{api="chat",route="send",stage="dev"} 0
# HELP wsgw_connections_open WebSocket connections open now.
# TYPE wsgw_connections_open gauge
wsgw_connections_open{api="chat",stage="dev"} 1
# HELP wsgw_connects_total Handshakes that reached a stage ($connect requests, accepted or not).
# TYPE wsgw_connects_total counter
wsgw_connects_total{api="chat",stage="dev"} 3
# HELP wsgw_execution_errors_total Requests that failed inside the gateway.
# TYPE wsgw_execution_errors_total counter
wsgw_execution_errors_total{api="chat",route="",stage="dev"} 1
wsgw_execution_errors_total{api="chat",route="send",stage="dev"} 0
# HELP wsgw_integration_errors_total Integration calls that failed or answered with an error status.
# TYPE wsgw_integration_errors_total counter
wsgw_integration_errors_total{api="chat",route="",stage="dev"} 0
wsgw_integration_errors_total{api="chat",route="send",stage="dev"} 1
# HELP wsgw_messages_total WebSocket messages received from (in) and sent to (out) clients.
# TYPE wsgw_messages_total counter
wsgw_messages_total{api="chat",direction="in",route="",stage="dev"} 1
wsgw_messages_total{api="chat",direction="in",route="send",stage="dev"} 3
wsgw_messages_total{api="chat",direction="out",route="",stage="dev"} 1
wsgw_messages_total{api="chat",direction="out",route="send",stage="dev"} 1
`,
		},
		{
			name:  "detailed stage with send opted out",
			stage: testStage("dev", true, map[string]bool{"send": false, "$connect": false}),
			want: `
# HELP wsgw_client_errors_total Requests refused as the client's fault (forbidden, throttled, bad request body).
# TYPE wsgw_client_errors_total counter
wsgw_client_errors_total{api="chat",route="",stage="dev"} 0
wsgw_client_errors_total{api="chat",route="$default",stage="dev"} 1
# HELP wsgw_connections_open WebSocket connections open now.
# TYPE wsgw_connections_open gauge
wsgw_connections_open{api="chat",stage="dev"} 1
# HELP wsgw_connects_total Handshakes that reached a stage ($connect requests, accepted or not).
# TYPE wsgw_connects_total counter
wsgw_connects_total{api="chat",stage="dev"} 3
# HELP wsgw_execution_errors_total Requests that failed inside the gateway.
# TYPE wsgw_execution_errors_total counter
wsgw_execution_errors_total{api="chat",route="",stage="dev"} 0
wsgw_execution_errors_total{api="chat",route="$default",stage="dev"} 1
# HELP wsgw_integration_errors_total Integration calls that failed or answered with an error status.
# TYPE wsgw_integration_errors_total counter
wsgw_integration_errors_total{api="chat",route="",stage="dev"} 1
wsgw_integration_errors_total{api="chat",route="$default",stage="dev"} 0
# HELP wsgw_messages_total WebSocket messages received from (in) and sent to (out) clients.
# TYPE wsgw_messages_total counter
wsgw_messages_total{api="chat",direction="in",route="",stage="dev"} 3
wsgw_messages_total{api="chat",direction="in",route="$default",stage="dev"} 1
wsgw_messages_total{api="chat",direction="out",route="",stage="dev"} 2
wsgw_messages_total{api="chat",direction="out",route="$default",stage="dev"} 0
`,
		},
	}
	names := []string{"wsgw_client_errors_total", "wsgw_connections_open", "wsgw_connects_total",
		"wsgw_execution_errors_total", "wsgw_integration_errors_total", "wsgw_messages_total"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics()
			traffic(m.Stage("chat", tt.stage, routes))
			if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(tt.want), names...); err != nil {
				t.Errorf("RT-3/D-32: %v", err)
			}
		})
	}
}

func TestMetricsIntegrationLatencyHistogramRT3(t *testing.T) {
	m := NewMetrics()
	s := m.Stage("chat", testStage("dev", false, nil), []string{"send"})
	traffic(s)
	want := `
# HELP wsgw_integration_latency_seconds Time from sending an integration request to receiving its response.
# TYPE wsgw_integration_latency_seconds histogram
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.001"} 0
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.0025"} 0
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.005"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.01"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.025"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.05"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.1"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.25"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="0.5"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="1"} 3
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="2.5"} 4
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="5"} 4
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="10"} 4
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="30"} 4
wsgw_integration_latency_seconds_bucket{api="chat",route="",stage="dev",le="+Inf"} 4
wsgw_integration_latency_seconds_sum{api="chat",route="",stage="dev"} 2.009
wsgw_integration_latency_seconds_count{api="chat",route="",stage="dev"} 4
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "wsgw_integration_latency_seconds"); err != nil {
		t.Errorf("RT-3 integration latency: %v", err)
	}
}

func TestMetricsRetainRT30(t *testing.T) {
	m := NewMetrics()
	routes := []string{"$default", "send", "old"}
	dev := m.Stage("chat", testStage("dev", true, nil), routes)
	prod := m.Stage("chat", testStage("prod", false, nil), routes)
	m.Retain(dev, prod)
	dev.Opened()
	dev.Route("send").MessageIn()
	prod.Opened()

	count := func(name string) int {
		t.Helper()
		n, err := testutil.GatherAndCount(m.Registry(), name)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// dev: route "", $default, send, old; prod: route "".
	if got := count("wsgw_client_errors_total"); got != 5 {
		t.Fatalf("before reload: %d client error series, want 5", got)
	}

	// Reload: prod is removed, dev loses route "old" and send is no longer
	// detailed.
	dev2 := m.Stage("chat", testStage("dev", true, map[string]bool{"send": false}), []string{"$default", "send"})
	m.Retain(dev2)

	tests := []struct {
		name string
		want int
	}{
		{"wsgw_client_errors_total", 2}, // dev "" and $default
		{"wsgw_messages_total", 4},      // in and out of both
		{"wsgw_integration_latency_seconds", 2},
		{"wsgw_connections_open", 1}, // prod's gauge is gone
		{"wsgw_connects_total", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := count(tt.name); got != tt.want {
				t.Errorf("RT-30: %d series of %s after reload, want %d", got, tt.name, tt.want)
			}
		})
	}

	// The connection of the removed stage closes through the handle it
	// opened with: no series comes back, and the kept stage's gauge carries
	// over the reload.
	prod.Closed()
	dev2.Closed()
	want := `
# HELP wsgw_connections_open WebSocket connections open now.
# TYPE wsgw_connections_open gauge
wsgw_connections_open{api="chat",stage="dev"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "wsgw_connections_open"); err != nil {
		t.Errorf("RT-30: %v", err)
	}

	// A stage added back starts from zero.
	prod2 := m.Stage("chat", testStage("prod", false, nil), routes)
	m.Retain(dev2, prod2)
	if got := testutil.ToFloat64(m.connectionsOpen.WithLabelValues("chat", "prod")); got != 0 {
		t.Errorf("re-added stage's gauge = %v, want 0", got)
	}
}

func TestMetricsHandlerRT3(t *testing.T) {
	m := NewMetrics()
	s := m.Stage("chat", testStage("dev", false, nil), []string{"send"})
	s.Connect()
	s.Opened()
	s.Route("send").MessageIn()

	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("D-32: Content-Type %q, want the text format", ct)
	}
	for _, line := range []string{
		`wsgw_connections_open{api="chat",stage="dev"} 1`,
		`wsgw_connects_total{api="chat",stage="dev"} 1`,
		`wsgw_messages_total{api="chat",direction="in",route="",stage="dev"} 1`,
	} {
		if !strings.Contains(string(body), line+"\n") {
			t.Errorf("D-32: /metrics lacks %q:\n%s", line, body)
		}
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "wsgw_") {
			t.Errorf("D-32: series %q is not prefixed wsgw_", line)
		}
	}
}

func TestMetricsConcurrentRT3(t *testing.T) {
	m := NewMetrics()
	s := m.Stage("chat", testStage("dev", true, nil), []string{"send"})
	const workers, each = 8, 1000
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			r := s.Route("send")
			for range each {
				s.Opened()
				r.MessageIn()
				r.IntegrationLatency(time.Millisecond)
				s.Closed()
			}
		})
	}
	// A reload racing the traffic.
	wg.Go(func() {
		m.Retain(m.Stage("chat", testStage("dev", true, nil), []string{"send"}))
	})
	wg.Wait()
	if got := testutil.ToFloat64(m.messages.WithLabelValues("chat", "dev", "send", DirectionIn)); got != workers*each {
		t.Errorf("messages in = %v, want %d", got, workers*each)
	}
	if got := testutil.ToFloat64(m.connectionsOpen.WithLabelValues("chat", "dev")); got != 0 {
		t.Errorf("connections open = %v, want 0", got)
	}
}

// BenchmarkMessageMetrics is the metrics cost of one message on a detailed
// route: resolve the route, count it in and out, record the latency.
func BenchmarkMessageMetrics(b *testing.B) {
	m := NewMetrics()
	s := m.Stage("chat", testStage("dev", true, nil), []string{"$connect", "$default", "send"})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := s.Route("send")
			r.MessageIn()
			r.IntegrationLatency(3 * time.Millisecond)
			r.MessageOut()
		}
	})
}
