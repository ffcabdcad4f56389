"""The public surface is explicit: every module's ``__all__`` is exactly what it defines without a
leading underscore, and the package re-exports exactly its ``__all__`` (after httpx's
``tests/test_exported_members.py``)."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
import json
import logging
import re
import subprocess
import sys
import types

import pytest

import airlock

MODULES = [
    "airlock.errors",
    "airlock.models",
    "airlock.config",
    "airlock.languages",
    "airlock.sandbox",
    "airlock.runtime",
    "airlock.pool",
    "airlock.snapshots",
    "airlock.history",
    "airlock.sync",
    "airlock.remote",
    "airlock.client",
    "airlock.cli",
    "airlock.cli_remote",
    "airlock.cli_snapshot",
    "airlock.doctor",
    "airlock.channel",
    "airlock.backends.base",
    "airlock.backends.cgroups",
    "airlock.backends.process",
    "airlock.backends.namespace",
    "airlock.agent.protocol",
    "airlock.agent.airlock_llm",
    "airlock.store",
    "airlock.store.sqlite",
    "airlock.server.app",
    "airlock.server.auth",
    "airlock.server.errors",
    "airlock.server.llm_api",
    "airlock.server.metrics",
    "airlock.server.routes",
    "airlock.server.schemas",
    "airlock.server.service",
    "airlock.server.snapshot_routes",
    "airlock.llm.base",
    "airlock.llm.blocks",
    "airlock.llm.client",
    "airlock.llm.prices",
    "airlock.llm.scripted",
    "airlock.llm.runner",
    "airlock.llm.chat",
    "airlock.cli_chat",
    "airlock.server.agent_routes",
    "airlock.cli_policy",
    "airlock.cli_audit",
    "airlock.server.policy_routes",
    "airlock.policy.analysis",
    "airlock.policy.audit",
    "airlock.policy.config",
    "airlock.policy.engine",
    "airlock.policy.hooks",
    "airlock.policy.limits",
    "airlock.policy.paths",
    "airlock.policy.patterns",
    "airlock.policy.secrets",
    "airlock.policy.knowledge",
    "airlock.knowledge.thesaurus",
    "airlock.knowledge.markdown",
    "airlock.knowledge.folding",
    "airlock.knowledge.matcher",
    "airlock.knowledge.words",
    "airlock.knowledge.validator",
    "airlock.rlm.bridge",
    "airlock.sockets",
    "airlock.rlm.budget",
    "airlock.rlm.loop",
    "airlock.rlm.prompts",
    "airlock.rlm.trajectory",
    "airlock.cli_rlm",
    "airlock.commands.schema",
    "airlock.commands.markdown",
    "airlock.commands.script",
    "airlock.commands.bash",
    "airlock.commands.params",
    "airlock.commands.registry",
    "airlock.commands.run",
    "airlock.cli_commands",
    "airlock.server.command_routes",
]
PACKAGES = [
    "airlock",
    "airlock.backends",
    "airlock.server",
    "airlock.llm",
    "airlock.policy",
    "airlock.rlm",
    "airlock.knowledge",
    "airlock.commands",
]

#: A public-looking name that is a convention, not API: a stand-in for ``typing.TYPE_CHECKING``.
#: (Module loggers, ``logger = logging.getLogger(__name__)``, are not API either; see below.)
CONVENTIONS = {"TYPE_CHECKING"}


def _assigned_in_source(module: types.ModuleType) -> set[str]:
    """Names the module's own top-level code binds by ``def``, ``class`` or assignment (not import),
    also inside top-level ``if``/``try`` blocks."""
    names: set[str] = set()
    pending = list(ast.parse(inspect.getsource(module)).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.If | ast.Try):
            pending.extend([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
            pending.extend(child for handler in getattr(node, "handlers", []) for child in handler.body)
    return names


def _defined_here(module: types.ModuleType, name: str) -> bool:
    """Defined in this module, not imported: a class or function says where it comes from in
    ``__module__``; for other values, the module's source binds the name itself."""
    value = getattr(module, name)
    if isinstance(value, types.ModuleType | logging.Logger):
        return False
    if inspect.isclass(value) or inspect.isroutine(value):
        return value.__module__ == module.__name__
    return name in _assigned_in_source(module)


