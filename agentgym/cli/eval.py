"""`agentgym eval | report | compare`: run benchmarks, regenerate reports, compare runs."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from agentgym.cli import app, json_object

console = Console()


def _task_list(path: Path | None) -> list[str] | None:
    if path is None:
        return None
    return [
        line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]


@app.command("eval")
def eval_cmd(
    env: str = typer.Option(..., "--env", help="env id, e.g. agentgym/GAIA-v0"),
    model: str = typer.Option(
        ...,
        help="oracle | constant:TEXT | tiny|small|base|PATH|HUB_NAME | vllm:PATH | openai:BASE_URL[#MODEL]",
    ),
    out: Path = typer.Option(..., help="output dir (episodes.jsonl, summary.json, report.html)"),
    env_kwargs: str = typer.Option(
        None, help='JSON object of env kwargs, e.g. \'{"data_dir": "gaia/2023"}\''
    ),
    split: str = typer.Option(None, help="dataset split passed to the env (GAIA: validation | test)"),
    n: int = typer.Option(
        None, help="run the first N tasks (seeded envs: seeds SEED..SEED+N-1; default 100)"
    ),
    tasks: Path = typer.Option(None, help="file with one task id (or seed) per line"),
    samples: int = typer.Option(1, help="samples per task (pass@k uses them)"),
    concurrency: int = typer.Option(4, help="episodes in flight"),
    temperature: float = typer.Option(0.0, help="sampling temperature (0 = greedy)"),
    max_tokens: int = typer.Option(512, help="most tokens per agent turn"),
    max_turns: int = typer.Option(None, help="most agent turns per episode (default: the env's)"),
    seed: int = typer.Option(0, help="base seed for tasks and sampling"),
    resume: bool = typer.Option(
        True, "--resume/--no-resume", help="continue a run in OUT (default) or refuse if it exists"
    ),
    submission: Path = typer.Option(None, help="also write a GAIA leaderboard submission JSONL here"),
    judge: str = typer.Option(
        None, help="also grade answers with an LLM judge (openai:URL#MODEL); reported separately"
    ),
    price_in: float = typer.Option(0.0, help="model price per 1k input tokens (for the cost column)"),
    price_out: float = typer.Option(0.0, help="model price per 1k output tokens"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show the live progress bar"),
) -> None:
    """Run an agent on an env's tasks; stream episodes to OUT/episodes.jsonl; summarise; write report.html."""
    from agentgym.eval.runner import EvalConfig, run_eval
    from agentgym.eval.summary import format_summary

    cfg = EvalConfig(
        env_id=env, out=out, model=model, env_kwargs=json_object(env_kwargs), split=split, n=n, tasks=_task_list(tasks),
        samples=samples, concurrency=concurrency, temperature=temperature, max_tokens=max_tokens, max_turns=max_turns,
        seed=seed, resume=resume, submission=submission, judge=judge, price_in=price_in, price_out=price_out,
    )  # fmt: skip
    summary = run_eval(cfg, progress=progress)
    console.print(format_summary(summary))
    console.print(f"wrote {out / 'episodes.jsonl'}, {out / 'summary.json'}, {out / 'report.html'}")
    if submission:
        console.print(f"wrote submission {submission}")


@app.command("report")
def report_cmd(out: Path = typer.Argument(..., help="an eval output dir")) -> None:
    """Regenerate OUT/report.html (and print the summary) from OUT/episodes.jsonl."""
    from agentgym.eval.report import write_report

    if not (out / "episodes.jsonl").is_file():
        console.print(f"[red]{out} has no episodes.jsonl; run `agentgym eval --out {out}` first[/red]")
        raise typer.Exit(2)
    path = write_report(out)
    console.print(f"wrote {path}")


@app.command("compare")
def compare_cmd(
    run_a: Path = typer.Argument(..., help="first eval output dir"),
    run_b: Path = typer.Argument(..., help="second eval output dir"),
    show: int = typer.Option(10, help="list up to this many won/lost task ids"),
) -> None:
    """Side-by-side metrics of two runs, and the tasks each one wins."""
    from agentgym.eval.compare import compare_runs, comparison_table

    for d in (run_a, run_b):
        if not (d / "episodes.jsonl").is_file():
            console.print(f"[red]{d} has no episodes.jsonl[/red]")
            raise typer.Exit(2)
    cmp = compare_runs(run_a, run_b)
    console.print(comparison_table(cmp, str(run_a), str(run_b)))
    if cmp.wins:
        console.print(f"A wins ({len(cmp.wins)}): " + ", ".join(cmp.wins[:show]))
    if cmp.losses:
        console.print(f"B wins ({len(cmp.losses)}): " + ", ".join(cmp.losses[:show]))
