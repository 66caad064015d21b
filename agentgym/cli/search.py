"""`agentgym index build`, `agentgym world generate`, `agentgym retriever serve`."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

from agentgym.cli import app

index_app = typer.Typer(help="Build search indexes over a JSONL corpus.", no_args_is_help=True)
world_app = typer.Typer(
    help="Generate fictional worlds (corpus + multi-hop questions).", no_args_is_help=True
)
retriever_app = typer.Typer(help="Serve an index over HTTP (Search-R1 /retrieve API).", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(world_app, name="world")
app.add_typer(retriever_app, name="retriever")


@index_app.command("build")
def index_build(
    corpus: Path = typer.Argument(
        ..., help="JSONL corpus: {id, contents} rows (first line = title) or {id, title, text}"
    ),
    kind: str = typer.Option("bm25", help="bm25 | dense | hybrid"),
    out: Path = typer.Option(..., help="output directory"),
    model: str = typer.Option(
        None, help="sentence-transformers model name or path (dense; default: offline MiniLM)"
    ),
    query_prefix: str = typer.Option("", help='dense query prefix, e.g. "query: " for e5'),
    passage_prefix: str = typer.Option("", help='dense passage prefix, e.g. "passage: " for e5'),
    index_type: str = typer.Option("flat", help="dense faiss index: flat | hnsw"),
    batch_size: int = typer.Option(64, help="dense encoding batch size"),
    dtype: str = typer.Option(
        "float32", help="dense encoder dtype: float32 | bfloat16 (faster on bf16 CPUs)"
    ),
) -> None:
    """Build an index and save it to OUT (load it with `make_retriever(index=OUT)`)."""
    from agentgym.tools.search import build_index

    if kind not in ("bm25", "dense", "hybrid"):
        raise typer.BadParameter(f"--kind must be bm25, dense or hybrid, got {kind!r}")
    options = {}
    if kind != "bm25":
        options = {
            "model": model,
            "query_prefix": query_prefix,
            "passage_prefix": passage_prefix,
            "index_type": index_type,
            "batch_size": batch_size,
            "dtype": dtype,
        }
    start = time.perf_counter()
    retriever = build_index(str(corpus), kind, out, show_progress=True, **options)
    typer.echo(
        json.dumps(
            {
                "kind": kind,
                "docs": len(retriever),
                "out": str(out),
                "seconds": round(time.perf_counter() - start, 2),
            }
        )
    )


@world_app.command("generate")
def world_generate(
    seed: int = typer.Option(0, help="world seed"),
    docs: int = typer.Option(500, help="number of documents (entities)"),
    out: Path = typer.Option(..., help="output directory (corpus.jsonl, train/dev/test.jsonl, ...)"),
    hops: str = typer.Option("1,2,3,4", help="comma-separated hop counts"),
    questions_per_hop: int = typer.Option(None, help="questions per hop count (default: min(docs, 2000))"),
    distractors: int = typer.Option(2, help="distractor sentences per document"),
    paraphrase: float = typer.Option(0.0, help="probability of paraphrased templates"),
) -> None:
    """Generate a world and write its files to OUT."""
    from agentgym.envs.worlds import generate_world

    try:
        hop_list = tuple(int(h) for h in hops.split(","))
    except ValueError as exc:
        raise typer.BadParameter(f"--hops must be comma-separated integers, got {hops!r}") from exc
    world = generate_world(
        seed,
        docs,
        hops=hop_list,
        questions_per_hop=questions_per_hop,
        distractors=distractors,
        paraphrase=paraphrase,
    )
    world.save(out)
    splits = {s: len(world.questions_for(s)) for s in ("train", "dev", "test")}
    typer.echo(json.dumps({"out": str(out), "docs": len(world.documents), "questions": splits}))


@retriever_app.command("serve")
def retriever_serve(
    index: Path = typer.Option(None, help="index directory from `agentgym index build`"),
    corpus: Path = typer.Option(None, help="or: a JSONL corpus to index in memory (BM25)"),
    world_seed: int = typer.Option(None, help="or: serve the generated world with this seed"),
    world_docs: int = typer.Option(500, help="documents of that world"),
    host: str = typer.Option("127.0.0.1"),
    port: int = typer.Option(8000),
    topk: int = typer.Option(3, help="default topk when a request has none"),
) -> None:
    """Serve POST /retrieve (Search-R1 format) and GET /health."""
    from agentgym.tools.search import make_retriever
    from agentgym.tools.search.server import serve

    if sum(x is not None for x in (index, corpus, world_seed)) != 1:
        raise typer.BadParameter("give exactly one of --index, --corpus, --world-seed")
    if index is not None:
        retriever = make_retriever(index=index)
    elif corpus is not None:
        retriever = make_retriever("bm25", corpus=str(corpus))
    else:
        from agentgym.envs.worlds import get_world

        retriever = make_retriever("bm25", corpus=get_world(world_seed, world_docs))
    serve(retriever, host=host, port=port, default_topk=topk)
