"""The matcher as a policy input: a role may require that the code sent to it uses the domain's
known concepts (a thesaurus file or a folder of concept files), at a strictness, with required
concepts; a failure is denied with reasons that name the unknown terms and carry the feedback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from airlock.config import Settings
from airlock.errors import ConfigError, PolicyDenied
from airlock.models import ExecutionRequest, Risk
from airlock.policy import Policy, PolicyConfig, Role
from airlock.policy.config import KnowledgeCheck
from airlock.runtime import Runtime

SALES = {
    "name": "sales",
    "data": {
        "revenue": {"id": 1, "nterm": "revenue"},
        "turnover": {"id": 1, "nterm": "revenue"},
        "invoice": {"id": 2, "nterm": "invoice"},
        "customer": {"id": 3, "nterm": "customer"},
        "print": {"id": 4, "nterm": "print"},
        "sum": {"id": 5, "nterm": "sum"},
    },
}


@pytest.fixture
def sales(tmp_path: Path) -> Path:
    path = tmp_path / "sales.json"
    path.write_text(json.dumps(SALES))
    return path


def policy(**knowledge: object) -> Policy:
    roles = {"default": Role(), "analyst": Role(knowledge=KnowledgeCheck(**knowledge))}  # type: ignore[arg-type]
    return Policy(PolicyConfig(roles=roles))


def write(path: Path, text: str) -> None:
    path.write_text(text)


def patterns(verdict_reasons: list[object]) -> list[str]:
    return [reason.pattern for reason in verdict_reasons]  # type: ignore[attr-defined]


def test_code_in_the_domain_runs_and_code_outside_it_is_denied_with_feedback(sales: Path) -> None:
    judge = policy(thesaurus=str(sales))

    allowed = judge.assess("print(sum(invoice.revenue for invoice in customer))", "python", role="analyst")
    denied = judge.assess("import requestz\nrequestz.get(frobnicate)", "python", role="analyst")

    assert allowed.decision == "allow", allowed.reasons
    assert denied.decision == "deny"
    reason, feedback = [r for r in denied.reasons if r.pattern.startswith("policy.knowledge")]
    assert (reason.pattern, reason.risk) == ("policy.knowledge", Risk.CRITICAL)
    assert "No known terms found" in reason.message
    assert "requestz" in reason.message, "the reason names the unknown terms"
    assert feedback.pattern == "policy.knowledge-feedback"
    assert "Unknown terms: import, requestz, frobnicate" in feedback.message, "get: a stop word"
    assert feedback.message.endswith("Please rephrase to use only known domain terminology.")
    assert judge.assess("import requestz", "python").decision == "allow", "other roles are not checked"


def test_strict_names_each_unknown_term_and_suggests(sales: Path) -> None:
    judge = policy(thesaurus=str(sales), strictness="Strict")

    denied = judge.assess("print(sum(invoice.revenu))", "python", role="analyst")

    assert denied.decision == "deny"
    assert any("Unknown terms: revenu" in r.message for r in denied.reasons)
    assert any("Instead of 'revenu', consider: revenue" in r.message for r in denied.reasons)


def test_required_concepts_are_enforced(sales: Path) -> None:
    judge = policy(thesaurus=str(sales), required=["turnover"])

    assert judge.assess("print(revenue)", "python", role="analyst").decision == "allow", "by another synonym"
    denied = judge.assess("print(invoice)", "python", role="analyst")
    assert denied.decision == "deny"
    assert any("Missing required concepts: turnover" in r.message for r in denied.reasons)


def test_permissive_warns_and_the_security_scan_still_runs(sales: Path) -> None:
    judge = policy(thesaurus=str(sales), strictness="permissive")

    warned = judge.assess("frobnicate = 1", "python", role="analyst")
    dangerous = judge.assess("rm -rf /", "bash", role="analyst")

    assert warned.decision == "allow"
    assert warned.risk is Risk.LOW
    assert patterns(warned.reasons) == ["policy.knowledge"]
    assert dangerous.decision == "deny"
    assert "delete.root" in patterns(dangerous.reasons)


def test_a_folder_of_concept_files_works_too(tmp_path: Path) -> None:
    (tmp_path / "kg").mkdir()
    (tmp_path / "kg" / "deploy.md").write_text("# Deploy\nsynonyms:: release, ship\n")
    judge = policy(concepts_dir=str(tmp_path / "kg"), strictness="strict")

    assert judge.assess("ship release", "bash", role="analyst").decision == "allow"
    assert judge.assess("ship widgets", "bash", role="analyst").decision == "deny"


async def test_admit_refuses_with_the_feedback_in_the_verdict(sales: Path) -> None:
    judge = policy(thesaurus=str(sales))

    with pytest.raises(PolicyDenied) as refused:
        await judge.admit(ExecutionRequest(code="frobnicate()", language="python"), role="analyst")
    assert "policy.knowledge-feedback" in patterns(refused.value.verdict.reasons)
    assert judge.hooks.names("pre_exec").index("knowledge") == judge.hooks.names("pre_exec").index("security_scan") + 1
    assert "knowledge" not in Policy().hooks.names("pre_exec"), "no role asks: no hook"


def test_audit_mode_records_but_allows(sales: Path) -> None:
    roles = {"default": Role(knowledge=KnowledgeCheck(thesaurus=str(sales)))}
    judge = Policy(PolicyConfig(mode="audit", roles=roles))

    verdict = judge.assess("frobnicate()", "python")

    assert verdict.decision == "allow"
    assert "policy.knowledge" in patterns(verdict.reasons)


def test_thesauri_are_read_once_per_policy(sales: Path) -> None:
    judge = policy(thesaurus=str(sales))
    sales.write_text(json.dumps({"name": "other", "data": {"frobnicate": {"id": 1, "nterm": "frobnicate"}}}))

    assert judge.assess("frobnicate()", "python", role="analyst").decision == "deny", "the loaded one stays"
    assert policy(thesaurus=str(sales)).assess("frobnicate()", "python", role="analyst").decision == "allow"


def test_a_thesaurus_that_cannot_be_read_refuses_the_settings(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")

    with pytest.raises(ConfigError, match=r"role 'analyst': knowledge: .*broken\.json:1:2: not valid JSON"):
        policy(thesaurus=str(broken))
    with pytest.raises(ConfigError, match=r"role 'analyst'.*missing\.json"):
        policy(thesaurus=str(tmp_path / "missing.json"))


def test_the_check_is_configured_with_exactly_one_source() -> None:
    with pytest.raises(ValidationError, match="exactly one of thesaurus or concepts_dir"):
        KnowledgeCheck()
    with pytest.raises(ValidationError, match="exactly one of thesaurus or concepts_dir"):
        KnowledgeCheck(thesaurus="a.json", concepts_dir="kg")
    with pytest.raises(ValidationError):
        KnowledgeCheck(thesaurus="a.json", strictness="paranoid")  # type: ignore[arg-type]
    assert KnowledgeCheck(thesaurus="a.json", strictness="NORMAL").strictness == "normal"  # type: ignore[arg-type]


async def test_a_reload_reads_the_thesaurus_again(settings: Settings, sales: Path, namespace_backend: str) -> None:
    settings_file = (
        f'[policy]\ndefault_role = "analyst"\n[policy.roles.analyst]\nknowledge = {{ thesaurus = "{sales}" }}\n'
    )
    write(Path(os.environ["AIRLOCK_CONFIG"]), settings_file)
    async with Runtime(settings.model_copy(update={"backend": namespace_backend})) as rt:
        rt.reload_policy()
        assert rt.policy.assess("frobnicate()", "python").decision == "deny"
        write(sales, json.dumps({"name": "x", "data": {"frobnicate": {"id": 1, "nterm": "frobnicate"}}}))
        assert rt.policy.assess("frobnicate()", "python").decision == "deny", "read once per policy"
        rt.reload_policy()
        assert rt.policy.assess("frobnicate()", "python").decision == "allow"
