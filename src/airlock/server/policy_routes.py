"""The policy over REST: ``POST /v1/policy/check``, its verdict on code with nothing run, and
``POST /v1/policy/reload`` (admin keys; also SIGHUP), the settings file's ``[policy]`` read again.

The verdict is for the caller's role (the API key's); an admin key may ask about another role. A
reload swaps the policy whole (``Runtime.reload_policy``): an execution already admitted finishes
under the policy that admitted it. A file that is missing or invalid changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from airlock.config import load_settings
from airlock.errors import ConfigError, InvalidRequest
from airlock.languages import COMMAND, get_language
from airlock.models import Verdict
from airlock.policy import PolicyConfig
from airlock.server.auth import Principal
from airlock.server.errors import ApiError
from airlock.server.routes import ERROR_RESPONSES, Svc, Who
from airlock.server.service import SandboxService

__all__ = [
    "PolicyCheck",
    "PolicyReloader",
    "PolicySummary",
    "check_policy",
    "policy",
    "policy_reloader",
    "reload_policy",
]

logger = logging.getLogger(__name__)

policy = APIRouter(prefix="/v1/policy", tags=["policy"], responses=ERROR_RESPONSES)  # type: ignore[arg-type]


class PolicyCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = ""
    argv: list[str] | None = Field(None, description="judge this program and its arguments (language 'command')")
    language: str = Field("python", max_length=64)
    role: str | None = Field(None, max_length=128, description="admin keys only: judge for this role")
    backend: str | None = Field(None, max_length=64, description="judge as if pinned to this backend")


class PolicySummary(BaseModel):
    """The policy a reload put in force."""

    file: str = Field(description="the settings file it was read from")
    mode: str = Field(description="enforce, audit or off")
    default_role: str
    roles: list[str]
    hooks: int = Field(description="the operator's hooks (the built-ins are always there)")
    blacklist: list[str]
    warnings: list[str] = Field(description="e.g. API keys whose role this policy does not define: they are denied")


class PolicyReloader:
    """Reads the settings file's ``[policy]`` again and puts it in force, one reload at a time;
    each reload, done or refused, is in the audit chain (``policy.reload``)."""

    def __init__(self, service: SandboxService) -> None:
        self.service = service
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    async def reload(self, who: Principal | None) -> PolicySummary:
        """The new policy's summary; ``ConfigError`` (the policy in force stays) when the file is
        missing or invalid."""
        path = self.service.settings.config_file
        async with self._lock:  # a slower read must not put an older file in force after a newer one
            try:
                config = await asyncio.to_thread(_read_policy, path)
            except ConfigError as exc:
                await self.service.audit(who, "policy.reload", str(path), ok=False, error=str(exc))
                raise
            summary = await self._summary(path, config)
            self.service.runtime.reload_policy(config)
            await self.service.audit(who, "policy.reload", str(path), ok=True, **summary.model_dump(exclude={"file"}))
        return summary

    def in_background(self) -> None:
        """Reload from a signal handler (SIGHUP): the outcome goes to the log."""
        task = asyncio.get_running_loop().create_task(self._logged())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _logged(self) -> None:
        try:
            summary = await self.reload(None)
        except ConfigError as exc:
            logger.warning("SIGHUP: the policy was not reloaded: %s", exc)
            return
        except Exception:
            logger.exception("SIGHUP: the policy reload failed")
            return
        logger.info(
            "SIGHUP: policy reloaded from %s: mode %s, roles %s, %d hooks",
            summary.file,
            summary.mode,
            ", ".join(summary.roles),
            summary.hooks,
        )
        for warning in summary.warnings:
            logger.warning("policy reload: %s", warning)

    async def _summary(self, path: Path, config: PolicyConfig) -> PolicySummary:
        strays = [key for key in await self.service.store.list_keys() if key.role and key.role not in config.roles]
        return PolicySummary(
            file=str(path),
            mode=config.mode,
            default_role=config.default_role,
            roles=sorted(config.roles),
            hooks=len(config.hooks),
            blacklist=config.blacklist,
            warnings=[
                f"API key {key.name!r} ({key.id}) has role {key.role!r}, which this policy does not define: "
                "its executions are denied"
                for key in strays
            ],
        )


def _read_policy(path: Path) -> PolicyConfig:
    """The ``[policy]`` of the settings file (blocking: it reads the file)."""
    if not path.is_file():
        raise ConfigError(f"there is no settings file at {path}; the policy in force stays")
    try:
        return load_settings().policy
    except ConfigError as exc:
        raise ConfigError(f"{exc}; the policy in force stays") from exc


def policy_reloader(request: Request) -> PolicyReloader:
    reloader: PolicyReloader | None = getattr(request.app.state, "reloader", None)
    if reloader is None:
        raise ApiError(503, "not_ready", "the server is starting or stopping; try again", retry_after=1)
    return reloader


@policy.post("/check")
async def check_policy(body: PolicyCheck, who: Who, svc: Svc) -> Verdict:
    """The verdict (``risk``, ``decision`` allow|deny, ``isolation``, ``reasons``) without running anything."""
    if body.role is not None and not who.admin and body.role != who.role:
        raise InvalidRequest("only an admin key may ask about another role")
    language = COMMAND if body.argv is not None else get_language(body.language).name
    if not body.code.strip() and not body.argv:
        raise InvalidRequest("there is no code to judge")
    return svc.runtime.policy.assess(
        body.code, language, role=body.role or who.role, argv=body.argv, backend=body.backend
    )


@policy.post("/reload")
async def reload_policy(who: Who, reloader: Annotated[PolicyReloader, Depends(policy_reloader)]) -> PolicySummary:
    """Read the settings file's ``[policy]`` again and put it in force (admin keys only; SIGHUP to the
    server does the same). Executions already admitted finish under the policy that admitted them.
    A missing or invalid file is a 422 ``invalid_settings``, and the policy in force stays."""
    if not who.admin:
        raise ApiError(403, "forbidden", "the policy is shared by every tenant; reloading it takes an admin key")
    return await reloader.reload(who)
