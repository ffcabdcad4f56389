"""The isolation ladder. ``create_backend`` imports a backend only when it is asked for."""

from __future__ import annotations

import importlib

from airlock.backends.base import Availability, Backend, Environment
from airlock.config import Settings
from airlock.errors import ConfigError

__all__ = ["BACKENDS", "Availability", "Backend", "Environment", "create_backend"]

#: name -> "module:class", lowest isolation first
BACKENDS = {
    "process": "airlock.backends.process:ProcessBackend",
    "namespace": "airlock.backends.namespace:NamespaceBackend",
}


def create_backend(name: str, settings: Settings) -> Backend:
    try:
        module, _, cls = BACKENDS[name].partition(":")
    except KeyError:
        raise ConfigError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}") from None
    backend: Backend = getattr(importlib.import_module(module), cls)(settings)
    return backend
