"""`agentgym simulator sft`: fine-tune a ZeroSearch simulator LLM on query -> documents data.

The data come from a corpus and a QA set (default: the bundled generated world): for each
question's queries, the real retriever's documents (labelled useful/noisy by whether the gold
answer or gold document appears) and corpus distractors (noisy), rendered with the same
instruction templates `LLMSimulator` uses. Training reuses `agentgym.trainers.sft.SFTTrainer`;
the fine-tuned model serves as `SimSearchQA-v0(simulator=OUT/final)`.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import typer

from agentgym.cli import app

simulator_app = typer.Typer(
    help="ZeroSearch simulated search engines: fine-tune a simulator LLM.", no_args_is_help=True
)
app.add_typer(simulator_app, name="simulator")


def _questions(
    world: int | None, data: Path | None, split: str, limit: int
) -> tuple[list[Any], list[list[str]], Any]:
    """(contexts, queries per question, corpus) from a generated world or a FlashRAG QA file."""
    from agentgym.tools.search.simulated import SimContext

    if data is None:
        from agentgym.envs.worlds import default_world, get_world

        w = default_world() if world is None else get_world(seed=world)
        qs = w.questions_for(split)[:limit]
        ctxs = [SimContext(q.question, list(q.answers), list(q.gold_docs)) for q in qs]
        return ctxs, [list(q.expert_queries) or [q.question] for q in qs], w
    from agentgym.tools.search.qa import load_qa

    records = load_qa(data)[:limit]
    ctxs = [SimContext(r.question, list(r.answers), list(r.meta.get("gold_docs", []))) for r in records]
    return ctxs, [list(r.meta.get("expert_queries") or [r.question]) for r in records], None


def sft_trajectories(examples: list[Any], chat: Any) -> list[Any]:
    """One single-turn `Trajectory` per example: the prompt, then the documents as the policy's action."""
    from agentgym.rollout.trajectory import Trajectory, Turn

    out = []
    for i, ex in enumerate(examples):
        ids = chat.action_ids(ex.target)
        traj = Trajectory(
            task_id=str(i),
            group_id=f"simulator/{i}",
            env_id="simulator",
            prompt_ids=chat.prompt_ids("", ex.prompt),
        )
        traj.turns.append(Turn(ex.target, ids, [0.0] * len(ids), "", [], 0.0, {}, None, "stop"))
        out.append(traj)
    return out


def format_rate(policy: Any, examples: list[Any], k: int, max_tokens: int) -> float:
    """Fraction of held-out prompts for which the model writes at least one parseable document."""
    from agentgym.llm import SamplingParams
    from agentgym.tools.search.simulated import parse_documents

    if not examples:
        return 0.0
    outs = policy.generate(
        [policy.chat.prompt_ids("", ex.prompt) for ex in examples],
        SamplingParams(temperature=0, max_tokens=max_tokens),
    )
    return sum(bool(parse_documents(o.text, k)) for o in outs) / len(outs)


@simulator_app.command("sft")
def sft_cmd(
    out: Path = typer.Option(..., help="run dir: sft_data.jsonl, metrics.jsonl, checkpoint/, final/"),
    model: str = typer.Option("tiny", help="simulator to fine-tune: tiny|small|base|PATH|HUB_NAME"),
    world: int = typer.Option(None, help="generated world seed (default: the bundled default world)"),
    data: Path = typer.Option(None, help="FlashRAG/Search-R1 QA file instead of a world (needs --corpus)"),
    corpus: Path = typer.Option(None, help="JSONL corpus for --data"),
    split: str = typer.Option("train", help="world split the questions come from"),
    questions: int = typer.Option(400, help="most questions to build data from"),
    k: int = typer.Option(3, help="documents per simulated search"),
    words: int = typer.Option(30, help="words per document (ZeroSearch: ~30)"),
    grounding: str = typer.Option("answer_aware", help="answer_aware | blind: what the instructions show"),
    steps: int = typer.Option(300, help="optimizer steps"),
    batch_size: int = typer.Option(16, help="examples per micro-batch"),
    lr: float = typer.Option(
        1e-3, help="peak learning rate (1e-3 for the small models, ~1e-5 for hub models)"
    ),
    holdout: int = typer.Option(32, help="held-out examples for the format check"),
    seed: int = typer.Option(0, help="data order and model init seed"),
    device: str = typer.Option(None, help="cpu|cuda (default: cuda if available)"),
) -> None:
    """Build ZeroSearch-style simulator SFT data and fine-tune MODEL on it."""
    from agentgym.errors import InvalidConfig
    from agentgym.llm import load_policy
    from agentgym.llm.tiny import SIZES
    from agentgym.tools.search.simulated import simulator_sft_examples
    from agentgym.trainers.sft import SFTConfig, SFTTrainer

    if data is not None and corpus is None:
        raise InvalidConfig("--data needs --corpus (the JSONL documents the questions are about)")
    ctxs, queries, w = _questions(world, data, split, questions)
    examples = simulator_sft_examples(
        ctxs, queries, w if data is None else corpus, k=k, words=words, grounding=grounding, seed=seed
    )
    random.Random(seed).shuffle(examples)
    held, train = examples[:holdout], examples[holdout:]
    if not train:
        raise InvalidConfig(f"only {len(examples)} examples were built; raise --questions or lower --holdout")
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "sft_data.jsonl", "w", encoding="utf-8") as f:
        for ex in examples:
            f.write(json.dumps(vars(ex), ensure_ascii=False) + "\n")
    labels = {lab: sum(ex.label == lab for ex in examples) for lab in ("useful", "noisy")}
    typer.echo(
        f"{len(examples)} examples ({labels['useful']} useful, {labels['noisy']} noisy) -> {out / 'sft_data.jsonl'}"
    )
    policy = load_policy(model, device=device, **({"seed": seed} if model in SIZES else {}))
    max_tokens = 2 * k * words
    before = format_rate(policy, held, k, max_tokens)
    cfg = SFTConfig(
        lr=lr,
        batch_size=batch_size,
        max_steps=steps,
        warmup_steps=min(50, steps // 10),
        seed=seed,
        out_dir=str(out),
        save_every=0,
    )
    history = SFTTrainer(policy, sft_trajectories(train, policy.chat), cfg).train()
    policy.save_pretrained(out / "final")
    after = format_rate(policy, held, k, max_tokens)
    summary = {
        "examples": len(examples), **labels, "steps": steps,
        "loss_first": history[0].get("train/loss/sft") if history else None,
        "loss_last": history[-1].get("train/loss/sft") if history else None,
        "format_rate_before": before, "format_rate_after": after, "model": str(out / "final"),
    }  # fmt: skip
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    typer.echo(json.dumps(summary, indent=1))
