"""``POST /v1/policy/check``: the policy's verdict on code, nothing run.

The verdict is for the caller's role (the API key's); an admin key may ask about another role.
"""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from airlock.errors import InvalidRequest
from airlock.languages import COMMAND, get_language
from airlock.models import Verdict
from airlock.server.routes import ERROR_RESPONSES, Svc, Who

__all__ = ["PolicyCheck", "check_policy", "policy"]

policy = APIRouter(prefix="/v1/policy", tags=["policy"], responses=ERROR_RESPONSES)  # type: ignore[arg-type]


class PolicyCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = ""
    argv: list[str] | None = Field(None, description="judge this program and its arguments (language 'command')")
    language: str = Field("python", max_length=64)
    role: str | None = Field(None, max_length=128, description="admin keys only: judge for this role")
    backend: str | None = Field(None, max_length=64, description="judge as if pinned to this backend")


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
