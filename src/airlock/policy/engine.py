"""The policy engine: reads a request, scores its risk, picks its rung, and denies on doubt.

    admit(request)  pre_validation hooks
                    validation      language allowlists, code size, command blacklist     100
                    security scan   the analysis: risk and reasons                       200
                    knowledge       the role's thesaurus, if it has one: known terms used 250
                    rate limit      per agent and per command (token buckets)            300
                    time window     when code may run                                    400
                    resource check  what the request asks for against the role           500
                    pre_exec hooks (the operator's, 1000 unless said otherwise)
                    -> Verdict, or PolicyDenied (on_deny hooks, audit)
    finish(result)  secret redaction (100), post_exec or on_failure hooks, audit (900)

Routing (hybrid mode): low runs on the default rung; medium on the default rung without network;
high on the strongest rung the host has; critical never runs. An analysis that fails or overruns
its deadline is a critical reason: it never allows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from airlock.errors import PolicyDenied
from airlock.models import ExecutionRequest, ExecutionResult, Reason, Risk, Verdict, new_ulid
from airlock.policy.analysis import read
from airlock.policy.config import PolicyConfig, Role
from airlock.policy.hooks import Hook, HookContext, Hooks, command_hook
from airlock.policy.knowledge import judge, validators
from airlock.policy.limits import Buckets, in_windows
from airlock.policy.secrets import Secrets

__all__ = ["RUNGS", "AuditSink", "Policy", "declared_floor", "rung"]

logger = logging.getLogger(__name__)

#: The isolation ladder, weakest first.
RUNGS = ("process", "namespace", "container", "gvisor", "microvm")
#: Where each decision goes: ``await sink(event_id, action, detail)`` (the audit log).
AuditSink = Callable[[str, str, dict[str, Any]], Awaitable[None]]


def _deny(pattern: str, message: str) -> Reason:
    return Reason(pattern=pattern, risk=Risk.CRITICAL, message=message)


class Policy:
    def __init__(
        self,
        config: PolicyConfig | None = None,
        *,
        default_backend: str = "namespace",
        strongest_backend: str | Callable[[], str] | None = None,
        max_code_bytes: int = 1024 * 1024,
        audit: AuditSink | None = None,
    ) -> None:
        self.default_backend = default_backend
        self._strongest = strongest_backend or default_backend
        self.max_code_bytes = max_code_bytes
        self.audit = audit
        self.buckets = Buckets()
        self._pending: dict[str, HookContext] = {}  # audit id -> context, from admit to finish
        self.load(config or PolicyConfig())

    def load(self, config: PolicyConfig) -> None:
        """Take new settings (a reload): roles, hooks and secrets change; rate buckets keep their state."""
        knowledge = validators(config)  # reads the roles' thesauri: may refuse the settings
        self.config = config
        self.knowledge = knowledge
        self.secrets = Secrets(config.secrets)
        self.hooks = Hooks()
        for name, priority, function in (
            ("validation", 100, self._validation),
            ("security_scan", 200, self._security_scan),
            ("rate_limit", 300, self._rate_limit),
            ("time_window", 400, self._time_window),
            ("resource_check", 500, self._resource_check),
        ):
            self.hooks.add(Hook(name=name, stage="pre_exec", run=function, priority=priority))
        if knowledge:  # only when a role asks for it
            self.hooks.add(Hook(name="knowledge", stage="pre_exec", run=self._knowledge, priority=250))
        self.hooks.add(Hook(name="secret_redaction", stage="post_exec", run=self._redact, priority=100))
        self.hooks.add(Hook(name="secret_redaction", stage="on_failure", run=self._redact, priority=100))
        for stage in ("post_exec", "on_deny", "on_failure"):
            self.hooks.add(Hook(name="audit", stage=stage, run=self._audit, priority=900))
        for hook in config.hooks:
            self.hooks.add(command_hook(hook))

    @property
    def strongest_backend(self) -> str:
        """The strongest rung of this host (asked once: finding it starts the backends' checks)."""
        if callable(self._strongest):
            self._strongest = self._strongest()
        return self._strongest

    def role(self, name: str | None) -> tuple[str, Role]:
        name = name or self.config.default_role
        role = self.config.roles.get(name)
        if role is None:
            raise PolicyDenied(self._verdict(name, Role(), [_deny("policy.role", f"unknown role {name!r}")], None))
        return name, role

    # -- judging ------------------------------------------------------------------------------------
    def assess(
        self,
        code: str,
        language: str,
        *,
        role: str | None = None,
        argv: list[str] | None = None,
        backend: str | None = None,
        agent_id: str | None = None,
        timeout_ms: int | None = None,
    ) -> Verdict:
        """The verdict on a request, without running it or spending its rate limits (``policy check``);
        the role's timeout cap is checked only when ``timeout_ms`` is given."""
        request = ExecutionRequest(code=code, language=language, argv=argv, backend=backend)
        request.context.timeout_ms = timeout_ms
        role_name, role_config = self.role(role)
        notes = {"dry_run": True, "timeout_unknown": timeout_ms is None}
        context = HookContext("pre_exec", request, role_name, agent_id, notes=notes)
        for check in (
            self._validation,
            self._security_scan,
            self._knowledge,
            self._rate_limit,
            self._time_window,
            self._resource_check,
        ):
            check(context)
        verdict = self._verdict(role_name, role_config, context.reasons, backend)
        verdict.analysis_ms = round(context.notes.get("analysis_ms", 0.0), 3)
        return verdict

    async def admit(
        self, request: ExecutionRequest, *, role: str | None = None, agent_id: str | None = None
    ) -> Verdict:
        """Judge a request that is about to run: its verdict (with an audit id), or ``PolicyDenied``."""
        role_name, role_config = self.role(role)
        context = HookContext("pre_validation", request, role_name, agent_id, audit_id=new_ulid())
        try:
            if self.config.mode != "off":
                await self.hooks.run("pre_validation", context)
                await self.hooks.run("pre_exec", context)
        except Exception as exc:  # noqa: BLE001  (a Veto, or a hook that broke: never allows)
            reason = getattr(exc, "reason", None) or _deny("policy.hook", f"{type(exc).__name__}: {exc}")
            context.reasons.append(reason)
        verdict = self._verdict(role_name, role_config, context.reasons, context.request.backend)
        verdict.audit_id = context.audit_id
        verdict.analysis_ms = round(context.notes.get("analysis_ms", 0.0), 3)
        context.notes["verdict"] = verdict
        if not verdict.allowed:
            await self.hooks.run("on_deny", context)
            refusals = {r.pattern for r in verdict.reasons if r.risk is Risk.CRITICAL}
            retry = context.notes.get("retry_after") if refusals == {"policy.rate-limit"} else None
            raise PolicyDenied(verdict, retry_after=retry)
        verdict_request = context.request
        if verdict_request is not request:  # a pre_exec hook rewrote it
            verdict.reasons.append(Reason(pattern="policy.rewritten", risk=Risk.LOW, message="a hook rewrote it"))
        self._pending[verdict.audit_id or ""] = context
        return verdict

    async def finish(self, verdict: Verdict, result: ExecutionResult) -> ExecutionResult:
        """After the execution: redaction, post_exec (or on_failure) hooks, audit. The result carries the verdict."""
        context = self._pending.pop(verdict.audit_id or "", None)
        result.verdict = verdict
        if context is None:
            return self.secrets.redact_result(result)
        context.result = result
        await self.hooks.run("post_exec" if result.success else "on_failure", context)
        return context.result

    def forget(self, verdict: Verdict) -> None:
        """An admitted execution that never finished (it raised, or was cancelled)."""
        self._pending.pop(verdict.audit_id or "", None)

    def request_of(self, verdict: Verdict) -> ExecutionRequest | None:
        """The request as the hooks left it (a pre_exec hook may rewrite it)."""
        context = self._pending.get(verdict.audit_id or "")
        return None if context is None else context.request

    def _verdict(self, role_name: str, role: Role, reasons: list[Reason], pinned: str | None) -> Verdict:
        risk = max((reason.risk for reason in reasons), default=Risk.LOW, key=lambda r: r.level)
        denied = risk is Risk.CRITICAL
        if not denied and risk > role.max_risk:
            reasons.append(_deny("policy.max-risk", f"role {role_name!r} may run up to {role.max_risk.value}"))
            denied = True
        isolation = self.strongest_backend if risk >= Risk.HIGH else self.default_backend
        if pinned is not None and not denied:
            if role.backends is not None and pinned not in role.backends:
                reasons.append(_deny("policy.backend", f"role {role_name!r} may not pin backend {pinned!r}"))
                denied = True
            elif rung(pinned) < rung(needed := self._weakest_for(risk)):
                reasons.append(_deny("policy.isolation", f"{risk.value} risk needs {needed} or stronger, not {pinned}"))
                denied = True
            else:
                isolation = pinned
        if self.config.mode == "audit":
            denied = False
        return Verdict(
            risk=risk,
            decision="deny" if denied else "allow",
            isolation=None if denied else isolation,
            network=not denied and risk is Risk.LOW and bool(role.egress),
            reasons=reasons,
            role=role_name,
        )

    def _weakest_for(self, risk: Risk) -> str:
        """The weakest rung a caller may pin for this risk: any for low; one that can cut the
        network for medium (not ``process``); the strongest for high."""
        if risk >= Risk.HIGH:
            return self.strongest_backend
        if risk is Risk.MEDIUM:
            return min("namespace", self.strongest_backend, key=rung)
        return RUNGS[0]

    # -- the built-in hooks --------------------------------------------------------------------------
    def _validation(self, context: HookContext) -> None:
        request, role = context.request, self.role(context.role)[1]
        language = request.language
        for allowed, whose in ((self.config.languages, "the policy"), (role.languages, f"role {context.role!r}")):
            if allowed is not None and language not in allowed:
                context.reasons.append(_deny("policy.language", f"{whose} does not allow {language}"))
        limit = min(role.max_code_bytes or self.max_code_bytes, self.max_code_bytes)
        size = len(request.code.encode()) + sum(len(a) for a in request.argv or [])
        if size > limit:
            context.reasons.append(_deny("policy.code-size", f"code is {size} bytes; the limit is {limit}"))

    def _security_scan(self, context: HookContext) -> None:
        request = context.request
        if context.reasons and self.config.mode == "enforce":
            return  # already refused: no need to read it
        context.reasons.extend(declared_floor(request))
        started = time.perf_counter()
        try:
            findings = read(request.code, request.language, request.argv)
        except Exception as exc:  # noqa: BLE001  (a bug of the analysis, or input it cannot take: deny)
            logger.warning("analysis failed: %s: %s", type(exc).__name__, exc)
            context.reasons.append(_deny("policy.analysis-failed", f"the analysis failed: {type(exc).__name__}"))
            return
        elapsed = (time.perf_counter() - started) * 1000
        context.notes["analysis_ms"] = elapsed
        context.notes["commands"] = findings.commands
        context.reasons.extend(findings.reasons)
        if elapsed > self.config.analysis_timeout_ms:
            context.reasons.append(
                _deny("policy.analysis-timeout", f"the analysis took {elapsed:.0f} ms, past its deadline")
            )
        for command in sorted(findings.commands & set(self.config.blacklist)):
            context.reasons.append(_deny("policy.blacklist", f"{command} is on the blacklist"))

    def _knowledge(self, context: HookContext) -> None:
        """After the scan, whose early return must not see this check's low-risk warnings."""
        validator = self.knowledge.get(context.role)
        check = self.role(context.role)[1].knowledge
        refused = any(reason.risk is Risk.CRITICAL for reason in context.reasons)
        if validator is None or check is None or (refused and self.config.mode == "enforce"):
            return
        context.reasons.extend(judge(validator, check, context.request.code))

    def _rate_limit(self, context: HookContext) -> None:
        dry_run = bool(context.notes.get("dry_run"))
        limit = self.role(context.role)[1].rate or self.config.agent_rate
        keys = []
        if limit is not None:
            keys.append((f"agent:{context.agent_id or '-'}", limit, f"agent {context.agent_id or '(none)'}"))
        for command in sorted(context.notes.get("commands", ())):
            if command in self.config.command_rates:
                keys.append((f"command:{command}", self.config.command_rates[command], f"command {command}"))
        for key, rate, what in keys:
            wait = self.buckets.take(key, rate, dry_run=dry_run)
            if wait > 0:
                context.reasons.append(_deny("policy.rate-limit", f"{what} is over its rate; retry in {wait:.1f} s"))
                context.notes["retry_after"] = wait

    def _time_window(self, context: HookContext) -> None:
        if not in_windows(self.config.time_windows):
            context.reasons.append(_deny("policy.time-window", "outside the time windows when code may run"))

    def _resource_check(self, context: HookContext) -> None:
        role = self.role(context.role)[1]
        timeout = context.request.context.timeout_ms
        if context.notes.get("timeout_unknown"):
            return
        if role.max_timeout_ms is not None and (timeout is None or timeout > role.max_timeout_ms):
            asked = "no timeout" if timeout is None else f"{timeout} ms"
            context.reasons.append(
                _deny("policy.resources", f"asks for {asked}; role {context.role!r} allows {role.max_timeout_ms} ms")
            )

    def check_limits(self, role_name: str | None, memory_mb: int) -> None:
        """Refuse a sandbox whose memory is above what the role allows."""
        name, role = self.role(role_name)
        if role.max_memory_mb is not None and memory_mb > role.max_memory_mb:
            reason = _deny("policy.resources", f"asks for {memory_mb} MB; role {name!r} allows {role.max_memory_mb}")
            raise PolicyDenied(self._verdict(name, role, [reason], None))

    def check_permissions(self, role_name: str | None, needed: list[str], *, what: str) -> None:
        """Refuse ``what`` (a markdown command) unless the role holds every permission it declares
        (``Role.permissions``; None: any)."""
        name, role = self.role(role_name)
        lacking = [p for p in needed if role.permissions is not None and p not in role.permissions]
        if not lacking or self.config.mode == "off":
            return
        held = ", ".join(role.permissions or []) or "none"
        reason = _deny("policy.permissions", f"{what} needs {', '.join(lacking)}; role {name!r} holds {held}")
        verdict = self._verdict(name, role, [reason], None)
        if not verdict.allowed:  # audit mode lets it run
            raise PolicyDenied(verdict)

    def _redact(self, context: HookContext) -> None:
        if context.result is not None:
            context.result = self.secrets.redact_result(context.result)

    async def _audit(self, context: HookContext) -> None:
        if self.audit is None or context.audit_id is None:
            return
        verdict: Verdict | None = context.notes.get("verdict")
        result = context.result
        detail: dict[str, Any] = {
            "role": context.role,
            "agent_id": context.agent_id,
            "language": context.request.language,
            "risk": verdict.risk.value if verdict else None,
            "decision": verdict.decision if verdict else None,
            "isolation": verdict.isolation if verdict else None,
            "reasons": [self.secrets.redact(str(r)) for r in (verdict.reasons if verdict else [])][:20],
        }
        if result is not None:
            detail.update(exit_code=result.exit_code, sandbox_id=result.sandbox_id, success=result.success)
        await self.audit(context.audit_id, f"exec.{context.stage}", detail)


def declared_floor(request: ExecutionRequest) -> list[Reason]:
    """The risk a request declares of itself (a markdown command's ``risk_level``) as a reason, then
    the findings it declares (``Declared.reasons``): the verdict's risk is the worst reason's, so each
    is a floor under the analysis, never a ceiling over it; a critical one is denied like any critical
    finding."""
    risk = request.declared.risk
    floor = [Reason(pattern="declared.risk", risk=risk, message=f"the request declares {risk.value} risk")]
    return [*(floor if risk is not Risk.LOW else []), *request.declared.reasons]


def rung(backend: str) -> int:
    """A backend's place on the ladder; one the ladder does not know counts as the weakest."""
    return RUNGS.index(backend) if backend in RUNGS else 0
