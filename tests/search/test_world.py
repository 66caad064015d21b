"""The generated world: determinism, well-formed questions, answerability, knobs, cache."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from pathlib import Path

import pytest

from agentgym.envs.worlds import World, generate_world, get_world
from agentgym.errors import InvalidConfig


def _digest(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir())}


def test_same_seed_gives_byte_identical_files(tmp_path):
    a = generate_world(seed=3, num_docs=400).save(tmp_path / "a")
    b = generate_world(seed=3, num_docs=400).save(tmp_path / "b")
    assert _digest(a) == _digest(b)
    assert set(_digest(a)) == {
        "world.json",
        "entities.jsonl",
        "corpus.jsonl",
        "train.jsonl",
        "dev.jsonl",
        "test.jsonl",
    }


def test_different_seeds_differ(tmp_path):
    a = _digest(generate_world(seed=3, num_docs=400).save(tmp_path / "a"))
    b = _digest(generate_world(seed=4, num_docs=400).save(tmp_path / "b"))
    assert a["corpus.jsonl"] != b["corpus.jsonl"]
    assert a["train.jsonl"] != b["train.jsonl"]


def test_save_load_round_trip(tmp_path, small_world):
    loaded = World.load(small_world.save(tmp_path / "w"))
    assert [d.contents for d in loaded.documents] == [d.contents for d in small_world.documents]
    assert [q.to_flashrag() for q in loaded.questions] == [q.to_flashrag() for q in small_world.questions]
    assert loaded.entities == small_world.entities


def test_questions_cover_every_hop_and_split(small_world):
    hops = Counter(q.hops for q in small_world.questions)
    assert set(hops) == {1, 2, 3, 4}
    kinds = Counter(q.kind for q in small_world.questions if q.hops >= 2)
    assert kinds["comparison"] > 0 and kinds["bridge"] > kinds["comparison"]
    by_split = {s: {q.question for q in small_world.questions_for(s)} for s in ("train", "dev", "test")}
    assert by_split["train"] and by_split["dev"] and by_split["test"]
    assert not by_split["train"] & (by_split["dev"] | by_split["test"])  # held-out questions stay held out
    assert not by_split["dev"] & by_split["test"]


def test_gold_chain_is_consistent(small_world):
    """Every hop's doc is titled by the expert's query, and the last fact appears in the chain's docs."""
    for q in small_world.questions:
        assert len(q.gold_docs) == len(q.expert_queries) == q.hops
        docs = [small_world.doc(d) for d in q.gold_docs]
        assert [d.title for d in docs] == q.expert_queries
        lede_text = " ".join(d.text.split("\n")[0] for d in docs)
        if q.kind == "bridge":
            assert q.answers[0] in lede_text, (q.question, q.answers)
            assert q.answers[0] not in q.question
            for prev, nxt in itertools.pairwise(docs):  # each next entity is named in the previous lede
                assert nxt.title in prev.text.split("\n")[0]
        else:
            assert q.answers[0] in q.expert_queries


def test_near_namesakes_and_distractors(small_world):
    with_namesakes = [e for e in small_world.entities if e.namesakes]
    assert len(with_namesakes) > len(small_world.entities) // 10
    e = with_namesakes[0]
    twin = small_world.entity(e.namesakes[0])
    assert set(e.name.split()) & set(twin.name.split()) or e.name in twin.name or twin.name in e.name
    d = small_world.distractors(e.doc_id, n=5)
    assert len(d) == 5 and e.doc_id not in d and twin.doc_id == d[0]
    assert all(small_world.doc(x).type == e.type for x in d[1:])


def test_knobs():
    quiet = generate_world(seed=1, num_docs=100, distractors=0, hops=(2,), questions_per_hop=20)
    assert {q.hops for q in quiet.questions} == {2} and len(quiet.questions) == 20
    noisy = generate_world(seed=1, num_docs=100, distractors=4)
    assert sum(len(d.text) for d in noisy.documents) > sum(len(d.text) for d in quiet.documents)
    plain = generate_world(seed=1, num_docs=100, paraphrase=0.0)
    varied = generate_world(seed=1, num_docs=100, paraphrase=1.0)
    assert {q.question for q in plain.questions} != {q.question for q in varied.questions}
    for bad in ({"num_docs": 10}, {"hops": (5,)}, {"paraphrase": 2.0}, {"distractors": -1}):
        with pytest.raises(InvalidConfig):
            generate_world(seed=1, **{"num_docs": 100, **bad})


def test_get_world_caches_in_memory_and_on_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("AGENTGYM_CACHE_DIR", str(tmp_path))
    from agentgym.envs.worlds import cache

    w1 = get_world(seed=11, num_docs=120)
    assert get_world(seed=11, num_docs=120) is w1
    files = list((tmp_path / "worlds").glob("seed11-n120-*/corpus.jsonl"))
    assert len(files) == 1
    cache._MEMORY.clear()
    w2 = get_world(seed=11, num_docs=120)  # now read from disk
    assert w2 is not w1 and [d.contents for d in w2.documents] == [d.contents for d in w1.documents]
