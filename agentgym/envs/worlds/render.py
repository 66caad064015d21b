"""Render entities to encyclopedia-style articles.

Every article opens with a short lede that states all of the entity's own facts (its
relations and attributes), so a snippet of the first few hundred characters always holds
what a question needs. Later paragraphs add reverse mentions (works, notable people),
near-namesake warnings and distractor facts with other names, years and places.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence

from agentgym.envs.worlds.model import Document, Entity

__all__ = ["ref", "render_documents"]

_ARTICLE_TYPES = ("river", "invention")


def ref(e: Entity) -> str:
    """How an entity is named inside a sentence ("the Varn River", "Velorin Tusk")."""
    return f"the {e.name}" if e.type in _ARTICLE_TYPES else e.name


def _a(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


class _Renderer:
    def __init__(self, entities: Sequence[Entity], cfg, rng: random.Random):
        self.ents = {e.id: e for e in entities}
        self.cfg = cfg
        self.rng = rng
        self.pool = list(entities)
        self.reverse: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for e in entities:
            for rel, target in e.rels.items():
                self.reverse[target].append((rel, e.id))

    def pick(self, *variants: str) -> str:
        """The first template, or with probability `paraphrase` another one."""
        if len(variants) > 1 and self.rng.random() < self.cfg.paraphrase:
            return self.rng.choice(variants[1:])
        return variants[0]

    def r(self, e: Entity, rel: str) -> Entity:
        return self.ents[e.rels[rel]]

    # ------------------------------------------------------------------ ledes, one per type
    def person(self, e: Entity) -> list[str]:
        a, city = e.attrs, ref(self.r(e, "born_in"))
        out = [
            self.pick(
                "{n} was {o} born in {y} in {c}.",
                "Born in {c} in {y}, {n} worked as {o}.",
                "{n}, {o}, was born in {c} in {y}.",
            ).format(n=e.name, o=_a(a["occupation"]), y=a["birth_year"], c=city)
        ]
        if "married_to" in e.rels:
            out.append(
                self.pick("{n} was married to {s}.", "{n} married {s}.", "The spouse of {n} was {s}.").format(
                    n=e.name, s=self.r(e, "married_to").name
                )
            )
        return out

    def city(self, e: Entity) -> list[str]:
        a, country = e.attrs, self.r(e, "located_in").name
        return [
            self.pick(
                "{n} is a city in {c}, founded in {y}.", "Founded in {y}, {n} is a city located in {c}."
            ).format(n=e.name, c=country, y=a["founded_year"]),
            f"It has about {a['population']} inhabitants.",
        ]

    def country(self, e: Entity) -> list[str]:
        a = e.attrs
        return [
            self.pick(
                "{n} is a country whose capital is {c}.", "The capital of the country {n} is {c}."
            ).format(n=e.name, c=self.r(e, "capital").name),
            f"Its currency is the {a['currency']}, and it was established in {a['founded_year']}.",
        ]

    def organization(self, e: Entity) -> list[str]:
        a = e.attrs
        return [
            self.pick(
                "{n} is an organisation founded by {f} in {y}.",
                "Founded in {y} by {f}, {n} is an organisation.",
            ).format(n=e.name, f=self.r(e, "founded_by").name, y=a["founded_year"]),
            self.pick("It is headquartered in {c}.", "Its headquarters are in {c}.").format(
                c=self.r(e, "headquartered_in").name
            )
            + f" It works in {a['industry']}.",
        ]

    def book(self, e: Entity) -> list[str]:
        a = e.attrs
        return [
            self.pick("{n} is {g} written by {w}.", "{n} is {g} by the writer {w}.").format(
                n=e.name, g=_a(a["genre"]), w=self.r(e, "written_by").name
            ),
            f"It was published in {a['published_year']}.",
        ]

    def river(self, e: Entity) -> list[str]:
        return [
            self.pick("{n} is a river that flows through {c}.", "{n} is a river in {c}.").format(
                n=_cap(ref(e)), c=self.r(e, "flows_through").name
            ),
            f"It is {e.attrs['length_km']} kilometres long.",
        ]

    def invention(self, e: Entity) -> list[str]:
        return [
            self.pick(
                "{n} is a device invented by {p} in {y}.", "{n} is a device that {p} invented in {y}."
            ).format(n=_cap(ref(e)), p=self.r(e, "invented_by").name, y=e.attrs["year"])
        ]

    # ------------------------------------------------------------------ later paragraphs
    def mentions(self, e: Entity) -> list[str]:
        """Reverse mentions: what points at this entity (capped so articles stay short)."""
        out = []
        back = self.reverse.get(e.id, [])
        for rel, label in (
            ("written_by", "wrote"),
            ("founded_by", "founded"),
            ("invented_by", "invented"),
        ):
            items = [ref(self.ents[i]) for r, i in back if r == rel][:2]
            if items:
                out.append(f"{e.name} {label} {' and '.join(items)}.")
        born = [self.ents[i].name for r, i in back if r == "born_in"][:2]
        if born:
            out.append(f"People born in {e.name} include {' and '.join(born)}.")
        cities = [self.ents[i].name for r, i in back if r == "located_in"][:3]
        if len(cities) > 1:
            out.append(f"Cities in {e.name} include {', '.join(cities)}.")
        return out

    def noise(self, e: Entity) -> list[str]:
        """Distractor facts: other names, years and places that answer nothing."""
        r = self.rng
        out = [f"{_cap(ref(e))} is not to be confused with {ref(self.ents[n])}." for n in e.namesakes[:1]]
        makers: list[Callable[[], str]] = [
            lambda: f"In {r.randint(1700, 2000)}, {ref(e)} was described by {ref(r.choice(self.pool))}.",
            lambda: (
                f"A survey in {r.randint(1800, 2000)} counted {r.randint(2, 900)} letters about {ref(e)}."
            ),
            lambda: (
                f"A portrait related to {ref(e)} was shown in {self._any('city').name} in {r.randint(1750, 2000)}."
            ),
            lambda: f"Some accounts wrongly link {ref(e)} with {ref(r.choice(self.pool))}.",
        ]
        for _ in range(self.cfg.distractors):
            out.append(r.choice(makers)())
        return out

    def _any(self, etype: str) -> Entity:
        while True:
            e = self.rng.choice(self.pool)
            if e.type == etype:
                return e

    def document(self, e: Entity) -> Document:
        lede = " ".join(getattr(self, e.type)(e))
        rest = " ".join(self.mentions(e) + self.noise(e))
        text = lede if not rest else f"{lede}\n{rest}"
        return Document(e.doc_id, e.name, text, e.id, e.type)


def render_documents(entities: Sequence[Entity], cfg, rng: random.Random) -> list[Document]:
    """One article per entity, in entity order (the caller sorts by doc id)."""
    renderer = _Renderer(entities, cfg, rng)
    return [renderer.document(e) for e in entities]
