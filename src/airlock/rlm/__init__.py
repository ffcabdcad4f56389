"""Recursive Language Models: the loop, its budgets and trajectories, and the bridge by which
sandboxed code calls the model."""

from airlock.rlm.bridge import Bridge, BridgeCall, BridgeLimits, BridgeState, BridgeStats
from airlock.rlm.budget import Budget, Limits, Stop
from airlock.rlm.loop import RLM, RlmResult
from airlock.rlm.trajectory import Trajectory

__all__ = [
    "RLM",
    "Bridge",
    "BridgeCall",
    "BridgeLimits",
    "BridgeState",
    "BridgeStats",
    "Budget",
    "Limits",
    "RlmResult",
    "Stop",
    "Trajectory",
]
