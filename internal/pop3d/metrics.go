package pop3d

import "github.com/prometheus/client_golang/prometheus"

// Prometheus collectors of the POP3 server (package-level, as STYLE.md
// allows for metrics alone).
var (
	metricSessions = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "posthorn", Subsystem: "pop3", Name: "sessions",
		Help: "Open POP3 sessions, by listener.",
	}, []string{"listener"})
	metricLogins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "posthorn", Subsystem: "pop3", Name: "logins_total",
		Help: "POP3 logins, by result: ok, failed, throttled, in_use, error.",
	}, []string{"result"})
	metricRetrieved = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "posthorn", Subsystem: "pop3", Name: "retrieved_octets_total",
		Help: "Octets of messages sent by RETR (their stored size, before dot-stuffing).",
	})
	metricDeleted = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "posthorn", Subsystem: "pop3", Name: "deleted_messages_total",
		Help: "Messages removed in the UPDATE state (DELE then QUIT).",
	})
)

func init() {
	prometheus.MustRegister(metricSessions, metricLogins, metricRetrieved, metricDeleted)
}
