"""`run_eval`: run an agent on an env's tasks, stream one JSONL line per episode, resume, summarise.

Two paths share the bookkeeping (task enumeration, records, resume, summary, submission):
text-level agents (`oracle`, `constant:X`, `openai:URL`) step their own conversation on a
thread pool; token-level policies (`tiny|small|base|PATH|HUB`, `vllm:PATH`) go through
`agentgym.rollout.Collector`, the collector the trainers use, `concurrency` episodes per
batch. Every (task, sample) pair is written once; a rerun on the same out dir skips the pairs
already there, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentgym.errors import InvalidConfig
from agentgym.eval.agents import Agent, AgentReply, text_agent
from agentgym.eval.records import EpisodeRecord, EpisodeStore, StepRecord, read_records, sorted_records
from agentgym.eval.summary import summarize
from agentgym.tools.accounting import budget_spent, default_accountant

__all__ = ["EvalConfig", "TaskRef", "plan_tasks", "run_eval", "write_submission"]

log = logging.getLogger(__name__)
RECORDS_FILE = "episodes.jsonl"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.json"
COST_FILE = "cost.json"


@dataclass(frozen=True, kw_only=True)
class EvalConfig:
    """One evaluation run (the fields of `agentgym eval`)."""

    env_id: str
    out: Path
    model: str = "oracle"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    split: str | None = None
    n: int | None = None
    tasks: Sequence[str] | None = None
    samples: int = 1
    concurrency: int = 4
    temperature: float = 0.0
    max_tokens: int = 512
    max_turns: int | None = None
    seed: int = 0
    resume: bool = True
    submission: Path | None = None
    judge: str | None = None
    price_in: float = 0.0
    price_out: float = 0.0
    report: bool = True

    def __post_init__(self) -> None:
        if self.samples < 1 or self.concurrency < 1:
            raise InvalidConfig(
                f"samples and concurrency must be >= 1, got {self.samples} and {self.concurrency}"
            )
        if self.n is not None and self.n < 1:
            raise InvalidConfig(f"--n must be >= 1, got {self.n}")


@dataclass(frozen=True)
class TaskRef:
    """How to start one task: a stable key, the reset seed and options."""

    key: str
    seed: int | None
    options: dict[str, Any] | None = None
    problem: str | None = None  # bad data: record the task as failed with this error


def _seed_for(base: int, key: str) -> int:
    from zlib import crc32

    return (base * 1_000_003 + crc32(key.encode())) % (2**31)


def plan_tasks(env: Any, cfg: EvalConfig) -> list[TaskRef]:
    """The tasks to run: the env's task ids when it lists them (GAIA), else reset seeds."""
    u = env.unwrapped
    wanted = list(cfg.tasks) if cfg.tasks else None
    if hasattr(u, "task_ids"):
        ids = list(u.task_ids())
        refs = [TaskRef(t, _seed_for(cfg.seed, t), {"task": t}) for t in ids]
        loaded = set(ids)  # a duplicate row's problem is only logged: its task runs from the first row
        refs += [
            TaskRef(p.task_id, None, None, problem=str(p))
            for p in getattr(u, "problems", [])
            if p.task_id not in loaded
        ]
        if wanted is not None:
            by_key = {r.key: r for r in refs}
            missing = [w for w in wanted if w not in by_key]
            if missing:
                raise InvalidConfig(
                    f"unknown task id(s) {missing[:5]} for {cfg.env_id}; it has {len(ids)} tasks"
                )
            refs = [by_key[w] for w in wanted]
    else:
        try:
            seeds = (
                [int(t) for t in wanted]
                if wanted is not None
                else list(range(cfg.seed, cfg.seed + (cfg.n or 100)))
            )
        except ValueError as exc:
            raise InvalidConfig(
                f"{cfg.env_id} generates tasks from seeds; --tasks must list integers ({exc})"
            ) from exc
        refs = [TaskRef(f"seed-{s}", s) for s in seeds]
    return refs[: cfg.n] if cfg.n is not None else refs


