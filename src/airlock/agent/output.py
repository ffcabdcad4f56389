"""Output capture for one stream of one execution: inline up to a cap, the rest spilled to a file.

stdlib only.
"""

from __future__ import annotations

import os

from protocol import encode_bytes

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["OutputSink", "drain"]

READ_CHUNK = 65536


class OutputSink:
    """Keeps the first ``inline_cap`` bytes; past that the whole stream goes to ``spill_path``.

    The spill file holds the stream from its first byte, so it can be read as one piece, up to
    ``spill_cap`` bytes; anything beyond that is counted and dropped.
    """

    def __init__(
        self,
        name: str,
        inline_cap: int,
        spill_path: str,
        spill_cap: int,
        on_chunk: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self.name = name
        self.inline_cap = inline_cap
        self.spill_path = spill_path
        self.spill_cap = spill_cap
        self.on_chunk = on_chunk
        self.inline = bytearray()
        self.total = 0
        self.spilled = 0
        self.dropped = 0
        self._file: int | None = None

    @property
    def truncated(self) -> bool:
        return self.total > len(self.inline)

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.on_chunk is not None and self.total < self.inline_cap + self.spill_cap:
            self.on_chunk(self.name, data)
        self.total += len(data)
        if self._file is None and len(self.inline) + len(data) <= self.inline_cap:
            self.inline += data
            return
        if self._file is None:
            room = self.inline_cap - len(self.inline)
            if self.spill_cap == 0:  # nowhere to spill: the rest is dropped
                self.inline += data[:room]
                self.dropped += len(data) - room
                return
            self._open_spill()
            self.inline += data[:room]
        self._spill(data)

    def _open_spill(self) -> None:
        """Start the spill file with what was kept inline so far: it holds the stream from byte 0."""
        os.makedirs(os.path.dirname(self.spill_path), exist_ok=True)
        self._file = os.open(self.spill_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        self._spill(bytes(self.inline))

    def _spill(self, data: bytes) -> None:
        room = max(0, self.spill_cap - self.spilled)
        keep = data[:room]
        try:
            view = memoryview(keep)
            while view:
                view = view[os.write(self._file, view) :]  # type: ignore[arg-type]
        except OSError:  # the scratch space is full: count the rest as dropped
            keep = b""
            self.spill_cap = self.spilled
        self.spilled += len(keep)
        self.dropped += len(data) - len(keep)

    def close(self) -> None:
        if self._file is not None:
            os.close(self._file)
            self._file = None

    def summary(self) -> dict[str, object]:
        self.close()
        return {
            "b64": encode_bytes(bytes(self.inline)),
            "total_bytes": self.total,
            "truncated": self.truncated,
            "file": self.spill_path if self.spilled else None,
            "dropped_bytes": self.dropped,
        }


def drain(fd: int, sink: OutputSink | None) -> bool:
    """Read what ``fd`` holds right now into ``sink``; True once it reached end of file."""
    while True:
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return False
        except OSError:
            return True
        if not data:
            return True
        if sink is not None:
            sink.write(data)
