"""ZeroSearch-style simulated search: a simulator writes useful or noisy documents per query.

Training a search agent on a live engine costs money per query and returns documents nobody
controls. ZeroSearch (arXiv 2505.04588) replaces the engine by a simulator that, for each
search call independently, is asked for *useful* documents or, with probability p, for *noisy*
ones; p rises over training by the curriculum of ALGORITHMS.md §10.3
(`agentgym.trainers.schedules.zerosearch_noise`).

Two simulators share that machinery (`Simulator`):

- `CorpusSimulator` (CPU, tests, the SimSearchQA-v0 default): useful results come from a real
  retriever over a corpus (with the gold document placed first under `answer_aware`); noisy
  results are plausible distractors — same-type / near-namesake documents of a world, or
  lower-ranked documents sharing words with the query — never a gold document.
- `LLMSimulator`: any `agentgym.llm` backend (`HFPolicy`, `VLLMEngine`, `OpenAIChat`) writes k
  short `Doc i (Title: ...) text` documents from configurable templates; its output is parsed
  robustly (malformed output gives fewer documents, counted in `stats`, never an exception).

Grounding: `answer_aware` shows the simulator the question and gold answer (training only, as in
ZeroSearch); `blind` shows it only the query (safe for evaluation and inference).

>>> from agentgym.tools.search.base import Doc
>>> docs = [Doc(str(i), f"T{i}", f"topic {i} words shared") for i in range(8)]
>>> sim = CorpusSimulator(docs, p_start=1.0, p_end=1.0, seed=0)
>>> len(sim.search("topic 3", k=3)), sim.stats["noisy_calls"]
(3, 1)
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentgym.errors import InvalidConfig, did_you_mean
from agentgym.tools.accounting import BudgetExceeded, default_accountant
from agentgym.tools.search.base import BaseRetriever, Doc, Retriever

__all__ = [
    "GROUNDINGS",
    "NOISY_TEMPLATE",
    "USEFUL_TEMPLATE",
    "CorpusSimulator",
    "LLMSimulator",
    "SFTExample",
    "SimContext",
    "Simulator",
    "make_simulator",
    "parse_documents",
    "render_documents",
    "render_prompt",
    "simulator_sft_examples",
]

log = logging.getLogger(__name__)
GROUNDINGS = ("answer_aware", "blind")

USEFUL_TEMPLATE = (
    "You are a search engine. Write {k} short documents (about {words} words each) that a search "
    "for the query below would return, written as encyclopedia snippets that help answer it.{hint}\n"
    "Query: {query}\n"
    "Write exactly one document per line in the form\nDoc 1 (Title: <title>) <text>\n"
)
NOISY_TEMPLATE = (
    "You are a search engine. Write {k} short documents (about {words} words each) that a search "
    "for the query below would return: they mention its words and look relevant, but they do not "
    "contain the correct answer.{hint}\n"
    "Query: {query}\n"
    "Write exactly one document per line in the form\nDoc 1 (Title: <title>) <text>\n"
)
HINT_TEMPLATE = " The user's question is: {question} The correct answer is: {answer}."


@dataclass
class SimContext:
    """What an `answer_aware` simulator may see beyond the query: the question and its gold data."""

    question: str = ""
    answers: list[str] = field(default_factory=list)
    gold_docs: list[str] = field(default_factory=list)


class Simulator(BaseRetriever):
    """Curriculum, per-call useful/noisy draw and counters; subclasses write the documents.

    Args:
        p_start, p_end, base: the noise curriculum p(step) (§10.3; ZeroSearch scripts: 0, 0.5, 4).
        total_steps: m of the curriculum, until `set_training_progress` says otherwise.
        grounding: `answer_aware` (sees `SimContext`; training only) or `blind` (query only).
        seed: seeds the draw used by plain `search` calls (envs pass their own rng to `simulate`).
    """

    kind = "simulated"

    def __init__(
        self,
        *,
        p_start: float = 0.0,
        p_end: float = 0.5,
        base: float = 4.0,
        total_steps: int = 200,
        grounding: str = "blind",
        seed: int = 0,
    ):
        if grounding not in GROUNDINGS:
            raise InvalidConfig(
                f"grounding must be one of {GROUNDINGS}, got {grounding!r}."
                + did_you_mean(grounding, GROUNDINGS)
            )
        from agentgym.trainers.schedules import zerosearch_noise

        zerosearch_noise(0, 1, p_start, p_end, base)  # validates the curriculum parameters early
        self.p_start, self.p_end, self.base = float(p_start), float(p_end), float(base)
        self.grounding = grounding
        self.step, self.total = 0, max(int(total_steps), 1)
        self.context: SimContext | None = None
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.counters: dict[str, int] = {
            "calls": 0,
            "noisy_calls": 0,
            "useful_calls": 0,
            "docs": 0,
            "short_results": 0,
            "parse_failures": 0,
            "errors": 0,
        }

    # ----------------------------------------------------------------- curriculum
    def set_training_progress(self, step: int, total: int) -> None:
        """Advance the curriculum (the trainer calls this once per step)."""
        self.step, self.total = int(step), max(int(total), 1)

    def noise_probability(self, step: int | None = None, total: int | None = None) -> float:
        """p(step) of the curriculum, exactly p_end from `total` on."""
        from agentgym.trainers.schedules import zerosearch_noise

        s = self.step if step is None else step
        t = self.total if total is None else max(total, 1)
        return zerosearch_noise(s, t, self.p_start, self.p_end, self.base)

    @property
    def noise_p(self) -> float:
        return self.noise_probability()

    # ----------------------------------------------------------------- Retriever API
    def set_context(self, context: SimContext | None) -> None:
        """The question/gold data that `answer_aware` plain `search` calls use (standalone use)."""
        self.context = context

    def search(self, query: str, k: int = 3) -> list[Doc]:
        (noisy,), rng = self._draw(1)  # ZeroSearch: random() > p => useful
        return self.simulate(query, k, noisy=noisy, context=self.context, rng=rng)

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        return [self.search(q, k) for q in queries]

    def simulate(
        self,
        query: str,
        k: int,
        *,
        noisy: bool,
        context: SimContext | None = None,
        rng: random.Random | None = None,
    ) -> list[Doc]:
        """k documents for `query`, useful or noisy as decided by the caller; counted in `stats`."""
        ctx = context if self.grounding == "answer_aware" else None
        docs = self._generate(query, k, noisy=noisy, context=ctx, rng=rng or random.Random(0))
        return self._finish(docs, noisy, k)

    def _draw(self, n: int) -> tuple[list[bool], random.Random]:
        """n independent useful/noisy draws at the current p, and an rng for the generation."""
        with self._lock:
            p = self.noise_p
            return [self._rng.random() < p for _ in range(n)], random.Random(self._rng.getrandbits(63))

    def _finish(self, docs: list[Doc], noisy: bool, k: int) -> list[Doc]:
        for d in docs:
            d.meta["simulated"] = "noisy" if noisy else "useful"
        with self._lock:
            c = self.counters
            c["calls"] += 1
            c["noisy_calls" if noisy else "useful_calls"] += 1
            c["docs"] += len(docs)
            c["short_results"] += int(len(docs) < k)
        return docs

    def _generate(
        self, query: str, k: int, *, noisy: bool, context: SimContext | None, rng: random.Random
    ) -> list[Doc]:
        raise NotImplementedError

    @property
    def stats(self) -> dict[str, float]:
        """Counters plus the observed noisy fraction and the current p."""
        with self._lock:
            out: dict[str, float] = dict(self.counters)
        out["noisy_fraction"] = out["noisy_calls"] / out["calls"] if out["calls"] else 0.0
        out["noise_p"] = self.noise_p
        return out

    def fingerprint(self) -> str:
        return f"simulated:{type(self).__name__}:{self.grounding}"


# --------------------------------------------------------------------------- corpus-grounded
_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 2}


class CorpusSimulator(Simulator):
    """Useful = a real retriever's results; noisy = plausible distractors from the same corpus.

    Args:
        corpus: a World (same-type / namesake distractors), a corpus path or a list of `Doc`.
        retriever: the real retriever (default: BM25 over `corpus`).
        depth: how deep to search for the gold document and for word-overlapping distractors.
        **kw: `Simulator` options.
    """

    def __init__(self, corpus: Any, *, retriever: Retriever | None = None, depth: int = 30, **kw: Any):
        super().__init__(**kw)
        from agentgym.tools.search.factory import as_corpus, make_retriever

        self.world = corpus if hasattr(corpus, "distractors") else None
        self.corpus = as_corpus(corpus)
        self.retriever = retriever or make_retriever("bm25", corpus=self.corpus)
        self.depth = depth
        self._pos = {self.corpus[i].id: i for i in range(len(self.corpus))}

    def doc(self, doc_id: str) -> Doc:
        d = self.corpus[self._pos[doc_id]]
        return Doc(d.id, d.title, d.text)

    def _generate(
        self, query: str, k: int, *, noisy: bool, context: SimContext | None, rng: random.Random
    ) -> list[Doc]:
        top = self.retriever.search(query, k)  # exactly what the real engine would return
        if not noisy:
            return self._useful(query, top, k, context)
        ranked = self.retriever.search(query, max(self.depth, k))
        return self._noisy(query, top, ranked, k, context, rng)

    def _useful(self, query: str, top: list[Doc], k: int, context: SimContext | None) -> list[Doc]:
        docs = [Doc(d.id, d.title, d.text, d.score) for d in top]
        gold = [g for g in (context.gold_docs if context else []) if g in self._pos]
        if gold and not any(d.id in gold for d in docs):
            by_rank = [d.id for d in self.retriever.search(query, max(self.depth, k)) if d.id in gold]
            best = by_rank[0] if by_rank else gold[0]  # the gold doc the query reaches best
            docs = [self.doc(best), *docs[: k - 1]]
        return docs

    def _noisy(
        self,
        query: str,
        top: list[Doc],
        ranked: list[Doc],
        k: int,
        context: SimContext | None,
        rng: random.Random,
    ) -> list[Doc]:
        banned = set(context.gold_docs if context else []) | {d.id for d in top}
        answers = [a.lower() for a in (context.answers if context else []) if a]
        pool: list[str] = []
        if self.world is not None:
            for anchor in [*(context.gold_docs if context else []), *(d.id for d in top)]:
                if anchor in self._pos:
                    pool += self.world.distractors(anchor, 2 * k)
        pool += [d.id for d in ranked]  # lower-ranked (the top ones are banned): they share query words
        seen: set[str] = set()
        cands = [i for i in pool if i not in banned and i in self._pos and not (i in seen or seen.add(i))]
        clean = [i for i in cands if not any(a in self.doc(i).text.lower() for a in answers)]
        chosen = clean if len(clean) >= k else cands
        if len(chosen) < k:  # tiny corpora: any other document
            extra = [
                self.corpus[i].id for i in rng.sample(range(len(self.corpus)), min(len(self.corpus), 4 * k))
            ]
            chosen += [i for i in extra if i not in banned and i not in chosen]
        q = _words(query)
        picked = rng.sample(chosen, min(k, len(chosen)))
        picked.sort(key=lambda i: -len(q & _words(self.doc(i).contents)))  # most query-like first
        return [self.doc(i) for i in picked]

    def __len__(self) -> int:
        return len(self.corpus)


# --------------------------------------------------------------------------- LLM-backed
_DOC_START = re.compile(r"(?im)^\s*(?:\*\*)?\s*(?:doc(?:ument)?|\[)\s*(\d+)\s*[\]:.)-]?\s*")
_TITLE = re.compile(r"^\(?\s*title\s*:\s*(.*?)\s*\)\s*", re.I)


def parse_documents(text: str, k: int, *, max_words: int = 60) -> list[Doc]:
    """Documents from a simulator's output: `Doc i (Title: t) text` blocks, else non-empty lines.

    Never raises: unparseable output gives an empty list; extra documents are dropped and long
    ones cut to `max_words`.

    >>> [d.title for d in parse_documents("Doc 1 (Title: Osk) A city.\\nDoc 2 (Title: Tam) A river.", 5)]
    ['Osk', 'Tam']
    >>> parse_documents("<<garbage>>", 3)
    []
    """
    text = (text or "").replace("\r", "")
    starts = list(_DOC_START.finditer(text))
    if starts:
        chunks = [
            text[m.end() : (starts[j + 1].start() if j + 1 < len(starts) else len(text))]
            for j, m in enumerate(starts)
        ]
    else:
        chunks = [ln for ln in text.split("\n") if _TITLE.match(ln.strip())]
    docs: list[Doc] = []
    for chunk in chunks:
        chunk = " ".join(chunk.split()).lstrip("*:.)]- ")
        m = _TITLE.match(chunk)
        title, body = (m.group(1), chunk[m.end() :]) if m else ("", chunk)
        words = body.split()
        if not words or not any(c.isalnum() for c in body):
            continue
        body = " ".join(words[:max_words])
        docs.append(Doc(f"sim-{len(docs) + 1}", title.strip(" *\"'")[:100], body))
        if len(docs) >= k:
            break
    return docs


def render_prompt(
    query: str,
    k: int,
    *,
    noisy: bool,
    context: SimContext | None = None,
    words: int = 30,
    templates: dict[str, str] | None = None,
) -> str:
    """The simulator instruction for one call (shared by `LLMSimulator` and its SFT data)."""
    tpl = {"useful": USEFUL_TEMPLATE, "noisy": NOISY_TEMPLATE, "hint": HINT_TEMPLATE, **(templates or {})}
    hint = ""
    if context is not None and (context.question or context.answers):
        answer = context.answers[0] if context.answers else ""
        hint = tpl["hint"].format(question=context.question, answer=answer)
    return tpl["noisy" if noisy else "useful"].format(k=k, words=words, query=query, hint=hint)


def render_documents(docs: Sequence[Doc], words: int = 30) -> str:
    """What a simulator should write: `Doc i (Title: t) text`, each text cut to `words` words."""
    return "\n".join(
        f"Doc {i} (Title: {d.title}) {' '.join(d.text.split()[:words])}" for i, d in enumerate(docs, 1)
    )


@dataclass
class SFTExample:
    """One simulator fine-tuning pair: the instruction, the documents to write, and their label."""

    prompt: str
    target: str
    label: str
    query: str


def simulator_sft_examples(
    questions: Sequence[SimContext],
    queries: Sequence[Sequence[str]],
    corpus: Any,
    *,
    retriever: Retriever | None = None,
    k: int = 3,
    words: int = 30,
    grounding: str = "answer_aware",
    seed: int = 0,
) -> list[SFTExample]:
    """ZeroSearch-style SFT data: query -> documents, labelled useful or noisy.

    For every (question, query) pair the real retriever's top-k documents become one example,
    labelled `useful` when a gold answer (or, where known, a gold document of the chain) appears
    in them and `noisy` otherwise (ZeroSearch's labelling of real search interactions); the corpus simulator's distractors for the same query
    add one `noisy` example, so both instruction kinds are well represented.
    """
    sim = CorpusSimulator(corpus, retriever=retriever, p_start=1.0, p_end=1.0, grounding="answer_aware")
    rng = random.Random(seed)
    out: list[SFTExample] = []
    for ctx, qs in zip(questions, queries, strict=True):
        shown = ctx if grounding == "answer_aware" else None
        for q in qs:
            real = sim.retriever.search(q, k)
            answers = [a.lower() for a in ctx.answers if a]
            useful = any(d.id in ctx.gold_docs for d in real) or any(
                a in d.contents.lower() for d in real for a in answers
            )
            noise = sim.simulate(q, k, noisy=True, context=ctx, rng=rng)
            for docs, noisy in ((real, not useful), (noise, True)):
                if docs:
                    prompt = render_prompt(q, k, noisy=noisy, context=shown, words=words)
                    out.append(
                        SFTExample(prompt, render_documents(docs, words), "noisy" if noisy else "useful", q)
                    )
    return out


class LLMSimulator(Simulator):
    """An LLM writes the documents (ZeroSearch's simulator) from `useful_template`/`noisy_template`.

    Args:
        llm: an `agentgym.llm` backend or a `--model` spec (`tiny`, a checkpoint dir, `openai:URL#M`).
        useful_template, noisy_template: `str.format` templates with {k}, {words}, {query}, {hint}.
        hint_template: what `answer_aware` adds as {hint} ({question}, {answer}); blind: "".
        words: target words per document (ZeroSearch: ~30).
        max_tokens, temperature: sampling of the simulator.
        service: the accounting service name its calls are recorded under.
    """

    def __init__(
        self,
        llm: Any = "tiny",
        *,
        useful_template: str = USEFUL_TEMPLATE,
        noisy_template: str = NOISY_TEMPLATE,
        hint_template: str = HINT_TEMPLATE,
        words: int = 30,
        max_tokens: int = 256,
        temperature: float = 0.7,
        service: str = "simulator",
        **kw: Any,
    ):
        super().__init__(**kw)
        if isinstance(llm, str):
            from agentgym.llm import load_policy

            llm = load_policy(llm)
        self.llm = llm
        self.templates = {"useful": useful_template, "noisy": noisy_template, "hint": hint_template}
        self.words, self.max_tokens, self.temperature, self.service = words, max_tokens, temperature, service

    def prompt(self, query: str, k: int, *, noisy: bool, context: SimContext | None) -> str:
        """The simulator's instruction for one call."""
        return render_prompt(
            query, k, noisy=noisy, context=context, words=self.words, templates=self.templates
        )

    def _complete(self, prompts: list[str], seeds: list[int]) -> tuple[list[Any], int]:
        """Completions and prompt tokens (servers report them in `usage`; local backends count ids)."""
        from agentgym.llm import SamplingParams

        sp = SamplingParams(
            temperature=self.temperature, max_tokens=self.max_tokens, seed=seeds[0] if seeds else 0
        )
        if hasattr(self.llm, "chat_many"):  # OpenAIChat: the server applies its chat template
            outs = self.llm.chat_many([[{"role": "user", "content": p}] for p in prompts], sp)
            return outs, sum(int((o.usage or {}).get("prompt_tokens", 0)) for o in outs)
        ids = [self.llm.chat.prompt_ids("", p) for p in prompts]
        return self.llm.generate(ids, sp, seeds=seeds), sum(len(i) for i in ids)

    def generate_batch(
        self, requests: Sequence[tuple[str, bool, SimContext | None]], k: int, rng: random.Random
    ) -> list[list[Doc]]:
        """One backend call for many (query, noisy, context) requests."""
        acct = default_accountant()
        acct.check_budget()
        prompts = [self.prompt(q, k, noisy=n, context=c) for q, n, c in requests]
        t0 = time.perf_counter()
        try:
            outs, tok_in = self._complete(prompts, [rng.getrandbits(31) for _ in prompts])
        except BudgetExceeded:
            raise
        except Exception as exc:  # a backend failure is a short result list, never a crashed episode
            log.warning("simulator backend failed: %s: %s", type(exc).__name__, exc)
            acct.record(self.service, latency_s=time.perf_counter() - t0, calls=len(prompts), error=True)
            with self._lock:
                self.counters["errors"] += len(prompts)
            return [[] for _ in prompts]
        tok_out = sum(int((o.usage or {}).get("completion_tokens", 0)) or len(o.token_ids) for o in outs)
        errors = sum(o.finish_reason == "error" for o in outs)
        acct.record(
            self.service,
            latency_s=time.perf_counter() - t0,
            tokens_in=tok_in,
            tokens_out=tok_out,
            calls=len(prompts),
            error=errors > 0,
        )
        results = []
        for o in outs:
            docs = parse_documents(o.text if o.finish_reason != "error" else "", k)
            with self._lock:
                self.counters["errors"] += int(o.finish_reason == "error")
                self.counters["parse_failures"] += int(not docs and o.finish_reason != "error")
            if not docs:
                log.debug("simulator output gave no documents: %r", o.text[:200])
            results.append(docs)
        return results

    def _generate(
        self, query: str, k: int, *, noisy: bool, context: SimContext | None, rng: random.Random
    ) -> list[Doc]:
        return self.generate_batch([(query, noisy, context)], k, rng)[0]

    def search_batch(self, queries: Sequence[str], k: int = 3) -> list[list[Doc]]:
        """All queries in one backend call (one batched `generate` / concurrent HTTP requests)."""
        draws, rng = self._draw(len(queries))
        ctx = self.context if self.grounding == "answer_aware" else None
        results = self.generate_batch([(q, n, ctx) for q, n in zip(queries, draws, strict=True)], k, rng)
        return [self._finish(docs, n, k) for docs, n in zip(results, draws, strict=True)]

    def fingerprint(self) -> str:
        return f"simulated:llm:{self.grounding}:{type(self.llm).__name__}"


def make_simulator(simulator: str | Any = "corpus", *, corpus: Any = None, **kw: Any) -> Simulator:
    """`corpus` (CPU default), an LLM spec (`tiny`, a checkpoint dir, `openai:URL#MODEL`) or a backend."""
    if isinstance(simulator, Simulator):
        return simulator
    if simulator == "corpus":
        if corpus is None:
            raise InvalidConfig("simulator='corpus' needs corpus= (a World, a JSONL path or a list of Doc)")
        return CorpusSimulator(corpus, **kw)
    llm_keys = (
        "useful_template",
        "noisy_template",
        "hint_template",
        "words",
        "max_tokens",
        "temperature",
        "service",
    )
    base = {key: kw.pop(key) for key in list(kw) if key in llm_keys}
    return LLMSimulator(simulator, **base, **kw)
