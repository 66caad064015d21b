"""The batched multi-turn collector: B tasks × G samples, one generate call per turn.

All live episodes generate together; their env steps (tool calls) run concurrently on a thread
pool; finished episodes drop out. Limits: `max_turns`, a per-turn token cap and a total context
cap (exceeding it ends the episode as `truncated`). Failures stay local: an env or tool
exception, or a backend error, marks that one trajectory `failed` and the batch goes on (when a
batched generate call raises, the live episodes are retried one by one to find the culprit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from agentgym.errors import InvalidConfig
from agentgym.llm.base import Completion, SamplingParams, derive_seed
from agentgym.llm.chat import ChatFormat, stop_strings_for
from agentgym.rollout.trajectory import Trajectory, Turn

__all__ = ["Collector", "EpisodeStart", "collect", "rollout_metrics"]

log = logging.getLogger(__name__)


@dataclass
class EpisodeStart:
    """Where one episode starts: a fresh `reset(seed)` or, with `prefix`, a forked env state.

    With `prefix`, `env` must already be at the state reached after `prefix.turns` (e.g.
    `agentgym.fork(env)` of the parent episode); the collector continues from there.
    """

    env: Any
    seed: int | None = None
    group_id: str | None = None
    sample_index: int = 0
    options: dict[str, Any] | None = None
    prefix: Trajectory | None = None
    env_id: str = ""


class Collector:
    """Runs episodes of a token-level policy (an `LLM` with a `chat` formatter) in lockstep.

    Args:
        policy: `HFPolicy`, `VLLMEngine` or any `LLM` exposing `chat: ChatFormat`.
        sampling: per-turn sampling (its `max_tokens` is the per-turn token cap).
        max_turns: most agent turns per episode (None: the env decides).
        max_context_tokens: total sequence cap; None means the model's position limit.
        stop_at_tool_tags: add the env's closing tool tags to the stop strings.
        num_workers: threads stepping envs concurrently.
    """

    def __init__(
        self,
        policy: Any,
        *,
        sampling: SamplingParams | None = None,
        max_turns: int | None = None,
        max_context_tokens: int | None = None,
        stop_at_tool_tags: bool = True,
        num_workers: int = 16,
        chat: ChatFormat | None = None,
    ):
        self.policy = policy
        self.chat: ChatFormat = chat or getattr(policy, "chat", None)
        if self.chat is None:
            raise InvalidConfig(
                f"{type(policy).__name__} has no chat formatter; the collector needs token ids "
                "(pass chat=ChatFormat(tokenizer), or OpenAIChat(..., tokenizer=PATH))"
            )
        self.sampling = sampling or SamplingParams()
        self.max_turns = max_turns
        limit = getattr(
            getattr(getattr(policy, "model", None), "config", None), "max_position_embeddings", None
        )
        self.max_context_tokens = max_context_tokens or limit or 1 << 30
        self.stop_at_tool_tags = stop_at_tool_tags
        self.num_workers = num_workers
        self._stop: tuple[str, ...] = tuple(self.sampling.stop)

    # ----------------------------------------------------------------- public
    def run(self, starts: Sequence[EpisodeStart]) -> list[Trajectory]:
        """Play every start to the end; returns trajectories in the order of `starts`."""
        stops: set[str] = set(self.sampling.stop)
        if self.stop_at_tool_tags:
            for s in starts:
                stops |= set(stop_strings_for(s.env))
        self._stop = tuple(sorted(stops))
        # turn t+1's context extends turn t's: backends that can keep KV across calls do so here
        reuse = getattr(self.policy, "prefix_cache", None)
        with (
            reuse() if reuse is not None else nullcontext(),
            ThreadPoolExecutor(max_workers=max(1, min(self.num_workers, len(starts)))) as pool,
        ):
            trajs = list(pool.map(self._begin, starts))
            live = [i for i, t in enumerate(trajs) if not t.done]
            while live:
                completions = self._generate([trajs[i] for i in live])
                results = list(
                    pool.map(
                        lambda a: self._advance(starts[a[0]], trajs[a[0]], a[1]),
                        zip(live, completions, strict=True),
                    )
                )
                live = [i for i, done in zip(live, results, strict=True) if not done]
        return trajs

    # ----------------------------------------------------------------- steps
    def _begin(self, start: EpisodeStart) -> Trajectory:
        env = start.env
        if start.prefix is not None:
            traj = start.prefix
            traj.group_id = start.group_id or traj.group_id
            traj.sample_index = start.sample_index
            return traj
        system = _system_prompt(env)
        traj = Trajectory(
            task_id=str(start.seed), group_id=start.group_id or f"{start.env_id}/{start.seed}",
            env_id=start.env_id or _env_id(env), prompt_ids=[], seed=start.seed,
            sample_index=start.sample_index, system_prompt=system,
        )  # fmt: skip
        try:
            obs, info = env.reset(seed=start.seed, options=start.options)
            traj.first_observation, traj.reset_info = obs, dict(info)
            traj.task_id = str((info.get("task") or {}).get("id", start.seed))
            traj.prompt_ids = self.chat.prompt_ids(system, obs)
        except Exception as exc:  # an env failure is this episode's, not the batch's
            _fail(traj, f"reset failed: {exc!r}")
        if len(traj.prompt_ids) >= self.max_context_tokens:
            traj.truncated, traj.info = True, {"truncation": "context", "score": 0.0, "success": False}
        return traj

    def _sampling_for(self, trajs: Sequence[Trajectory]) -> SamplingParams:
        sp = self.sampling
        room = max(self.max_context_tokens - len(t) for t in trajs)
        return SamplingParams(
            temperature=sp.temperature, top_p=sp.top_p, max_tokens=max(1, min(sp.max_tokens, room)),
            stop=self._stop, n=1, seed=sp.seed,
        )  # fmt: skip

    def _generate(self, trajs: list[Trajectory]) -> list[Completion]:
        prompts = [t.context_ids() for t in trajs]
        seeds = [derive_seed(self.sampling.seed, t.group_id, t.sample_index, len(t.turns)) for t in trajs]
        sp = self._sampling_for(trajs)
        try:
            return self.policy.generate(prompts, sp, seeds=seeds)
        except Exception as exc:  # isolate the failing episode(s): retry one by one
            log.warning("batched generate failed (%r); retrying %d episodes one by one", exc, len(trajs))
        out = []
        for p, s in zip(prompts, seeds, strict=True):
            try:
                out.append(self.policy.generate([p], sp, seeds=[s])[0])
            except Exception as exc:
                out.append(Completion([], "", finish_reason="error", error=repr(exc)))
        return out

    def _advance(self, start: EpisodeStart, traj: Trajectory, comp: Completion) -> bool:
        """Apply one completion to one episode; returns True when the episode is over."""
        if comp.finish_reason == "error":
            return _fail(traj, f"backend error: {comp.error}")
        room = self.max_context_tokens - len(traj)
        ids, lps, ents = comp.token_ids[:room], comp.logprobs[:room], (comp.entropies or [])[:room] or None
        action = comp.text if len(ids) == len(comp.token_ids) else self.chat.decode(ids)
        turn = Turn(action, list(ids), list(lps), "", [], 0.0, {}, ents, comp.finish_reason)
        traj.turns.append(turn)
        if len(traj) >= self.max_context_tokens:
            return _truncate(traj, "context")
        try:
            obs, reward, terminated, truncated, info = start.env.step(action)
        except Exception as exc:  # env/tool crash: this trajectory only
            return _fail(traj, f"env.step failed: {exc!r}")
        turn.observation, turn.reward, turn.info = obs, float(reward), dict(info)
        traj.info = dict(info)
        if terminated or truncated:
            traj.terminated, traj.truncated = bool(terminated), bool(truncated)
            return True
        if self.max_turns is not None and len(traj.turns) >= self.max_turns:
            return _truncate(traj, "max_turns")
        turn.observation_ids = self.chat.observation_ids(obs, turn.action_ids)
        if len(traj) >= self.max_context_tokens:
            turn.observation_ids = []
            return _truncate(traj, "context")
        return False

    # ----------------------------------------------------------------- convenience
    def collect(
        self,
        env_id_or_envs: str | Sequence[Any],
        *,
        seeds: Sequence[int],
        group_size: int = 1,
        **env_kwargs: Any,
    ) -> list[Trajectory]:
        """B = len(seeds) tasks × G = group_size samples; sample j of task b is index b·G + j."""
        n = len(seeds) * group_size
        own = isinstance(env_id_or_envs, str)
        if own:
            import agentgym

            envs = [agentgym.make(env_id_or_envs, **env_kwargs) for _ in range(n)]
        else:
            envs = list(env_id_or_envs)
            if len(envs) < n:
                raise ValueError(
                    f"need {n} envs for {len(seeds)} seeds × group_size {group_size}, got {len(envs)}"
                )
        env_id = env_id_or_envs if own else _env_id(envs[0])
        starts = [
            EpisodeStart(
                envs[b * group_size + j], seed=int(s), group_id=f"{env_id}/{s}", sample_index=j, env_id=env_id
            )
            for b, s in enumerate(seeds)
            for j in range(group_size)
        ]
        try:
            return self.run(starts)
        finally:
            if own:
                for e in envs:
                    e.close()


def collect(
    policy: Any,
    env_id_or_envs: str | Sequence[Any],
    *,
    seeds: Sequence[int],
    group_size: int = 1,
    sampling: SamplingParams | None = None,
    max_turns: int | None = None,
    max_context_tokens: int | None = None,
    max_batch: int | None = None,
    **env_kwargs: Any,
) -> list[Trajectory]:
    """Collect len(seeds) × group_size episodes of `policy`; the G samples of a seed share its reset.
    `max_batch` caps the episodes generated together (whole groups, at least one), which bounds the
    KV cache of a long evaluation; the batches run one after another.

    >>> from agentgym.llm import load_policy, SamplingParams
    >>> trajs = collect(load_policy("tiny"), "Calculator-v0", seeds=[0, 1], group_size=2,
    ...                 sampling=SamplingParams(max_tokens=8), max_turns=2)
    >>> [t.group_id for t in trajs]
    ['Calculator-v0/0', 'Calculator-v0/0', 'Calculator-v0/1', 'Calculator-v0/1']
    """
    col = Collector(policy, sampling=sampling, max_turns=max_turns, max_context_tokens=max_context_tokens)
    seeds = list(seeds)
    per = max(1, (max_batch or len(seeds) * group_size) // group_size)  # seeds per batch
    own = isinstance(env_id_or_envs, str)
    trajs: list[Trajectory] = []
    for lo in range(0, len(seeds), per):
        envs = env_id_or_envs if own else list(env_id_or_envs)[lo * group_size : (lo + per) * group_size]
        trajs += col.collect(envs, seeds=seeds[lo : lo + per], group_size=group_size, **env_kwargs)
    return trajs


def rollout_metrics(trajs: Sequence[Trajectory]) -> dict[str, float]:
    """`rollout/...` metrics of a batch; failed trajectories are counted, not averaged."""
    ok = [t for t in trajs if not t.failed]
    mean: Callable[[list[float]], float] = lambda xs: float(sum(xs) / len(xs)) if xs else 0.0  # noqa: E731
    return {
        "rollout/episodes": float(len(trajs)),
        "rollout/failed": float(len(trajs) - len(ok)),
        "rollout/truncated": float(sum(t.truncated for t in ok)),
        "rollout/reward/mean": mean([t.total_reward for t in ok]),
        "rollout/success/mean": mean([float(t.success) for t in ok]),
        "rollout/turns/mean": mean([float(len(t.turns)) for t in ok]),
        "rollout/policy_tokens/mean": mean([float(t.num_policy_tokens) for t in ok]),
        **tool_call_metrics(ok),
    }


def tool_call_metrics(trajs: Sequence[Trajectory]) -> dict[str, float]:
    """Tool calls as the policy makes them (per rollout) and as the envs execute them.

    A tree branch (`info["tree"]`, ARPO/AEPO) replays its parent's turns up to the fork without
    calling the tools again, so a turn is executed once per (group, segment, turn index): the
    training-time tool budget the ARPO paper compares. Per-solved values are 0 when none solved.
    """
    calls = [t.num_tool_calls for t in trajs]
    solved = [c for c, t in zip(calls, trajs, strict=True) if t.success]
    executed: dict[tuple[Any, ...], int] = {}
    for i, t in enumerate(trajs):
        segments = (t.info.get("tree") or {}).get("segment_ids")
        for k, turn in enumerate(t.turns):
            key = (t.group_id, segments[k], k) if segments else (i, k)
            executed[key] = turn.num_tool_calls
    total = float(sum(executed.values()))
    return {
        "rollout/tool_calls/mean": float(sum(calls) / len(calls)) if calls else 0.0,
        "rollout/tool_calls_per_solved/mean": float(sum(solved) / len(solved)) if solved else 0.0,
        "rollout/tool_calls_executed": total,
        "rollout/tool_calls_executed_per_solved": total / len(solved) if solved else 0.0,
    }


def _fail(traj: Trajectory, why: str) -> bool:
    traj.failed, traj.error = True, why
    log.warning("episode %s/%d failed: %s", traj.group_id, traj.sample_index, why)
    return True


def _truncate(traj: Trajectory, why: str) -> bool:
    traj.truncated = True
    traj.info = {**traj.info, "truncation": why, "score": 0.0, "success": False}
    return True


def _system_prompt(env: Any) -> str:
    for obj in (getattr(env, "unwrapped", None), env):
        value = getattr(obj, "system_prompt", None) if obj is not None else None
        if isinstance(value, str):
            return value
    return ""


def _env_id(env: Any) -> str:
    spec = getattr(env, "spec", None)
    return spec.id.split("/", 1)[-1] if spec is not None and getattr(spec, "id", None) else type(env).__name__
