package server

import (
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// metrics is the server's Prometheus registry. It is per Server (no global
// registry), so tests can run servers side by side.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	handler  fasthttp.RequestHandler
	// series caches each label combination's counter and histogram:
	// WithLabelValues validates and hashes its labels and takes the vec's
	// lock on every call (2 % of the server's CPU per SendMessage). The
	// combinations are bounded (registered names and AWS codes).
	series sync.Map // metricKey → *metricSeries
}

type metricKey struct{ service, operation, code string }

type metricSeries struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics() (*metrics, error) {
	m := &metrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_requests_total",
		Help: "AWS API requests by service, operation and result code (OK or the AWS error code).",
	}, []string{"service", "operation", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "sluice_request_duration_seconds",
		Help: "AWS API request latency, from routing to the response being ready, by service and operation.",
		// 100µs .. ~26s: covers in-memory hits up to 20s long polls.
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 19),
	}, []string{"service", "operation"})
	for _, c := range []prometheus.Collector{
		m.requests, m.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := m.registry.Register(c); err != nil {
			return nil, fmt.Errorf("server: registering metrics: %w", err)
		}
	}
	m.handler = fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
	return m, nil
}

func (m *metrics) serve(ctx *fasthttp.RequestCtx) {
	m.handler(ctx)
}

// observe records one finished AWS request. Labels only ever hold
// registered names and AWS codes from the service tables, never raw client
// input, so cardinality stays bounded.
func (m *metrics) observe(x *exchange) {
	service := "unknown"
	if x.svc != nil {
		service = x.svc.Name
	}
	code := x.code
	if code == "" {
		code = "none"
	}
	ms := m.seriesFor(service, x.opLabel, code)
	ms.requests.Inc()
	ms.latency.Observe(time.Since(x.start).Seconds())
}

func (m *metrics) seriesFor(service, operation, code string) *metricSeries {
	k := metricKey{service, operation, code}
	if ms, ok := m.series.Load(k); ok {
		return ms.(*metricSeries)
	}
	ms, _ := m.series.LoadOrStore(k, &metricSeries{
		requests: m.requests.WithLabelValues(service, operation, code),
		latency:  m.latency.WithLabelValues(service, operation),
	})
	return ms.(*metricSeries)
}
