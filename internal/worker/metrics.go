package worker

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
)

// promLabels are the SDK tags kept as Prometheus labels; Prometheus needs a
// fixed label set per metric, so other tags are dropped.
var promLabels = []string{"namespace", "task_queue", "workflow_type", "activity_type", "operation"}

// MetricsHandler exposes the Temporal SDK's worker metrics to Prometheus.
type MetricsHandler struct {
	reg  prometheus.Registerer
	tags map[string]string
	m    *metricSet
}

type metricSet struct {
	mu       sync.Mutex
	counters map[string]*prometheus.CounterVec
	gauges   map[string]*prometheus.GaugeVec
	timers   map[string]*prometheus.HistogramVec
}

// NewMetricsHandler registers SDK metrics (prefixed temporal_) in reg.
func NewMetricsHandler(reg prometheus.Registerer) *MetricsHandler {
	return &MetricsHandler{reg: reg, tags: map[string]string{}, m: &metricSet{
		counters: map[string]*prometheus.CounterVec{},
		gauges:   map[string]*prometheus.GaugeVec{},
		timers:   map[string]*prometheus.HistogramVec{},
	}}
}

var _ client.MetricsHandler = (*MetricsHandler)(nil)

// WithTags returns a handler that adds tags.
func (h *MetricsHandler) WithTags(tags map[string]string) client.MetricsHandler {
	n := make(map[string]string, len(h.tags)+len(tags))
	for k, v := range h.tags {
		n[k] = v
	}
	for k, v := range tags {
		n[k] = v
	}
	return &MetricsHandler{reg: h.reg, tags: n, m: h.m}
}

func (h *MetricsHandler) values() []string {
	v := make([]string, len(promLabels))
	for i, l := range promLabels {
		v[i] = h.tags[l]
	}
	return v
}

func promName(name string) string {
	return "temporal_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.TrimPrefix(name, "temporal_"))
}

// Counter implements client.MetricsHandler.
func (h *MetricsHandler) Counter(name string) client.MetricsCounter {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	c, ok := h.m.counters[name]
	if !ok {
		c = prometheus.NewCounterVec(prometheus.CounterOpts{Name: promName(name), Help: "Temporal SDK counter " + name}, promLabels)
		if err := h.reg.Register(c); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				c = are.ExistingCollector.(*prometheus.CounterVec)
			}
		}
		h.m.counters[name] = c
	}
	ctr := c.WithLabelValues(h.values()...)
	return counterFunc(func(d int64) { ctr.Add(float64(d)) })
}

// Gauge implements client.MetricsHandler.
func (h *MetricsHandler) Gauge(name string) client.MetricsGauge {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	g, ok := h.m.gauges[name]
	if !ok {
		g = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: promName(name), Help: "Temporal SDK gauge " + name}, promLabels)
		if err := h.reg.Register(g); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				g = are.ExistingCollector.(*prometheus.GaugeVec)
			}
		}
		h.m.gauges[name] = g
	}
	gg := g.WithLabelValues(h.values()...)
	return gaugeFunc(gg.Set)
}

// Timer implements client.MetricsHandler.
func (h *MetricsHandler) Timer(name string) client.MetricsTimer {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	t, ok := h.m.timers[name]
	if !ok {
		t = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: promName(name) + "_seconds", Help: "Temporal SDK timer " + name,
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, promLabels)
		if err := h.reg.Register(t); err != nil {
			if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
				t = are.ExistingCollector.(*prometheus.HistogramVec)
			}
		}
		h.m.timers[name] = t
	}
	o := t.WithLabelValues(h.values()...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
