package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dswarm/dswarm/job"
)

// metrics are the scheduler's Prometheus metrics.
type metrics struct {
	reg          *prometheus.Registry
	jobs         *prometheus.GaugeVec
	queue        prometheus.Gauge
	segments     *prometheus.CounterVec
	nodeFPS      *prometheus.GaugeVec
	storageBytes *prometheus.CounterVec
}

// busyDesc is dswarm_node_busy_slots, computed from the job records at
// each scrape.
var busyDesc = prometheus.NewDesc("dswarm_node_busy_slots", "Tasks running on a node.", []string{"node"}, nil)

// busyCollector reports the busy slots the scheduler derives from its jobs.
type busyCollector func() map[string]int

func (b busyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- busyDesc }

func (b busyCollector) Collect(ch chan<- prometheus.Metric) {
	for node, n := range b() {
		ch <- prometheus.MustNewConstMetric(busyDesc, prometheus.GaugeValue, float64(n), node)
	}
}

func newMetrics(busy func() map[string]int) *metrics {
	m := &metrics{
		reg:   prometheus.NewRegistry(),
		jobs:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dswarm_jobs", Help: "Jobs by state."}, []string{"state"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: "dswarm_queue_length", Help: "Jobs waiting to run."}),
		segments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dswarm_segments_total",
			Help: "Segment tasks by outcome: done, failed, retried (a second or later attempt started)."}, []string{"outcome"}),
		nodeFPS: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "dswarm_node_fps", Help: "Frames per second of the node's last finished segment."}, []string{"node"}),
		storageBytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dswarm_storage_bytes_total",
			Help: "Bytes through the shared storage by the API: uploads and downloads."}, []string{"direction"}),
	}
	m.reg.MustRegister(m.jobs, m.queue, m.segments, busyCollector(busy), m.nodeFPS, m.storageBytes,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	for _, o := range []string{"done", "failed", "retried"} {
		m.segments.WithLabelValues(o)
	}
	for _, d := range []string{"upload", "download"} {
		m.storageBytes.WithLabelValues(d)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *metrics) setJobs(jobs map[string]*Record, queued int) {
	counts := map[string]int{StateQueued: 0, StateRunning: 0, StateDone: 0, StateFailed: 0, StateCancelled: 0}
	for _, r := range jobs {
		counts[r.State]++
	}
	for st, n := range counts {
		m.jobs.WithLabelValues(st).Set(float64(n))
	}
	m.queue.Set(float64(queued))
}

// segment counts a segment event.
func (m *metrics) segment(e job.SegmentEvent) {
	if e.Index < 0 {
		return
	}
	switch e.State {
	case "done":
		if !e.Reused {
			m.segments.WithLabelValues("done").Inc()
		}
		if e.FPS > 0 && e.Node != "" {
			m.nodeFPS.WithLabelValues(e.Node).Set(e.FPS)
		}
	case "failed":
		m.segments.WithLabelValues("failed").Inc()
	case "running":
		if e.Attempt > 1 {
			m.segments.WithLabelValues("retried").Inc()
		}
	}
}
