"""Rate limits (token buckets, one per key) and time windows."""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

from airlock.policy.config import RateLimit, TimeWindow

__all__ = ["Buckets", "in_windows"]

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Buckets:
    """Token buckets by key (an agent, a command): ``take`` says how long to wait, 0.0 when allowed."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self.now = time.monotonic  #: the clock (tests move it)

    def take(self, key: str, limit: RateLimit, *, dry_run: bool = False) -> float:
        """Take a token for ``key``; the seconds until one is free when there is none (nothing taken)."""
        now = self.now()
        tokens, then = self._state.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - then) * limit.per_minute / 60)
        if tokens < 1:
            self._state[key] = (tokens, now)
            return (1 - tokens) * 60 / limit.per_minute
        if not dry_run:
            self._state[key] = (tokens - 1, now)
        return 0.0


def in_windows(windows: list[TimeWindow], now: datetime | None = None) -> bool:
    """Whether ``now`` falls in one of the windows (no windows: always)."""
    if not windows:
        return True
    for window in windows:
        local = (now or datetime.now(ZoneInfo("UTC"))).astimezone(ZoneInfo(window.timezone))
        if _DAYS[local.weekday()] in window.days and window.start <= local.time().replace(tzinfo=None) <= window.end:
            return True
    return False
