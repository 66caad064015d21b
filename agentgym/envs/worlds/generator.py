"""Entities and relations of a generated world.

`generate_world(seed, num_docs)` draws typed entities (people, cities, countries,
organisations, books, rivers, inventions), links them with functional relations (every
relation has exactly one target, so every chained question has one answer), renders one
encyclopedia article per entity (`render.py`) and writes questions over the relation graph
(`questions.py`). Everything flows from one `random.Random(seed)`, so a seed fixes the world.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from dataclasses import asdict, dataclass

from agentgym.envs.worlds.model import Entity, World
from agentgym.envs.worlds.names import ADJECTIVES, DEVICES, NOUNS, ORG_SUFFIXES, NameMaker
from agentgym.errors import InvalidConfig

__all__ = ["WorldConfig", "generate_world"]

log = logging.getLogger(__name__)

TYPE_SHARES: dict[str, float] = {
    "person": 0.40,
    "city": 0.15,
    "organization": 0.12,
    "book": 0.15,
    "invention": 0.10,
    "river": 0.05,
    "country": 0.03,
}
# fmt: off
OCCUPATIONS = [
    "astronomer", "architect", "baker", "botanist", "cartographer", "chemist", "composer", "diplomat", "engineer", "explorer",
    "geologist", "historian", "jeweller", "judge", "librarian", "linguist", "mathematician", "merchant", "painter", "philosopher",
    "physician", "poet", "potter", "sculptor", "shipwright", "surveyor", "translator", "weaver", "novelist", "clockmaker",
]
GENRES = [
    "novel", "poetry collection", "memoir", "treatise", "play", "travelogue", "history", "atlas", "chronicle",
]
INDUSTRIES = [
    "shipbuilding", "printing", "banking", "textiles", "glassmaking", "mining", "brewing", "publishing",
]
# fmt: on
CITY_AFFIXES = ["Port {}", "New {}", "{} Falls", "{} Crossing", "Upper {}", "{} Harbour"]


@dataclass(frozen=True)
class WorldConfig:
    """Knobs of a generated world (all deterministic given `seed`).

    Attributes:
        seed: fixes everything.
        num_docs: number of entities, hence documents (>= 50).
        questions_per_hop: questions generated per hop count; default min(num_docs, 2000).
        hops: hop counts to generate questions for (1..4).
        distractors: distractor sentences per document (0 = only the facts).
        namesakes: probability that an entity gets a near-namesake (shared name parts).
        paraphrase: probability of a non-default template for a sentence or question phrase.
        comparison: share of 3-4 hop questions that are comparisons ("who was born earlier, ..."); half
            that share at 2 hops, where both options are named in the question and a guess wins half the time.
    """

    seed: int = 0
    num_docs: int = 500
    questions_per_hop: int | None = None
    hops: tuple[int, ...] = (1, 2, 3, 4)
    distractors: int = 2
    namesakes: float = 0.3
    paraphrase: float = 0.0
    comparison: float = 0.15

    def __post_init__(self) -> None:
        if self.num_docs < 50:
            raise InvalidConfig(f"num_docs must be >= 50 so every entity type exists, got {self.num_docs}")
        if not self.hops or any(h not in (1, 2, 3, 4) for h in self.hops):
            raise InvalidConfig(f"hops must be a non-empty subset of (1, 2, 3, 4), got {self.hops!r}")
        for name in ("namesakes", "paraphrase", "comparison"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidConfig(f"{name} is a probability in [0, 1], got {getattr(self, name)}")
        if self.distractors < 0:
            raise InvalidConfig(f"distractors must be >= 0, got {self.distractors}")


def _counts(n: int) -> dict[str, int]:
    counts = {t: max(3, round(n * share)) for t, share in TYPE_SHARES.items()}
    counts["person"] += n - sum(counts.values())
    return counts


def _demonym(name: str) -> str:
    if name.endswith(("a", "e", "i", "o", "u")):
        return name + "n"
    return name + ("i" if name.endswith(("r", "n", "l")) else "ian")


class _Builder:
    """Draws names and relations; one instance per world."""

    def __init__(self, cfg: WorldConfig, rng: random.Random):
        self.cfg = cfg
        self.rng = rng
        self.names = NameMaker(rng)
        self.entities: list[Entity] = []
        self.by_type: dict[str, list[Entity]] = {t: [] for t in TYPE_SHARES}

    def add(self, etype: str, name: str, **attrs: object) -> Entity:
        e = Entity(id=f"e{len(self.entities):06d}", type=etype, name=name, attrs=dict(attrs))
        self.entities.append(e)
        self.by_type[etype].append(e)
        return e

    def link_namesakes(self, a: Entity, b: Entity) -> None:
        if b.id not in a.namesakes and len(a.namesakes) < 3:
            a.namesakes.append(b.id)
        if a.id not in b.namesakes and len(b.namesakes) < 3:
            b.namesakes.append(a.id)

    def places(self, n_countries: int, n_cities: int) -> None:
        r = self.rng
        for _ in range(n_countries):
            name = self.names.unique(lambda: self.names.word(2, 3))
            currency = self.names.unique(lambda: self.names.word(1, 2).lower())
            self.add(
                "country", name, demonym=_demonym(name), currency=currency, founded_year=r.randint(1200, 1950)
            )
        countries = self.by_type["country"]
        plain: list[Entity] = []  # cities whose names can take an affix ("Port Osk")
        for i in range(n_cities):
            src = r.choice(plain) if plain and r.random() < self.cfg.namesakes * 0.5 else None
            if src is not None:
                name = self.names.unique(lambda s=src: r.choice(CITY_AFFIXES).format(s.name))
            else:
                name = self.names.unique(lambda: self.names.word(1, 3))
            city = self.add(
                "city", name, founded_year=r.randint(800, 1900), population=r.randint(2, 900) * 1000
            )
            city.rels["located_in"] = (countries[i] if i < len(countries) else r.choice(countries)).id
            if src is not None:
                self.link_namesakes(city, src)
            else:
                plain.append(city)
        for country in countries:
            own = [c for c in self.by_type["city"] if c.rels["located_in"] == country.id]
            country.rels["capital"] = r.choice(own).id

    def people(self, n: int) -> None:
        r = self.rng
        given = self.names.pool(max(8, n // 3), 1, 2)
        family = self.names.pool(max(8, n // 3), 1, 2)
        cities = self.by_type["city"]
        for _ in range(n):
            name = self.names.compound(given, family)
            p = self.add("person", name, birth_year=r.randint(1700, 1960), occupation=r.choice(OCCUPATIONS))
            p.rels["born_in"] = r.choice(cities).id
        by_family: dict[str, list[Entity]] = {}
        for p in self.by_type["person"]:
            by_family.setdefault(p.name.split()[-1], []).append(p)
        for group in by_family.values():
            for a, b in itertools.pairwise(group):
                if r.random() < self.cfg.namesakes * 2:
                    self.link_namesakes(a, b)
        order = list(self.by_type["person"])
        r.shuffle(order)
        pairs = int(len(order) * 0.2)
        for a, b in zip(order[:pairs], order[pairs : 2 * pairs], strict=False):
            a.rels["married_to"], b.rels["married_to"] = b.id, a.id

    def works(self, counts: dict[str, int]) -> None:
        r, nm = self.rng, self.names
        persons, cities, countries = self.by_type["person"], self.by_type["city"], self.by_type["country"]
        for _ in range(counts["organization"]):
            name = nm.unique(
                lambda: (
                    f"{r.choice(ADJECTIVES)} {r.choice(NOUNS)} {r.choice(ORG_SUFFIXES)}"
                    if r.random() < 0.5
                    else f"{nm.word(2, 3)} {r.choice(ORG_SUFFIXES)}"
                )
            )
            founder = r.choice(persons)
            org = self.add(
                "organization",
                name,
                founded_year=founder.attrs["birth_year"] + r.randint(20, 60),
                industry=r.choice(INDUSTRIES),
            )
            org.rels["founded_by"] = founder.id
            org.rels["headquartered_in"] = r.choice(cities).id
        for _ in range(counts["book"]):
            title = nm.unique(
                lambda: (
                    f"The {r.choice(ADJECTIVES)} {r.choice(NOUNS)}"
                    if r.random() < 0.4
                    else f"The {r.choice(NOUNS)} of {nm.word(2, 3)}"
                )
            )
            author = r.choice(persons)
            book = self.add(
                "book",
                title,
                published_year=author.attrs["birth_year"] + r.randint(20, 70),
                genre=r.choice(GENRES),
            )
            book.rels["written_by"] = author.id
        for _ in range(counts["river"]):
            river = self.add(
                "river", nm.unique(lambda: f"{nm.word(1, 2)} River"), length_km=r.randint(40, 4000)
            )
            river.rels["flows_through"] = r.choice(countries).id
        for _ in range(counts["invention"]):
            inventor = r.choice(persons)
            inv = self.add(
                "invention",
                nm.unique(lambda: f"{nm.word(1, 2)} {r.choice(DEVICES)}"),
                year=inventor.attrs["birth_year"] + r.randint(18, 60),
            )
            inv.rels["invented_by"] = inventor.id
        for group in (self.by_type["organization"], self.by_type["book"]):
            self._namesakes_by_word(group)

    def _namesakes_by_word(self, group: list[Entity]) -> None:
        by_word: dict[str, Entity] = {}
        for e in group:
            key = " ".join(e.name.split()[:2])
            if key in by_word and self.rng.random() < self.cfg.namesakes * 2:
                self.link_namesakes(e, by_word[key])
            by_word[key] = e


def generate_world(seed: int = 0, num_docs: int = 500, **knobs: object) -> World:
    """Generate a world: entities, one document each, and questions of 1–4 hops.

    Args:
        seed: fixes the world; the same seed and knobs give byte-identical files.
        num_docs: number of entities and documents.
        **knobs: other `WorldConfig` fields (hops, distractors, namesakes, paraphrase, ...).

    >>> w = generate_world(seed=1, num_docs=200)
    >>> len(w.documents), w.questions[0].answers != []
    (200, True)
    """
    from agentgym.envs.worlds.questions import generate_questions
    from agentgym.envs.worlds.render import render_documents

    if "hops" in knobs:
        knobs["hops"] = tuple(knobs["hops"])  # type: ignore[arg-type]
    cfg = WorldConfig(seed=int(seed), num_docs=int(num_docs), **knobs)  # type: ignore[arg-type]
    start = time.perf_counter()
    rng = random.Random(cfg.seed)
    b = _Builder(cfg, rng)
    counts = _counts(cfg.num_docs)
    b.places(counts["country"], counts["city"])
    b.people(counts["person"])
    b.works(counts)
    order = list(range(len(b.entities)))
    rng.shuffle(order)
    for rank, i in enumerate(order):
        b.entities[i].doc_id = f"doc{rank:06d}"
    docs = render_documents(b.entities, cfg, rng)
    docs.sort(key=lambda d: d.id)
    params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(cfg).items() if k != "seed"}
    world = World(cfg.seed, params, b.entities, docs, [])
    world.questions = generate_questions(world, cfg, rng)
    log.info("generated %r in %.2f s", world, time.perf_counter() - start)
    return world
