"""Trajectory layout and batching, on hand-built records (no model)."""

from __future__ import annotations

import torch

from agentgym.rollout import Trajectory, Turn, pad_batch


def _traj() -> Trajectory:
    return Trajectory(
        task_id="t", group_id="g", env_id="E", prompt_ids=[1, 2, 3],
        turns=[
            Turn("a", [10, 11], [-0.1, -0.2], "o", [20, 21, 22], 0.5, {"turn": 1}, [1.0, 2.0]),
            Turn("b", [12], [-0.3], "done", [], 1.0, {"turn": 2, "success": True}, [3.0]),
        ],
        info={"success": True, "score": 1.0}, terminated=True,
    )  # fmt: skip


def test_to_tensors_layout():
    x = _traj().to_tensors()
    assert x["input_ids"].tolist() == [1, 2, 3, 10, 11, 20, 21, 22, 12]
    assert x["loss_mask"].tolist() == [0, 0, 0, 1, 1, 0, 0, 0, 1]
    assert x["turn_index"].tolist() == [-1, -1, -1, 0, 0, -1, -1, -1, 1]
    assert torch.allclose(x["old_logprobs"], torch.tensor([0, 0, 0, -0.1, -0.2, 0, 0, 0, -0.3]))
    assert x["entropies"].tolist() == [0, 0, 0, 1, 2, 0, 0, 0, 3]
    assert x["rewards"].tolist() == [0, 0, 0, 0, 0.5, 0, 0, 0, 1.0]
    assert all(len(v) == 9 for v in x.values())


def test_trajectory_properties_and_round_trip():
    t = _traj()
    assert t.total_reward == 1.5 and t.success and len(t) == 9 and t.num_policy_tokens == 3
    assert t.context_ids() == t.to_tensors()["input_ids"].tolist()
    again = Trajectory.from_dict(t.to_dict())
    assert again == t
    stem = t.prefix(1)
    assert len(stem.turns) == 1 and not stem.done and len(t.turns) == 2


def test_pad_batch_right_pads_with_masks_off():
    a, b = _traj().to_tensors(), _traj().prefix(1).to_tensors()
    batch = pad_batch([a, b], pad_id=99)
    assert batch["input_ids"].shape == (2, 9)
    assert batch["input_ids"][1, 8].item() == 99
    assert batch["attention_mask"][1].tolist() == [1] * 8 + [0]
    assert batch["loss_mask"][1, 8].item() == 0 and batch["turn_index"][1, 8].item() == -1
    assert batch["old_logprobs"].dtype == torch.float32