# --------------------------------------------------------------------------- episodes → records


def _finish(
    rec: EpisodeRecord, env: Any, reset_info: dict[str, Any], last: dict[str, Any], t0: float
) -> EpisodeRecord:
    task = reset_info.get("task") or {}
    rec.task_id = str(task.get("id", rec.task_key))
    rec.meta = {k: v for k, v in task.items() if k not in ("id", "prompt")}
    gold = getattr(getattr(env.unwrapped, "task", None), "answer", None)
    rec.gold = None if gold is None else str(gold)
    rec.reward = float(sum(s.reward for s in rec.steps))
    rec.score = float(last.get("score", 0.0) or 0.0)
    rec.success = bool(last.get("success", False))
    rec.answer = last.get("model_answer", last.get("answer"))
    rec.truncated = rec.truncated or bool(last.get("truncation"))
    rec.tool_calls = sum(len(s.tool_calls) for s in rec.steps)
    rec.latency_s = time.perf_counter() - t0
    return rec


def _step_record(action: str, obs: str, reward: float, info: dict[str, Any]) -> StepRecord:
    return StepRecord(
        action=action, observation=obs, reward=float(reward),
        tool_calls=list(info.get("tool_calls") or []), tool_results=list(info.get("tool_results") or []),
        parse_error=info.get("parse_error"), error=info.get("error"),
    )  # fmt: skip


def run_text_episode(env: Any, agent: Agent, ref: TaskRef, sample: int, cfg: EvalConfig) -> EpisodeRecord:
    """One episode of a text-level agent; failures end up in `record.error`, never raised."""
    rec, t0 = EpisodeRecord(ref.key, sample), time.perf_counter()
    try:
        obs, reset_info = env.reset(seed=ref.seed, options=ref.options)
    except Exception as exc:  # bad task data: this episode's error, not the run's
        rec.error = f"reset failed: {type(exc).__name__}: {exc}"
        return rec
    u = env.unwrapped
    rec.system_prompt, rec.first_observation = getattr(u, "system_prompt", ""), obs
    messages = [{"role": "system", "content": rec.system_prompt}, {"role": "user", "content": obs}]
    last: dict[str, Any] = {}
    limit = cfg.max_turns or getattr(u, "max_turns", None) or 50
    for turn in range(limit):
        try:
            reply = agent.act(messages, env, seed=_seed_for(cfg.seed, f"{ref.key}/{sample}/{turn}"))
        except Exception as exc:  # a broken agent fails its episode, not the run
            reply = AgentReply("", error=f"agent failed: {type(exc).__name__}: {exc}")
        rec.tokens_in, rec.tokens_out = rec.tokens_in + reply.tokens_in, rec.tokens_out + reply.tokens_out
        if reply.error:
            rec.error = reply.error
            break
        try:
            obs, reward, terminated, truncated, last = env.step(reply.text)
        except Exception as exc:  # an env bug: recorded, counted in `errors`, the run goes on
            rec.error = f"env.step failed: {type(exc).__name__}: {exc}"
            break
        rec.steps.append(_step_record(reply.text, obs, reward, last))
        messages += [{"role": "assistant", "content": reply.text}, {"role": "user", "content": obs}]
        if terminated or truncated:
            break
    else:
        rec.truncated = True
    return _finish(rec, env, reset_info, last, t0)


def trajectory_record(traj: Any, env: Any, key: str, t0: float) -> EpisodeRecord:
    """An `EpisodeRecord` from a collector `Trajectory` (token counts from its ids)."""
    rec = EpisodeRecord(
        key, traj.sample_index, system_prompt=traj.system_prompt, first_observation=traj.first_observation
    )
    context = len(traj.prompt_ids)
    for turn in traj.turns:
        rec.tokens_in += context
        context += len(turn.action_ids) + len(turn.observation_ids)
        rec.steps.append(_step_record(turn.action, turn.observation, turn.reward, turn.info))
    rec.tokens_out = traj.num_policy_tokens
    rec.error = traj.error
    rec.truncated = bool(traj.truncated)
    return _finish(rec, env, traj.reset_info, traj.info, t0)


