"""Questions over a world's relation graph: bridge chains and comparisons, 1–4 hops.

`hops` counts the documents an agent must read. A bridge question names one entity and walks
`hops - 1` relations ("the city where the author of The Glass Orchard was born"), then asks
for a fact of the last entity. A comparison question asks which of two entities, each named
directly or through a bridge chain, has the smaller (or larger) value of an attribute. Every
relation is functional, so each question has exactly one answer; answers never appear in the
question text of a bridge question.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from agentgym.envs.worlds.model import SPLITS, Entity, Question, World
from agentgym.envs.worlds.render import ref

__all__ = ["BRIDGES", "COMPARISONS", "FINALS", "generate_questions"]

# entity type -> relations usable mid-chain, with noun-phrase templates (first = default)
BRIDGES: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "person": [
        ("born_in", ("the city where {x} was born", "the birthplace of {x}")),
        ("married_to", ("the spouse of {x}", "the person who married {x}")),
    ],
    "city": [("located_in", ("the country where {x} is located", "the country that contains {x}"))],
    "country": [("capital", ("the capital of {x}", "the capital city of {x}"))],
    "organization": [
        ("founded_by", ("the founder of {x}", "the person who founded {x}")),
        ("headquartered_in", ("the city where {x} is headquartered", "the home city of {x}")),
    ],
    "book": [("written_by", ("the author of {x}", "the writer of {x}"))],
    "river": [("flows_through", ("the country that {x} flows through", "the country crossed by {x}"))],
    "invention": [("invented_by", ("the inventor of {x}", "the person who invented {x}"))],
}
# entity type -> final questions: (relation or attribute, question template)
FINALS: dict[str, list[tuple[str, str]]] = {
    "person": [
        ("birth_year", "In what year was {x} born?"),
        ("occupation", "What was the occupation of {x}?"),
        ("born_in", "In which city was {x} born?"),
        ("married_to", "Who was {x} married to?"),
    ],
    "city": [("located_in", "In which country is {x}?"), ("founded_year", "In what year was {x} founded?")],
    "country": [
        ("capital", "What is the capital of {x}?"),
        ("currency", "What is the currency of {x}?"),
        ("founded_year", "In what year was {x} established?"),
    ],
    "organization": [
        ("founded_by", "Who founded {x}?"),
        ("headquartered_in", "In which city is {x} headquartered?"),
        ("founded_year", "In what year was {x} founded?"),
    ],
    "book": [("written_by", "Who wrote {x}?"), ("published_year", "In what year was {x} published?")],
    "river": [
        ("flows_through", "Which country does {x} flow through?"),
        ("length_km", "How long is {x} in kilometres?"),
    ],
    "invention": [("invented_by", "Who invented {x}?"), ("year", "In what year was {x} invented?")],
}
# entity type -> (numeric attribute, question template, larger value wins?)
COMPARISONS: dict[str, tuple[str, str, bool]] = {
    "person": ("birth_year", "Who was born earlier, {a} or {b}?", False),
    "city": ("founded_year", "Which city was founded earlier, {a} or {b}?", False),
    "organization": ("founded_year", "Which organisation was founded earlier, {a} or {b}?", False),
    "book": ("published_year", "Which book was published earlier, {a} or {b}?", False),
    "river": ("length_km", "Which river is longer, {a} or {b}?", True),
    "invention": ("year", "Which invention is older, {a} or {b}?", False),
    "country": ("founded_year", "Which country was established earlier, {a} or {b}?", False),
}
_BRIDGE_PHRASES = {rel: phrases for opts in BRIDGES.values() for rel, phrases in opts}


@dataclass
class _Chain:
    """Entities e0..en linked by `rels` (len(rels) == len(ents) - 1)."""

    ents: list[Entity]
    rels: list[str]


class _QuestionMaker:
    def __init__(self, world: World, cfg, rng: random.Random):
        self.world = world
        self.cfg = cfg
        self.rng = rng
        self.ents = {e.id: e for e in world.entities}
        self.by_type: dict[str, list[Entity]] = defaultdict(list)
        self.inverse: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for e in world.entities:
            self.by_type[e.type].append(e)
            for rel, target in e.rels.items():
                if rel in _BRIDGE_PHRASES:
                    self.inverse[target].append((rel, e.id))
        self.types = sorted(self.by_type)

    def phrase(self, chain: _Chain) -> str:
        text = ref(chain.ents[0])
        for rel in chain.rels:
            options = _BRIDGE_PHRASES[rel]
            use_alt = len(options) > 1 and self.rng.random() < self.cfg.paraphrase
            text = (self.rng.choice(options[1:]) if use_alt else options[0]).format(x=text)
        return text

    def forward(self, steps: int) -> _Chain | None:
        cur = self.rng.choice(self.by_type[self.rng.choice(self.types)])
        chain = _Chain([cur], [])
        for _ in range(steps):
            seen = {e.id for e in chain.ents}
            opts = [rel for rel, _ in BRIDGES[cur.type] if rel in cur.rels and cur.rels[rel] not in seen]
            if not opts:
                return None
            rel = self.rng.choice(opts)
            cur = self.ents[cur.rels[rel]]
            chain.ents.append(cur)
            chain.rels.append(rel)
        return chain

    def backward(self, target: Entity, steps: int, avoid: set[str]) -> _Chain | None:
        chain = _Chain([target], [])
        for _ in range(steps):
            seen = avoid | {e.id for e in chain.ents}
            opts = [(rel, src) for rel, src in self.inverse.get(chain.ents[0].id, []) if src not in seen]
            if not opts:
                return None
            rel, src = self.rng.choice(opts)
            chain.ents.insert(0, self.ents[src])
            chain.rels.insert(0, rel)
        return chain

    def bridge(self, hops: int) -> Question | None:
        chain = self.forward(hops - 1)
        if chain is None:
            return None
        last = chain.ents[-1]
        seen = {e.id for e in chain.ents}
        finals = [
            (k, t)
            for k, t in FINALS[last.type]
            if k in last.attrs or (k in last.rels and last.rels[k] not in seen)
        ]
        if not finals:
            return None
        key, template = self.rng.choice(finals)
        answer = str(last.attrs[key]) if key in last.attrs else self.ents[last.rels[key]].name
        text = template.format(x=self.phrase(chain))
        return self._question(text, answer, hops, "bridge", chain.ents, [*chain.rels, key])

    def comparison(self, hops: int) -> Question | None:
        b1 = self.rng.randint(max(0, hops - 2 - 2), min(2, hops - 2))
        b2 = hops - 2 - b1
        etype = self.rng.choice(sorted(COMPARISONS))
        attr, template, larger = COMPARISONS[etype]
        t1, t2 = self.rng.sample(self.by_type[etype], 2)
        if t1.attrs[attr] == t2.attrs[attr]:
            return None
        c1 = self.backward(t1, b1, {t2.id})
        c2 = self.backward(t2, b2, {e.id for e in c1.ents}) if c1 else None
        if c1 is None or c2 is None:
            return None
        winner = max((t1, t2), key=lambda e: e.attrs[attr] * (1 if larger else -1))
        text = template.format(a=self.phrase(c1), b=self.phrase(c2))
        return self._question(
            text, winner.name, hops, "comparison", c1.ents + c2.ents, [*c1.rels, *c2.rels, attr]
        )

    @staticmethod
    def _question(
        text: str, answer: str, hops: int, kind: str, ents: list[Entity], rels: list[str]
    ) -> Question:
        text = text[:1].upper() + text[1:]
        return Question(
            id="",
            question=text,
            answers=[answer],
            hops=hops,
            kind=kind,
            gold_docs=[e.doc_id for e in ents],
            expert_queries=[e.name for e in ents],
            relations=rels,
        )


def generate_questions(world: World, cfg, rng: random.Random) -> list[Question]:
    """Questions for every hop count in `cfg.hops`, split train/dev/test 8:1:1, ids `q000000...`."""
    maker = _QuestionMaker(world, cfg, rng)
    target = cfg.questions_per_hop or min(cfg.num_docs, 2000)
    seen: set[str] = set()
    out: list[Question] = []
    for hops in cfg.hops:
        made, attempts = 0, 0
        while made < target and attempts < target * 30:
            attempts += 1
            # two named options can be guessed half the time, so 2-hop comparisons are rarer
            compare = hops >= 2 and rng.random() < (cfg.comparison / 2 if hops == 2 else cfg.comparison)
            q = maker.comparison(hops) if compare else maker.bridge(hops)
            if q is None or q.question in seen:
                continue
            seen.add(q.question)
            out.append(q)
            made += 1
    rng.shuffle(out)
    for i, q in enumerate(out):
        q.id = f"q{i:06d}"
        q.split = SPLITS[0] if i % 10 < 8 else SPLITS[1] if i % 10 == 8 else SPLITS[2]
    return out
