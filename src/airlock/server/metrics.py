"""Prometheus metrics of one server; a registry per app, no module-level state."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from airlock.pool import Pools

__all__ = ["Metrics", "PoolCollector"]

#: Boot phases run from a millisecond (the first exec in a warm REPL) to seconds (a loaded host).
_BOOT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)


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
        self.boot_seconds = Histogram(
            "airlock_sandbox_boot_phase_seconds",
            "Each phase of a sandbox's boot: spawn (set-up and launch), agent_ready (until the agent's "
            "hello), first_exec (the warm-up that starts the REPL); pool 'none' for sandboxes made cold",
            ["pool", "phase"],
            registry=self.registry,
            buckets=_BOOT_BUCKETS,
        )

    def observe_exec(self, language: str, outcome: str, seconds: float) -> None:
        self.execs.labels(language, outcome).inc()
        self.exec_seconds.labels(language).observe(seconds)

    def observe_boot(self, pool: str, phases_ms: dict[str, float]) -> None:
        for phase, ms in phases_ms.items():
            self.boot_seconds.labels(pool, phase).observe(ms / 1000)

    def watch_pools(self, pools: Pools) -> None:
        """Report the pools' sizes and counters at each scrape."""
        self.registry.register(PoolCollector(pools))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class PoolCollector(Collector):
    """The pools as they are when scraped: sandboxes by state, and the counters of each pool."""

    def __init__(self, pools: Pools) -> None:
        self.pools = pools

    def collect(self) -> Iterator[Metric]:
        sizes = GaugeMetricFamily(
            "airlock_pool_sandboxes", "Sandboxes of each pool, by state", labels=["pool", "state"]
        )
        counters = {
            name: CounterMetricFamily(f"airlock_pool_{name}", what, labels=["pool"])
            for name, what in (
                ("acquired", "Sandboxes handed out"),
                ("cold_starts", "Acquires that had to create a sandbox"),
                ("recycled", "Sandboxes destroyed for being unhealthy, worn, old or surplus"),
                ("exhausted", "Acquires refused because the pool was drained"),
                ("failed", "Creations that failed"),
            )
        }
        for stats in self.pools.stats():
            for state in ("idle", "leased", "creating", "resetting"):
                sizes.add_metric([stats.name, state], getattr(stats, state))
            for name, family in counters.items():
                family.add_metric([stats.name], getattr(stats, name))
        yield sizes
        yield from counters.values()
