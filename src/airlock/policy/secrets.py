"""Named secrets: their values live on the host (an env var or a file), enter a sandbox only as env
vars of the executions whose role names them, and are redacted from everything that comes back.

Redaction replaces each value with ``[REDACTED:name]`` in outputs (also when streamed: a value split
across two chunks is caught, at the cost of holding back as many characters as the longest value),
errors, the history's copy of the code, and the audit log. Values shorter than 4 characters are not
redacted: they would blank out ordinary text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from airlock.errors import ConfigError
from airlock.models import ExecutionResult, OutputChunk
from airlock.policy.config import SecretSource

__all__ = ["Secrets", "StreamRedactor"]

_MIN_REDACTED = 4


class Secrets:
    def __init__(self, sources: dict[str, SecretSource]) -> None:
        self._sources = sources
        self._values: dict[str, str] | None = None

    @property
    def values(self) -> dict[str, str]:
        """name -> value, read once (a secret that cannot be read is a configuration error)."""
        if self._values is None:
            self._values = {name: _read(name, source) for name, source in self._sources.items()}
        return self._values

    def env_for(self, names: list[str]) -> dict[str, str]:
        """The env vars that carry the named secrets into a sandbox: ``github_token`` -> ``GITHUB_TOKEN``."""
        return {name.upper(): self.values[name] for name in names}

    def redact(self, text: str) -> str:
        pattern = self._pattern()
        if pattern is None or not text:
            return text
        names = {value: name for name, value in self.values.items()}
        return pattern.sub(lambda m: f"[REDACTED:{names[m.group(0)]}]", text)

    def redact_result(self, result: ExecutionResult) -> ExecutionResult:
        if self._pattern() is None:
            return result
        result.stdout, result.stderr = self.redact(result.stdout), self.redact(result.stderr)
        if result.error is not None:
            result.error.value = self.redact(result.error.value)
            result.error.traceback = self.redact(result.error.traceback)
        return result

    def longest(self) -> int:
        return max((len(v) for v in self.values.values() if len(v) >= _MIN_REDACTED), default=0)

    def _pattern(self) -> re.Pattern[str] | None:
        if not hasattr(self, "_compiled"):
            values = sorted((v for v in self.values.values() if len(v) >= _MIN_REDACTED), key=len, reverse=True)
            self._compiled = re.compile("|".join(map(re.escape, values))) if values else None
        return self._compiled


class StreamRedactor:
    """Wraps an output callback: chunks are redacted, holding back a possible secret's beginning."""

    def __init__(self, secrets: Secrets, callback: Callable[[OutputChunk], None]) -> None:
        self.secrets = secrets
        self.callback = callback
        self.keep = max(secrets.longest() - 1, 0)
        self.pending: dict[Literal["stdout", "stderr"], str] = {"stdout": "", "stderr": ""}

    def __call__(self, chunk: OutputChunk) -> None:
        text = self.secrets.redact(self.pending[chunk.stream] + chunk.data)
        cut = len(text) - self.keep
        self.pending[chunk.stream] = text[max(cut, 0) :]
        if cut > 0:
            self.callback(OutputChunk(stream=chunk.stream, data=text[:cut]))

    def flush(self) -> None:
        for stream, text in self.pending.items():
            if text:
                self.callback(OutputChunk(stream=stream, data=self.secrets.redact(text)))
        self.pending = {"stdout": "", "stderr": ""}


def _read(name: str, source: SecretSource) -> str:
    if source.env is not None:
        value = os.environ.get(source.env)
        if value is None:
            raise ConfigError(f"secret {name!r}: the host has no env var {source.env}")
        return value
    assert source.file is not None
    try:
        return Path(source.file).read_text().rstrip("\n")
    except OSError as exc:
        raise ConfigError(f"secret {name!r}: cannot read {source.file}: {exc.strerror}") from exc
