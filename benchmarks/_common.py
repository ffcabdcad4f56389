"""What the benchmark programs share."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["percentile", "private_dirs"]


def private_dirs(name: str) -> tuple[Path, Path]:
    """A home, and a sandbox root that sandbox uids can reach (so not under a 0700 directory); the
    user's own config file is not read from here on. The caller removes both when it is done."""
    home = Path(tempfile.mkdtemp(prefix=f"airlock-bench-{name}-"))
    root = Path(tempfile.mkdtemp(prefix="airlock-bench-sandboxes-", dir="/var/tmp" if os.geteuid() == 0 else None))
    root.chmod(0o711)
    os.environ["AIRLOCK_CONFIG"] = str(home / "no-config.toml")
    return home, root


def percentile(samples: list[float], q: float) -> float:
    """The sample at quantile ``q`` (0..1) of ``samples``, by nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]
