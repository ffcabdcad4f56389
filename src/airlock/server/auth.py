"""API keys: made once, shown once, kept only as a hash; each belongs to a tenant."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from airlock.store import ApiKeyRecord, Store

__all__ = ["KEY_PREFIX", "Principal", "create_key", "hash_key"]

KEY_PREFIX = "ak_"


@dataclass(frozen=True)
class Principal:
    """Who is asking: the tenant whose sandboxes they may touch, and through which key."""

    tenant: str
    key_id: str | None
    admin: bool = False  # may manage what is shared by every tenant (warm pools)
    role: str | None = None  # the policy role its executions are judged for (None: the default role)


def hash_key(key: str) -> str:
    """Keys carry 256 random bits, so one SHA-256 is enough (no salt or stretching needed)."""
    return hashlib.sha256(key.encode()).hexdigest()


async def create_key(
    store: Store, name: str, tenant: str | None = None, *, admin: bool = False, role: str | None = None
) -> tuple[str, ApiKeyRecord]:
    """A new key for ``tenant`` (default: ``name``), judged for ``role`` (default: the policy's
    default role); returns the key itself, which is not stored."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKeyRecord(tenant=tenant or name, name=name, key_hash=hash_key(key), admin=admin, role=role)
    await store.add_key(record)
    return key, record