# --------------------------------------------------------------------------- the run


def _jobs(refs: Sequence[TaskRef], samples: int, done: set[tuple[str, int]]) -> list[tuple[TaskRef, int]]:
    return [(r, s) for r in refs for s in range(samples) if (r.key, s) not in done]


@contextmanager
def _progress(total: int, done: int, enabled: bool) -> Iterator[Callable[[EpisodeRecord], None]]:
    """A live progress bar (rich) whose advance callback shows the running success rate."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    stats = {"n": 0, "ok": 0}
    columns = [
        TextColumn("eval"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, disable=not enabled, transient=False) as bar:
        task = bar.add_task("eval", total=total, completed=done, rate="")
        lock = threading.Lock()

        def advance(rec: EpisodeRecord) -> None:
            with lock:
                stats["n"] += 1
                stats["ok"] += int(rec.success)
                bar.update(task, advance=1, rate=f"success {stats['ok']}/{stats['n']}")

        yield advance


def _run_text(
    agent: Agent, cfg: EvalConfig, jobs: list[tuple[TaskRef, int]], store: EpisodeStore, advance: Callable
) -> None:
    local = threading.local()
    envs: list[Any] = []

    def work(ref: TaskRef, sample: int) -> EpisodeRecord | None:
        env = getattr(local, "env", None)
        if env is None:
            env = local.env = _make_env(cfg)
            envs.append(env)
        if budget_spent() is not None:
            return None
        return _priced(run_text_episode(env, agent, ref, sample, cfg), cfg)

    with ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="agentgym-eval") as pool:
        futures = [pool.submit(work, ref, s) for ref, s in jobs]
        for fut in as_completed(futures):
            rec = fut.result()
            if rec is None:  # the cost budget is spent: the episode was not run (a rerun resumes it)
                continue
            store.append(rec)
            advance(rec)
    for env in envs:
        env.close()


def _run_collector(
    cfg: EvalConfig, jobs: list[tuple[TaskRef, int]], store: EpisodeStore, advance: Callable
) -> None:
    from agentgym.llm import SamplingParams, load_policy
    from agentgym.rollout import Collector, EpisodeStart

    policy = load_policy(cfg.model)
    sampling = SamplingParams(temperature=cfg.temperature, max_tokens=cfg.max_tokens, seed=cfg.seed)
    collector = Collector(policy, sampling=sampling, max_turns=cfg.max_turns, num_workers=cfg.concurrency)
    envs = [_make_env(cfg) for _ in range(min(cfg.concurrency, len(jobs)))]
    for lo in range(0, len(jobs), len(envs) or 1):
        if budget_spent() is not None:
            break
        chunk, t0 = jobs[lo : lo + len(envs)], time.perf_counter()
        starts = [
            EpisodeStart(
                env, seed=ref.seed, options=ref.options, group_id=ref.key, sample_index=s, env_id=cfg.env_id
            )
            for env, (ref, s) in zip(envs, chunk, strict=False)
        ]
        for env, (ref, _), traj in zip(envs, chunk, collector.run(starts), strict=False):
            rec = _priced(trajectory_record(traj, env, ref.key, t0), cfg)
            store.append(rec)
            advance(rec)
    for env in envs:
        env.close()


def _priced(rec: EpisodeRecord, cfg: EvalConfig) -> EpisodeRecord:
    """Estimated model cost from token counts and the per-1k-token prices of the config."""
    from agentgym.tools.accounting import Price

    rec.cost = Price(per_1k_input_tokens=cfg.price_in, per_1k_output_tokens=cfg.price_out).cost(
        0, rec.tokens_in, rec.tokens_out
    )
    return rec


def _env_kwargs(cfg: EvalConfig) -> dict[str, Any]:
    return {**cfg.env_kwargs, **({"split": cfg.split} if cfg.split else {})}


def _make_env(cfg: EvalConfig) -> Any:
    """Build the env and tell it that it is being evaluated: envs with an `on_evaluation()` hook
    may refuse training-only settings there (SimSearchQA-v0 refuses answer-aware simulators)."""
    import agentgym

    env = agentgym.make(cfg.env_id, **_env_kwargs(cfg))
    hook = getattr(env.unwrapped, "on_evaluation", None)
    if hook is not None:
        hook()
    return env


def run_eval(cfg: EvalConfig, *, agent: Agent | None = None, progress: bool = True) -> dict[str, Any]:
    """Run (or resume) an evaluation; returns the summary also written to ``OUT/summary.json``.

    Args:
        cfg: what to run.
        agent: a text-level agent object (anything with `act(messages, env, seed=)`) that
            overrides `cfg.model` — for evaluating your own agent code.
        progress: show the live progress bar.
    """
    out = Path(cfg.out)
    records_path = out / RECORDS_FILE
    if records_path.exists() and not cfg.resume:
        raise InvalidConfig(
            f"{out} already holds a run; pass --resume to continue it or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / CONFIG_FILE).write_text(json.dumps(asdict(cfg), indent=1, default=str))
    probe = _make_env(cfg)
    refs = plan_tasks(probe, cfg)
    probe.close()
    agent = agent or text_agent(cfg.model, temperature=cfg.temperature, max_tokens=cfg.max_tokens)
    with EpisodeStore(records_path) as store:
        jobs = _jobs(refs, cfg.samples, store.done)
        total = len(refs) * cfg.samples
        log.info("%s: %d episodes to run, %d already done", cfg.env_id, len(jobs), total - len(jobs))
        with _progress(total, total - len(jobs), progress) as advance:
            for ref, s in [j for j in jobs if j[0].problem]:
                rec = EpisodeRecord(ref.key, s, task_id=ref.key, error=ref.problem)
                store.append(rec)
                advance(rec)
            runnable = [j for j in jobs if not j[0].problem]
            if runnable and agent is not None:
                _run_text(agent, cfg, runnable, store, advance)
            elif runnable:
                _run_collector(cfg, runnable, store, advance)
    keys = {(r.key, s) for r in refs for s in range(cfg.samples)}
    records = sorted_records(r for r in read_records(records_path) if r.key in keys)
    summary = summarize(records, samples=cfg.samples, seed=cfg.seed)
    summary["run"] = {"env": cfg.env_id, "model": cfg.model, "samples": cfg.samples, "seed": cfg.seed}
    acct = default_accountant()
    if acct.snapshot():  # external calls of this invocation (web, simulator, hosted APIs); not in the
        (out / COST_FILE).write_text(json.dumps(acct.totals(), indent=1))  # summary: resumes must match
    stopped = budget_spent(acct)
    if stopped is not None:
        log.warning("evaluation stopped early, %d of %d episodes done: %s", len(records), total, stopped)
        summary["run"]["stopped"] = stopped
    if cfg.judge:
        from agentgym.eval.judge import judge_run
        from agentgym.llm import load_policy

        summary["overall"]["llm_judge"] = judge_run(out, records, load_policy(cfg.judge))
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=1))
    if cfg.submission is not None:
        write_submission(records, cfg.submission)
    if cfg.report:
        from agentgym.eval.report import write_report

        write_report(out)
    return summary


def write_submission(records: Sequence[EpisodeRecord], path: str | Path) -> Path:
    """The GAIA leaderboard file: one ``{"task_id", "model_answer", "reasoning_trace"}`` per task (sample 0)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for rec in sorted_records(r for r in records if r.sample == 0):
            trace = "\n".join(s.action for s in rec.steps)
            row = {
                "task_id": rec.task_id or rec.task_key,
                "model_answer": rec.answer or "",
                "reasoning_trace": trace,
            }
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
