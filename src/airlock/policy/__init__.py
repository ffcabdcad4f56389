"""The policy engine: read code before it runs, score its risk, route it to the right rung, deny on
doubt; roles, rate limits, time windows, hooks, secrets and the audit log.

    >>> from airlock.policy import Policy
    >>> Policy().assess("rm -rf /", "bash").decision
    'deny'
"""

from airlock.policy.analysis import analyze
from airlock.policy.config import HookConfig, PolicyConfig, RateLimit, Role, SecretSource, TimeWindow
from airlock.policy.engine import RUNGS, Policy
from airlock.policy.hooks import Hook, HookContext, Veto
from airlock.policy.patterns import Pattern, catalogue

__all__ = [
    "RUNGS",
    "Hook",
    "HookConfig",
    "HookContext",
    "Pattern",
    "Policy",
    "PolicyConfig",
    "RateLimit",
    "Role",
    "SecretSource",
    "TimeWindow",
    "Veto",
    "analyze",
    "catalogue",
]
