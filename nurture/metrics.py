"""Prometheus metrics of one nurture process, exposed at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    """Counters and gauges the daemon updates after each job; one registry per process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.touches = Counter("nurture_touches", "Touches by outcome (sent, deferred, retried, "
                               "skipped, failed, bounced, stopped, finished, task)", ["outcome"],
                               registry=self.registry)
        self.due_backlog = Gauge("nurture_due_backlog", "Enrollments due now and not yet handled",
                                 registry=self.registry)
        self.tick_seconds = Histogram("nurture_tick_seconds", "Duration of one dispatch tick",
                                      registry=self.registry)
        self.sender_paused = Gauge("nurture_sender_paused", "1 while the mail server rejects the "
                                   "sender and sending is paused", registry=self.registry)
        self.job_errors = Counter("nurture_job_errors", "Scheduled jobs that raised", ["job"],
                                  registry=self.registry)
        self.alerts = Counter("nurture_alerts", "Conditions an operator must look at", ["kind"],
                              registry=self.registry)
