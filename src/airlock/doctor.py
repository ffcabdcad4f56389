"""``airlock doctor``: what this host can run, and for what it cannot, why and what to install."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field

from airlock.backends import BACKENDS, create_backend
from airlock.backends.cgroups import probe as probe_cgroups
from airlock.config import Settings
from airlock.languages import LANGUAGES

__all__ = ["BackendReport", "LanguageReport", "Report", "diagnose"]

_SANDBOX_PATH = ("/usr/local/bin", "/usr/bin", "/bin")


@dataclass
class BackendReport:
    name: str
    ok: bool
    reason: str = ""
    hint: str = ""
    capabilities: list[str] = field(default_factory=list)


@dataclass
class LanguageReport:
    name: str
    ok: bool
    missing: list[str]
    hint: str


@dataclass
class Report:
    python: str
    root: bool
    default_backend: str
    cgroups: str
    backends: list[BackendReport]
    languages: list[LanguageReport]

    @property
    def ok(self) -> bool:
        return any(b.ok and b.name == self.default_backend for b in self.backends)

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}

    def render(self) -> str:
        lines = [
            f"python {self.python}; running as {'root' if self.root else 'a user'}",
            f"cgroups: {self.cgroups}",
            "",
        ]
        lines.append("backends:")
        for b in self.backends:
            mark = "ok " if b.ok else "NO "
            default = " (default)" if b.name == self.default_backend else ""
            detail = (
                ", ".join(b.capabilities) if b.ok else f"{b.reason}" + (f"\n        fix: {b.hint}" if b.hint else "")
            )
            lines.append(f"  {mark} {b.name}{default}: {detail}")
        lines.append("")
        lines.append("languages (toolchains the sandboxes can see):")
        for lang in self.languages:
            if lang.ok:
                lines.append(f"  ok  {lang.name}")
            else:
                lines.append(f"  NO  {lang.name}: missing {', '.join(lang.missing)}\n        fix: {lang.hint}")
        return "\n".join(lines)


def _in_sandbox_path(program: str) -> bool:
    return any(os.access(os.path.join(folder, program), os.X_OK) for folder in _SANDBOX_PATH)


def diagnose(settings: Settings) -> Report:
    backends = []
    for name in BACKENDS:
        backend = create_backend(name, settings)
        availability = backend.availability(deep=True)
        caps = sorted(c.value for c in backend.capabilities()) if availability.ok else []
        backends.append(BackendReport(name, availability.ok, availability.reason, availability.hint, caps))
    languages = []
    for lang in LANGUAGES.values():
        missing = [program for program in lang.requires if not _in_sandbox_path(program)]
        hint = f"apt-get install {lang.package}"
        languages.append(LanguageReport(lang.name, not missing, missing, hint))
    cgroups = probe_cgroups()
    described = (
        f"v{cgroups.version}, memory/pids/cpu limits enforced"
        if cgroups.usable
        else f"unavailable: {cgroups.reason} (rlimits instead)"
    )
    return Report(
        python=sys.version.split()[0],
        root=os.geteuid() == 0,
        default_backend=settings.backend,
        cgroups=described,
        backends=backends,
        languages=languages,
    )
