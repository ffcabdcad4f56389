"""Prometheus metrics of one server; a registry per app, no module-level state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.execs = Counter(
            "airlock_execs",
            "Executions finished, by language and outcome",
            ["language", "outcome"],
            registry=self.registry,
        )
        self.exec_seconds = Histogram(
            "airlock_exec_duration_seconds",
            "Time executions ran",
            ["language"],
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120),
        )
        self.errors = Counter("airlock_http_errors", "Error replies, by code", ["code"], registry=self.registry)
        self.live_sandboxes = Gauge(
            "airlock_live_sandboxes", "Sandboxes created and not deleted", registry=self.registry
        )

    def observe_exec(self, language: str, outcome: str, seconds: float) -> None:
        self.execs.labels(language, outcome).inc()
        self.exec_seconds.labels(language).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
