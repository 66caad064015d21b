"""Question loaders (FlashRAG JSONL, Search-R1 parquet) and SearchQA over external data and corpora."""

from __future__ import annotations

import json

import pytest

import agentgym
from agentgym.errors import InvalidConfig
from agentgym.tools.search import build_index
from agentgym.tools.search.qa import load_qa

PROMPT = (
    "Answer the given question. You must conduct reasoning inside <think> and </think> ... Question: {q}\n"
)


@pytest.fixture()
def files(tmp_path, small_world):
    qs = small_world.questions_for("dev")[:12]
    flash = tmp_path / "dev.jsonl"
    flash.write_text(
        "".join(
            json.dumps({"id": q.id, "question": q.question, "golden_answers": q.answers}) + "\n" for q in qs
        )
    )
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": d.id, "title": d.title, "text": d.text}) + "\n" for d in small_world.documents
        )
    )
    return qs, flash, corpus


def _search_r1_parquet(path, qs, with_question_column: bool):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = {
        "id": [f"train_{i}" for i in range(len(qs))],
        "data_source": ["nq"] * len(qs),
        "prompt": [[{"role": "user", "content": PROMPT.format(q=q.question)}] for q in qs],
        "ability": ["fact-reasoning"] * len(qs),
        "reward_model": [{"style": "rule", "ground_truth": {"target": q.answers}} for q in qs],
        "extra_info": [{"split": "train", "index": i} for i in range(len(qs))],
    }
    if with_question_column:
        rows["question"] = [q.question for q in qs]
        rows["golden_answers"] = [q.answers for q in qs]
    pq.write_table(pa.table(rows), path)
    return path


@pytest.mark.parametrize("with_question_column", [True, False])
def test_search_r1_parquet(tmp_path, small_world, with_question_column):
    qs = small_world.questions_for("dev")[:7]
    path = _search_r1_parquet(tmp_path / "train.parquet", qs, with_question_column)
    records = load_qa(path)
    assert [(r.question, r.answers) for r in records] == [(q.question, q.answers) for q in qs]
    assert records[0].id == "train_0" and records[0].meta["data_source"] == "nq"


def test_flashrag_jsonl_and_errors(tmp_path, files):
    qs, flash, _ = files
    records = load_qa(flash)
    assert [(r.id, r.question, r.answers) for r in records] == [(q.id, q.question, q.answers) for q in qs]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"q": "x"}) + "\n")
    with pytest.raises(InvalidConfig, match="golden_answers"):
        load_qa(bad)
    with pytest.raises(FileNotFoundError):
        load_qa(tmp_path / "nope.jsonl")


def test_env_over_external_data_and_corpus(tmp_path, files):
    qs, flash, corpus = files
    env = agentgym.make("agentgym/SearchQA-v0", data=str(flash), corpus=str(corpus), split="all")
    u = env.unwrapped
    assert u.world is None and len(u.tasks) == len(qs)
    env.reset(seed=0, options={"task": qs[0].id})
    obs, *_ = env.step(f"<search>{qs[0].expert_queries[0]}</search>")
    assert f"(Title: {qs[0].expert_queries[0]})" in obs
    _, r, term, _, info = env.step(f"<answer>{qs[0].answers[0]}</answer>")
    assert term and r == 1.0 and info["retrieved_gold"] is None  # FlashRAG rows carry no gold docs
    # the oracle without expert queries searches the question, then answers
    env.reset(seed=0)
    assert env.unwrapped.oracle_action().startswith("<search>")


def test_env_over_a_saved_index(tmp_path, files):
    qs, flash, corpus = files
    build_index(str(corpus), "bm25", tmp_path / "idx", show_progress=False)
    env = agentgym.make("agentgym/SearchQA-v0", data=str(flash), index=str(tmp_path / "idx"))
    env.reset(seed=0, options={"task": qs[1].id})
    obs, *_ = env.step(f"<search>{qs[1].expert_queries[0]}</search>")
    assert f"(Title: {qs[1].expert_queries[0]})" in obs
