package serve

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus series, in a registry of its own
// (no package state).
type metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	search       prometheus.Histogram
	bytes        prometheus.Counter
	authFailures prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rcbs_serve_requests_total", Help: "HTTP requests by route and status code.",
		}, []string{"route", "code"}),
		search: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "rcbs_serve_search_seconds", Help: "Time to answer a search.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		bytes:        prometheus.NewCounter(prometheus.CounterOpts{Name: "rcbs_serve_bytes_served_total", Help: "Response body bytes sent."}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "rcbs_serve_auth_failures_total", Help: "Failed or refused authentications."}),
	}
	m.reg.MustRegister(m.requests, m.search, m.bytes, m.authFailures)
	return m
}

func (m *metrics) request(route string, code int, bytes int64) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.bytes.Add(float64(bytes))
}

func (s *Server) opsRoutes() []Route {
	return []Route{
		{"GET /health", "health", s.health},
		{"GET /metrics", "metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP},
	}
}

// healthBody is /health's answer: counts, never paths.
type healthBody struct {
	Status    string `json:"status"`
	Archives  int    `json:"archives"`
	Indexed   int64  `json:"indexed"`
	KeyLoaded bool   `json:"keyLoaded"`
	Problem   string `json:"problem,omitempty"`
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	b := healthBody{Status: "ok", Archives: len(s.opt.Archives), KeyLoaded: s.opt.Key != nil}
	for i, x := range s.opt.Index.Indexes {
		n, err := x.Count(r.Context())
		if err != nil {
			b.Status, b.Problem = "error", fmt.Sprintf("archive %d: index unreadable", i+1)
			writeJSON(w, http.StatusServiceUnavailable, b)
			return
		}
		b.Indexed += n
	}
	writeJSON(w, http.StatusOK, b)
}
