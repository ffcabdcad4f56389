"""The agent: the one stdlib-only program that runs inside every sandbox (see ``main.py``).

The host imports only ``airlock.agent.protocol`` (and ``procs`` for the process backend); the other
modules import each other by bare name, as they run from a flat directory inside the sandbox.
"""

__all__: list[str] = []
