package queue

import "github.com/prometheus/client_golang/prometheus"

// Prometheus collectors of the queue (package-level, as STYLE.md allows
// for metrics alone).
var (
	metricAttempts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "posthorn", Subsystem: "queue", Name: "recipient_outcomes_total",
		Help: "Recipients after a delivery attempt, by outcome: delivered, deferred, bounced.",
	}, []string{"outcome"})
	metricAttemptSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "posthorn", Subsystem: "queue", Name: "message_send_seconds",
		Help:    "Time to send one message over an open connection.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
	})
	metricConnections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "posthorn", Subsystem: "queue", Name: "connections_total",
		Help: "Outbound connections, by result: ok, failed.",
	}, []string{"result"})
)

func init() {
	prometheus.MustRegister(metricAttempts, metricAttemptSeconds, metricConnections)
}
