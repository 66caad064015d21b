"""The Trainer on the tiny policy: parameters move, metrics are the documented ones, accumulation
equals one big batch, checkpoints round-trip and refuse corrupt files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch
from _trainer_helpers import small_run

from agentgym.trainers.checkpoint import CheckpointError, latest_checkpoint, load_checkpoint, save_checkpoint
from agentgym.trainers.trainer import Trainer

pytestmark = pytest.mark.integration
DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def documented_keys() -> set[str]:
    return set(re.findall(r"`((?:rollout|train|adv|perf|eval|igpo|epo)/[a-z0-9_/<>]+)`", DOCS.read_text()))


def _matches(key: str, documented: set[str]) -> bool:
    return key in documented or any(
        re.fullmatch(d.replace("<env>", "[^/]+"), key) for d in documented if "<env>" in d
    )


def test_steps_change_parameters_and_emit_documented_metrics(tiny_policy, tmp_path):
    cfg = small_run(eval_every=2, eval_episodes=2)
    before = [p.detach().clone() for p in tiny_policy.model.parameters()]
    records = Trainer(cfg, tiny_policy, tmp_path).fit()
    after = list(tiny_policy.model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
    assert [r["step"] for r in records] == [0, 1, 2]
    documented = documented_keys()
    emitted = {k for r in records for k in r if k != "step"}
    undocumented = sorted(k for k in emitted if not _matches(k, documented))
    assert not undocumented, f"metrics missing from docs/metrics.md: {undocumented}"
    assert {
        "rollout/reward/mean",
        "train/loss/policy",
        "train/clip_frac",
        "train/approx_kl",
        "train/entropy",
        "train/grad_norm",
        "perf/tokens_per_s",
        "eval/success/mean",
    } <= emitted
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 3
    assert latest_checkpoint(tmp_path).name == "ckpt-000002"


def test_resume_without_a_checkpoint_replaces_the_killed_runs_records(tiny_policy, tmp_path):
    cfg = small_run(eval_every=0, save_every=0)
    (tmp_path / "metrics.jsonl").write_text('{"step": 0, "eval/success/mean": 0.5}\n{"step": 1}\n')
    records = Trainer(cfg, tiny_policy, tmp_path).fit(resume=True)
    steps = [json.loads(line)["step"] for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert steps == [r["step"] for r in records] == [1, 2]


def _update_once(policy, batch_trajs, tasks, micro, tmp_path):
    tr = Trainer(
        small_run(micro_batch_size=micro, algorithm={"name": "grpo", "kl_coef": 0.0}), policy, tmp_path
    )
    batch = tr.make_batch(batch_trajs, tasks, 0)
    tr._score_batch(batch)
    batch.tensors["advantages"] = tr.algo.advantages(batch)
    tr.update(batch)
    return [p.grad.detach().clone() for p in policy.model.parameters() if p.grad is not None]


def test_micro_batch_accumulation_equals_full_batch(tiny_policy, tmp_path):
    """1 sequence × 8 micro-batches and 8 × 1 give the same update (global loss denominators)."""
    import copy

    from agentgym.llm.hf import HFPolicy

    tr = Trainer(small_run(prompts_per_step=4), tiny_policy, tmp_path / "s")
    trajs, tasks = tr.sample(0)
    assert len(trajs) == 8
    g = torch.Generator().manual_seed(0)
    for t in trajs:  # distinct rewards so advantages are non-zero
        t.turns[-1].reward = float(torch.rand((), generator=g))
    twin = HFPolicy(copy.deepcopy(tiny_policy.model), tiny_policy.tokenizer, chat=tiny_policy.chat)
    big = _update_once(tiny_policy, trajs, tasks, 8, tmp_path / "a")
    small = _update_once(twin, trajs, tasks, 1, tmp_path / "b")
    scale = max(g.abs().max().item() for g in big)
    diff = max((a - b).abs().max().item() for a, b in zip(big, small, strict=True))
    assert len(big) == len(small) > 0 and scale > 0
    assert diff <= 1e-5 * scale, (diff, scale)  # same gradient up to float32 summation order


def test_checkpoint_round_trip_and_corruption(tmp_path):
    state = {"step": 3, "w": torch.arange(4.0)}
    path = save_checkpoint(tmp_path, 3, state, keep=2)
    assert torch.equal(load_checkpoint(path)["w"], state["w"])
    for s in (4, 5):
        save_checkpoint(tmp_path, s, state, keep=2)
    assert sorted(p.name for p in tmp_path.glob("ckpt-*")) == ["ckpt-000004", "ckpt-000005"]
    target = tmp_path / "ckpt-000005" / "state.pt"
    data = target.read_bytes()
    target.write_bytes(data[: len(data) // 2])  # truncated by a crash or a full disk
    with pytest.raises(CheckpointError, match=re.escape(str(target)) + ".*corrupt"):
        load_checkpoint(tmp_path / "ckpt-000005")
    (tmp_path / "ckpt-000004" / "COMPLETE").unlink()  # save interrupted before the marker
    with pytest.raises(CheckpointError, match="COMPLETE marker"):
        load_checkpoint(tmp_path / "ckpt-000004")
    with pytest.raises(CheckpointError, match=r"no state\.pt"):
        load_checkpoint(tmp_path / "missing")


def test_rollout_engine_samples_and_receives_weights_after_each_step(tiny_policy, tmp_path):
    """A separate generation engine (VLLMEngine's role) is used for sampling and synced after updates."""
    import copy

    from agentgym.llm.hf import HFPolicy

    class Engine(HFPolicy):
        calls = 0
        generated = 0

        def load_weights(self, state_dict):
            self.calls += 1
            self.model.load_state_dict(state_dict)

        def generate(self, *a, **kw):
            self.generated += 1
            return super().generate(*a, **kw)

    engine = Engine(copy.deepcopy(tiny_policy.model), tiny_policy.tokenizer, chat=tiny_policy.chat)
    Trainer(small_run(steps=1), tiny_policy, tmp_path, rollout_engine=engine).fit()
    assert engine.generated > 0 and engine.calls == 1
    for a, b in zip(engine.model.parameters(), tiny_policy.model.parameters(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("minibatches", "optimizer", "lr"), [(1, "adamw", 1e-3), (2, "adamw", 1e-3), (1, "sgd", 0.5)]
)
def test_update_moves_probability_towards_rewarded_rollouts(
    tiny_policy, tmp_path, minibatches, optimizer, lr
):
    """The sign of the whole update path: rewarded actions gain log-probability, unrewarded lose it.

    In each group of two, one rollout gets reward 1 and the other 0; after one update (a single
    optimizer step, or two mini-batch steps with a recomputed π_old; AdamW or SGD) the summed
    log-prob of every rewarded rollout's policy tokens rises on average and the other's falls.
    """
    cfg = small_run(
        prompts_per_step=4, minibatches=minibatches, micro_batch_size=8, optimizer=optimizer, lr=lr,
        algorithm={"name": "grpo", "kl_coef": 0.0, "entropy_coef": 0.0},
    )  # fmt: skip
    tr = Trainer(cfg, tiny_policy, tmp_path)
    assert type(tr.optimizer).__name__ == {"adamw": "AdamW", "sgd": "SGD"}[optimizer]
    trajs, tasks = tr.sample(0)
    for i, t in enumerate(trajs):  # the two samples of a group are adjacent
        t.turns[-1].reward = float(i % 2 == 0)
    batch = tr.make_batch(trajs, tasks, 0)

    def seq_logprob() -> torch.Tensor:
        with torch.no_grad():
            lp, _ = tiny_policy.forward_logprobs(batch.tensors)
        return (lp * batch.tensors["loss_mask"]).sum(-1)

    before = seq_logprob()
    tr._score_batch(batch)
    batch.tensors["advantages"] = tr.algo.advantages(batch)
    tr.update(batch)
    delta = seq_logprob() - before
    rewarded = torch.tensor([i % 2 == 0 for i in range(len(trajs))])
    assert delta[rewarded].mean() > 0 > delta[~rewarded].mean(), delta


def test_checkpoints_carry_training_time_so_a_resumed_summary_counts_all_of_it(tiny_policy, tmp_path):
    cfg = small_run(save_every=1)
    Trainer(cfg, tiny_policy, tmp_path).fit()
    spent = load_checkpoint(latest_checkpoint(tmp_path))["elapsed_s"]
    assert spent > 0
    longer = small_run(save_every=1, steps=3)
    resumed = Trainer(longer, tiny_policy, tmp_path)
    resumed.fit(resume=True)
    assert resumed.elapsed_before == spent
    assert load_checkpoint(latest_checkpoint(tmp_path))["elapsed_s"] > spent


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_pi_old_is_the_distribution_the_rollouts_were_sampled_from(tiny_policy, tmp_path, temperature):
    """At any sampling temperature, the recomputed π_old equals the generator's behaviour log-probs.

    Scoring at temperature 1 after sampling at 0.7 trains a different policy from the one sampled
    (an off-policy gradient that flattens the distribution whenever advantages do not cancel).
    """
    cfg = small_run(prompts_per_step=4, minibatches=2, temperature=temperature)
    tr = Trainer(cfg, tiny_policy, tmp_path)
    trajs, tasks = tr.sample(0)
    batch = tr.make_batch(trajs, tasks, 0)
    behaviour = batch.tensors["old_logprobs"].clone()
    mask = batch.tensors["loss_mask"].bool()
    tr._score_batch(batch)
    recomputed = batch.tensors["old_logprobs"]
    assert mask.sum() > 20
    assert torch.allclose(recomputed[mask], behaviour[mask], atol=1e-4), (
        (recomputed - behaviour)[mask].abs().max()
    )
