package runtime

import (
	"encoding/json"
	"net/http"
	"time"
)

// AdminHandler serves the admin listener (RT-3, D-32): GET /healthz (the
// process is alive), GET /readyz (200 once a state is loaded and a listener
// is being served, 503 before and during shutdown), GET /metrics
// (Prometheus text format) and GET /status (JSON: the served state's serial,
// its APIs and stages with their deployment ids and open connections).
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if s.Ready() {
			writeText(w, http.StatusOK, "ready\n")
			return
		}
		writeText(w, http.StatusServiceUnavailable, "not ready\n")
	})
	mux.Handle("GET /metrics", s.MetricsHandler())
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(s.Status())
	})
	return mux
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// Status is what the gateway serves (the admin listener's /status).
type Status struct {
	Ready bool `json:"ready"`
	// Lineage and Serial identify the served state; Serial is 0 before a
	// state is loaded.
	Lineage  string       `json:"lineage,omitempty"`
	Serial   uint64       `json:"serial"`
	LoadedAt *time.Time   `json:"loaded_at,omitempty"`
	APIs     []StatusAPI  `json:"apis"`
	Total    StatusTotals `json:"totals"`
}

// StatusAPI is one served API.
type StatusAPI struct {
	Name   string        `json:"name"`
	ID     string        `json:"id"`
	Stages []StatusStage `json:"stages"`
}

// StatusStage is one served stage.
type StatusStage struct {
	Name        string `json:"name"`
	Deployment  string `json:"deployment"`
	Path        string `json:"path"`
	Connections int    `json:"connections"`
}

// StatusTotals sums the whole gateway.
type StatusTotals struct {
	Connections int `json:"connections"`
}

// Status describes what the gateway serves now.
func (s *Server) Status() Status {
	st := Status{Ready: s.Ready(), APIs: []StatusAPI{}}
	t := s.table.Load()
	if t == nil {
		return st
	}
	s.mu.Lock()
	loaded := s.loadedAt.UTC()
	s.mu.Unlock()
	st.Lineage, st.Serial, st.LoadedAt = t.lineage, t.serial, &loaded
	counts := s.conns.count()
	for _, sg := range t.order {
		if n := len(st.APIs); n == 0 || st.APIs[n-1].Name != sg.key.api {
			st.APIs = append(st.APIs, StatusAPI{Name: sg.key.api, ID: sg.apiID})
		}
		a := &st.APIs[len(st.APIs)-1]
		a.Stages = append(a.Stages, StatusStage{
			Name:        sg.key.stage,
			Deployment:  sg.deploymentID,
			Path:        "/" + sg.key.api + "/" + sg.key.stage,
			Connections: counts[sg.key],
		})
		st.Total.Connections += counts[sg.key]
	}
	return st
}
