"""What an RLM run may spend, and what it has spent. One ``Budget`` is shared by a run, every model
call it makes (root and sub-calls) and every child run it starts, so each limit is a limit on the
whole tree of calls; a child only gets what its parent has left."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from airlock.llm.base import Usage

__all__ = ["Budget", "Limits", "Stop"]


@dataclass(frozen=True)
class Limits:
    """``None`` means no limit. Defaults after the RLM paper's reference implementation."""

    max_iterations: int = 30  #: root-model turns of one run
    max_depth: int = 1  #: 1: sub-calls are plain model calls; 2: ``rlm_query`` starts child RLMs, ...
    max_tokens: int | None = None  #: prompt + completion tokens of every call in the tree
    max_time_s: float | None = None
    max_cost_usd: float | None = None
    max_errors: int | None = 5  #: consecutive turns whose code failed
    max_concurrent: int = 4  #: sub-calls in flight at once
    output_chars: int = 20_000  #: REPL output shown to the model per code block

    def __post_init__(self) -> None:
        for name in ("max_iterations", "max_depth", "max_concurrent", "output_chars"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("max_tokens", "max_time_s", "max_cost_usd", "max_errors"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive (or None: no limit)")


class Stop(Exception):
    """A limit ran out; ``reason`` names it (``max_tokens``, ``max_time``, ...)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass
class Budget:
    limits: Limits
    usage: Usage = field(default_factory=Usage)
    started: float = field(default_factory=time.monotonic)
    subcalls: int = 0

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def spend(self, usage: Usage) -> None:
        self.usage.add(usage)

    def exhausted(self) -> Stop | None:
        """The first limit that has run out (tokens, cost, time), or None."""
        limits, usage = self.limits, self.usage
        if limits.max_tokens is not None and usage.total_tokens >= limits.max_tokens:
            return Stop("max_tokens", f"used {usage.total_tokens} tokens of {limits.max_tokens}")
        if limits.max_cost_usd is not None and usage.cost_usd >= limits.max_cost_usd:
            return Stop("max_cost", f"spent ${usage.cost_usd:.4f} of ${limits.max_cost_usd:.4f}")
        if limits.max_time_s is not None and self.elapsed_s >= limits.max_time_s:
            return Stop("max_time", f"ran {self.elapsed_s:.1f} s of {limits.max_time_s:.1f} s")
        return None

    def check(self) -> None:
        """Raise ``Stop`` when a limit has run out."""
        if (stop := self.exhausted()) is not None:
            raise stop

    def remaining_s(self) -> float | None:
        if self.limits.max_time_s is None:
            return None
        return max(0.0, self.limits.max_time_s - self.elapsed_s)
