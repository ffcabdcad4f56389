"""Hooks: code the operator adds at five stages of an execution, in order of priority.

    pre_validation   before any check          may veto
    pre_exec         after the built-in checks may veto, or rewrite the request
    post_exec        after it ran              sees (and may change) the result
    on_deny          when it was refused       sees the verdict
    on_failure       when it ran and failed    sees the result

A hook is a Python callable (sync or async) taking a ``HookContext``, or a shell command that gets
the context as JSON on stdin. A hook vetoes by raising ``Veto`` (a command: by exiting non-zero).
The seven built-ins (validation, security scan, rate limit, time window, resource check, secret
redaction, audit) are hooks too, at priorities 100-500 of ``pre_exec`` and 100/900 of the later
stages; the operator's run at 1000 unless they say otherwise, so they can go before or after them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from airlock.models import ExecutionRequest, ExecutionResult, Reason, Risk
from airlock.policy.config import HookConfig, Stage

__all__ = ["STAGES", "Hook", "HookContext", "HookFunction", "Hooks", "Veto", "command_hook"]

logger = logging.getLogger(__name__)

STAGES: tuple[Stage, ...] = ("pre_validation", "pre_exec", "post_exec", "on_deny", "on_failure")
_BEFORE = ("pre_validation", "pre_exec")


class Veto(Exception):
    """Raised by a hook to refuse the execution; ``reason`` goes into the verdict."""

    def __init__(self, reason: str, *, risk: Risk = Risk.CRITICAL, pattern: str = "policy.hook") -> None:
        super().__init__(reason)
        self.reason = Reason(pattern=pattern, risk=risk, message=reason)


@dataclass
class HookContext:
    """What a hook sees; ``request`` may be replaced in ``pre_exec``, ``result`` changed after."""

    stage: Stage
    request: ExecutionRequest
    role: str
    agent_id: str | None
    reasons: list[Reason] = field(default_factory=list)
    risk: Risk = Risk.LOW
    result: ExecutionResult | None = None
    audit_id: str | None = None
    #: Scratch space for the built-ins (the analysis, the commands found).
    notes: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "language": self.request.language,
            "code": self.request.code,
            "argv": self.request.argv,
            "role": self.role,
            "agent_id": self.agent_id,
            "risk": self.risk.value,
            "reasons": [reason.model_dump(mode="json") for reason in self.reasons],
            "result": None if self.result is None else self.result.model_dump(mode="json", exclude={"verdict"}),
            "audit_id": self.audit_id,
        }


HookFunction = Callable[[HookContext], Awaitable[None] | None]


@dataclass(frozen=True)
class Hook:
    name: str
    stage: Stage
    run: HookFunction
    priority: int = 1000


class Hooks:
    """The hooks of each stage, kept in priority order (ties: in the order they were added)."""

    def __init__(self) -> None:
        self._stages: dict[str, list[Hook]] = {stage: [] for stage in STAGES}

    def add(self, hook: Hook) -> None:
        if hook.stage not in self._stages:
            raise ValueError(f"unknown hook stage {hook.stage!r}; the stages are {', '.join(STAGES)}")
        hooks = self._stages[hook.stage]
        hooks.append(hook)
        hooks.sort(key=lambda h: h.priority)  # stable: equal priorities keep their order

    def remove(self, name: str) -> None:
        for hooks in self._stages.values():
            hooks[:] = [hook for hook in hooks if hook.name != name]

    def names(self, stage: Stage) -> list[str]:
        return [hook.name for hook in self._stages[stage]]

    async def run(self, stage: Stage, context: HookContext) -> None:
        """Run a stage's hooks in order. Before the execution a ``Veto`` (or any error: a broken hook
        never lets code through) stops them and propagates; after it, errors are logged."""
        context.stage = stage
        for hook in self._stages[stage]:
            try:
                outcome = hook.run(context)
                if inspect.isawaitable(outcome):
                    await outcome
            except Veto:
                if stage in _BEFORE:
                    raise
                logger.warning("hook %s tried to veto at %s, after the decision", hook.name, stage)
            except Exception as exc:
                if stage in _BEFORE:
                    raise Veto(f"hook {hook.name} failed: {type(exc).__name__}: {exc}") from exc
                logger.error("hook %s failed at %s: %s", hook.name, stage, exc)


def command_hook(config: HookConfig) -> Hook:
    """A hook that runs a shell command (the operator's, on the host) with the context on stdin."""

    async def run(context: HookContext) -> None:
        process = await asyncio.create_subprocess_exec(
            *config.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        payload = json.dumps(context.as_json()).encode()
        try:
            output, _ = await asyncio.wait_for(process.communicate(payload), config.timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise Veto(f"hook {' '.join(config.command)} took longer than {config.timeout_s} s") from None
        if process.returncode != 0:
            first = output.decode(errors="replace").strip().splitlines()[:1]
            raise Veto(first[0] if first else f"hook {config.command[0]} exited {process.returncode}")

    return Hook(name=config.name or " ".join(config.command), stage=config.stage, run=run, priority=config.priority)
