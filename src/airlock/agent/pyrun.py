"""Running Python source in this interpreter, the way ``python3 file.py`` would. stdlib only."""

from __future__ import annotations

import contextlib
import sys

TYPE_CHECKING = False  # typing itself is not imported: the agent starts faster without it
if TYPE_CHECKING:
    from typing import Any

__all__ = ["run_python_source"]

_CELLS = iter(range(1, 1 << 62))


def run_python_source(code: str, namespace: dict[str, Any]) -> tuple[int, dict[str, str] | None]:
    """Execute ``code`` in ``namespace``; return the exit code and, if it raised, the error.

    Like the interpreter, an uncaught exception prints its traceback to stderr and gives exit code
    1, and ``SystemExit`` gives its code. The error is also returned as data (name, value, traceback).
    """
    namespace.setdefault("__builtins__", __builtins__)
    filename = f"<cell {next(_CELLS)}>"
    try:
        exec(compile(code, filename, "exec"), namespace)
    except SystemExit as exc:
        return _exit_code(exc.code), None
    except BaseException as exc:
        return 1, _report(exc, filename, code)
    finally:
        _flush()
    return 0, None


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _report(exc: BaseException, filename: str, code: str) -> dict[str, str]:
    import linecache
    import traceback

    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    tb = exc.__traceback__
    while tb is not None and not tb.tb_frame.f_code.co_filename.startswith("<cell "):
        tb = tb.tb_next  # drop the agent's own frames
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    sys.stderr.write(text)
    return {"name": type(exc).__name__, "value": str(exc), "traceback": text}


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