def public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name in vars(module)
        if not name.startswith("_") and name not in CONVENTIONS and _defined_here(module, name)
    }


@pytest.mark.parametrize("name", MODULES)
def test_all_is_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)

    exported, public = set(module.__all__), public_names(module)

    assert len(module.__all__) == len(exported), f"{name}.__all__ repeats a name"
    assert sorted(public - exported) == [], f"public in {name} but not in __all__: export them or prefix them with _"
    assert sorted(exported - public) == [], f"in {name}.__all__ but not defined there"


@pytest.mark.parametrize("name", [*MODULES, *PACKAGES])
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)

    missing = [attr for attr in module.__all__ if not hasattr(module, attr)]

    assert missing == []


def test_package_reexports_exactly_its_all() -> None:
    visible = {
        name
        for name, value in vars(airlock).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    lazy = set(airlock._LAZY)  # the SDK: imported on first use, then visible too

    assert visible | lazy | {"__version__"} == set(airlock.__all__)
    assert len(airlock.__all__) == len(set(airlock.__all__))


def test_package_reexports_the_defining_modules_objects() -> None:
    for name in airlock.__all__:
        value = getattr(airlock, name)
        origin = str(getattr(value, "__module__", ""))
        if inspect.isclass(value) or inspect.isroutine(value):
            assert origin.startswith("airlock."), f"{name} comes from {origin!r}"
            assert getattr(sys.modules[origin], name) is value


def test_backends_package_exports_its_factory_and_the_contract() -> None:
    backends = importlib.import_module("airlock.backends")
    base = importlib.import_module("airlock.backends.base")
    own = public_names(backends)
    reexported = {
        name
        for name, value in vars(backends).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == base.__name__
    }

    assert set(backends.__all__) == own | reexported


def _declared_dependencies(distribution: str) -> set[str]:
    """The distribution's requirements, transitively, without extras (names normalised)."""
    seen: set[str] = set()
    pending = [distribution]
    while pending:
        try:
            requirements = importlib.metadata.requires(pending.pop()) or []
        except importlib.metadata.PackageNotFoundError:  # for another Python (a marker); not installed
            continue
        for requirement in requirements:
            if "extra ==" in requirement:
                continue
            name = re.split(r"[^A-Za-z0-9._-]", requirement, maxsplit=1)[0]  # "httpx>=0.27" -> "httpx"
            dependency = re.sub(r"[-_.]+", "-", name).lower()
            if dependency not in seen:
                seen.add(dependency)
                pending.append(dependency)
    return seen


def test_import_airlock_pulls_in_only_the_stdlib_and_declared_dependencies() -> None:
    probe = (
        "import json, sys; before = set(sys.modules); import airlock; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60)
    imported = json.loads(completed.stdout)
    top_level = {name.partition(".")[0] for name in imported}
    third_party = {
        name for name in top_level - set(sys.stdlib_module_names) if name != "airlock" and not name.startswith("_")
    }
    allowed = _declared_dependencies("airlock")
    owners = importlib.metadata.packages_distributions()

    undeclared = {
        name
        for name in third_party
        if not {re.sub(r"[-_.]+", "-", dist).lower() for dist in owners.get(name, [])} & allowed
    }

    assert undeclared == set()
    for heavy in ("fastapi", "uvicorn", "ray", "psycopg", "httpx", "numpy"):
        assert heavy not in top_level
    # the backends are imported when asked for, not with the package
    assert "airlock.backends.namespace" not in imported
    assert "airlock.backends.process" not in imported
    assert "airlock.cli" not in imported
    assert "airlock.doctor" not in imported
    assert "airlock.client" not in imported  # the SDK is exported lazily: it needs httpx
