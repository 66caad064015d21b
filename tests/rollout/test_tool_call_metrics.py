"""Tool-call metrics on hand-built rollouts: per rollout as the policy acts, once per executed call."""

from __future__ import annotations

from agentgym.rollout import Trajectory, Turn
from agentgym.rollout.collector import rollout_metrics, tool_call_metrics


def _turn(calls: int) -> Turn:
    return Turn("a", [1], [0.0], "o", [2], info={"tool_calls": [{"name": "search"}] * calls})


def _traj(group: str, calls: list[int], success: bool, segments: list[int] | None = None) -> Trajectory:
    info = {"success": success, **({"tree": {"segment_ids": segments}} if segments else {})}
    return Trajectory("t", group, "E", [0], turns=[_turn(c) for c in calls], info=info)


def test_independent_rollouts_execute_every_call():
    trajs = [_traj("g", [1, 1, 0], True), _traj("g", [2, 0], False), _traj("h", [1], True)]
    m = tool_call_metrics(trajs)
    assert m["rollout/tool_calls/mean"] == 5 / 3
    assert m["rollout/tool_calls_per_solved/mean"] == 1.5  # (2 + 1) / 2
    assert m["rollout/tool_calls_executed"] == 5.0
    assert m["rollout/tool_calls_executed_per_solved"] == 2.5


def test_tree_branches_share_their_prefix_calls():
    # Node 0 made turns 0-1; node 1 forked after turn 0 (shares it) and made turns 1-2; node 2 forked
    # from node 1 after turn 1. The same segment ids in another group are other calls.
    trajs = [
        _traj("g", [1, 1, 0], True, [0, 0, 0]),
        _traj("g", [1, 2, 1], True, [0, 1, 1]),
        _traj("g", [1, 2, 0], False, [0, 1, 2]),
        _traj("h", [1, 0], True, [0, 0]),
    ]
    m = tool_call_metrics(trajs)
    assert m["rollout/tool_calls/mean"] == (2 + 4 + 3 + 1) / 4
    # g: turn 0 once (1), node 0 turn 1 (1), node 1 turns 1-2 (2 + 1), node 2 turn 2 (0); h: 1
    assert m["rollout/tool_calls_executed"] == 6.0
    assert m["rollout/tool_calls_executed_per_solved"] == 2.0


def test_rollout_metrics_include_them_and_nothing_solved_gives_zero():
    m = rollout_metrics([_traj("g", [1], False)])
    assert m["rollout/tool_calls_executed"] == 1.0
    assert m["rollout/tool_calls_per_solved/mean"] == m["rollout/tool_calls_executed_per_solved"] == 0.0
