"""The built-in GAIA-style task set: generated, fictional, offline.

Built over the search issue's generated world (`agentgym.envs.worlds`: fictional cities,
organisations and people rendered to encyclopedia articles, with near-namesakes) — the
articles are the search corpus — plus generated attachments (CSV tables, Markdown reports,
JSON). Tasks at GAIA levels 1–3:

- level 1: read the attachment and compute, count or list (no search);
- level 2: two searches (two facts, or a two-hop chain) plus arithmetic;
- level 3: read the attachment, then a two-hop search chain, then arithmetic.

Gold answers follow GAIA's style (plain numbers, comma-separated lists), and every task
carries a scripted plan of tool calls — the oracle. The set is written as a GAIA directory
(metadata.jsonl + attachments + corpus.jsonl) so the ordinary GAIA loader reads it.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentgym.envs.worlds import Entity, World, generate_world

__all__ = ["BUILTIN_VERSION", "Facts", "builtin_dir", "generate_builtin"]

BUILTIN_VERSION = "v2"
_ITEMS = ["lanterns", "valves", "looms", "lenses", "clocks", "pumps"]
_PROJECT_WORDS = [
    "Atlas",
    "Beacon",
    "Cinder",
    "Delta",
    "Ember",
    "Falcon",
    "Garnet",
    "Harbor",
    "Iris",
    "Juniper",
    "Kestrel",
    "Lumen",
]


@dataclass
class Facts:
    """The slice of a generated world the templates use: organisations and the cities they sit in."""

    world: World
    orgs: list[Entity]
    cities: list[Entity]

    @classmethod
    def of(cls, world: World) -> Facts:
        by_type = lambda t: [e for e in world.entities if e.type == t]  # noqa: E731
        return cls(
            world, [o for o in by_type("organization") if "headquartered_in" in o.rels], by_type("city")
        )

    def city_of(self, org: Entity) -> Entity:
        return self.world.entity(org.rels["headquartered_in"])

    def corpus_rows(self) -> list[dict[str, str]]:
        return [{"id": d.id, "title": d.title, "text": d.text} for d in self.world.documents]


def _call(tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    return {"name": tool_name, "arguments": arguments}


# Each generator: (rng, world, task index, out dir) -> metadata row (without task_id/Level).
def _csv_orders(rng: random.Random, world: Facts, idx: int, out: Path) -> dict[str, Any]:
    cities = rng.sample(world.cities, 4)
    rows = [
        (
            f"O{100 + j}",
            rng.choice(cities[:3]).name,
            rng.choice(_ITEMS),
            rng.randint(1, 20),
            rng.randint(2, 90),
        )
        for j in range(8)
    ]
    target = cities[3].name if rng.random() < 0.3 else rows[0][1]  # sometimes a city with no orders: gold 0
    fname = f"orders_{idx}.csv"
    with open(out / fname, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "ship_to", "item", "quantity", "unit_price"])
        w.writerows(rows)
    picked = [r for r in rows if r[1] == target]
    total = sum(q * p for *_, q, p in picked)
    plan = [_call("read_file", name=fname)]
    if picked:
        plan.append(_call("calculator", expression=" + ".join(f"{q} * {p}" for *_, q, p in picked)))
    question = (
        f"The attached file lists orders. What is the total value (quantity times unit price) of all orders "
        f"shipped to {target}? Answer with a number."
    )
    return {
        "Question": question,
        "Final answer": str(total),
        "file_name": fname,
        "plan": plan,
        "kind": "csv_sum",
        "hops": 0,
    }


def _json_projects(rng: random.Random, world: Facts, idx: int, out: Path) -> dict[str, Any]:
    names = sorted(f"Project {w}" for w in rng.sample(_PROJECT_WORDS, 7))
    projects = [
        {"name": n, "budget": rng.randint(5, 500) * 1000, "lead": rng.choice(world.orgs).name} for n in names
    ]
    rng.shuffle(projects)
    budgets = sorted(p["budget"] for p in projects)
    threshold = budgets[len(budgets) // 2]
    fname = f"projects_{idx}.json"
    (out / fname).write_text(json.dumps({"projects": projects}, indent=1))
    answer = ", ".join(sorted(p["name"] for p in projects if p["budget"] > threshold))
    question = (
        f"According to the attached file, which projects have a budget above {threshold}? "
        "List their names in alphabetical order, separated by commas."
    )
    return {
        "Question": question,
        "Final answer": answer,
        "file_name": fname,
        "plan": [_call("read_file", name=fname)],
        "kind": "json_list",
        "hops": 0,
    }


def _md_inspections(rng: random.Random, world: Facts, idx: int, out: Path) -> dict[str, Any]:
    orgs = rng.sample(world.orgs, 5)
    p_fail = rng.choice([0.0, 0.3, 0.6])
    results = [(o.name, "failed" if rng.random() < p_fail else "passed") for o in orgs]
    fname = f"inspections_{idx}.md"
    lines = ["# Safety inspection report", "", *(f"- The inspection of the {n} {r}." for n, r in results)]
    (out / fname).write_text("\n".join(lines) + "\n")
    failed = sum(r == "failed" for _, r in results)
    question = "How many inspections in the attached report failed? Answer with a number."
    return {
        "Question": question,
        "Final answer": str(failed),
        "file_name": fname,
        "plan": [_call("read_file", name=fname)],
        "kind": "md_count",
        "hops": 0,
    }


def _founding_gap(rng: random.Random, world: Facts, idx: int, out: Path) -> dict[str, Any]:
    a, b = rng.sample(world.orgs, 2)
    ya, yb = a.attrs["founded_year"], b.attrs["founded_year"]
    hi, lo = max(ya, yb), min(ya, yb)
    plan = [
        _call("search", query=a.name),
        _call("search", query=b.name),
        _call("calculator", expression=f"{hi} - {lo}"),
    ]
    question = f"How many years passed between the founding of the {a.name} and the founding of the {b.name}?"
    return {
        "Question": question,
        "Final answer": str(hi - lo),
        "file_name": "",
        "plan": plan,
        "kind": "founding_gap",
        "hops": 2,
    }


def _hq_population(rng: random.Random, world: Facts, idx: int, out: Path) -> dict[str, Any]:
    org = rng.choice(world.orgs)
    city = world.city_of(org)
    plan = [_call("search", query=org.name), _call("search", query=city.name)]
    question = f"What is the population of the city where the {org.name} is headquartered?"
    answer = str(city.attrs["population"])
    return {
        "Question": question,
        "Final answer": answer,
        "file_name": "",
        "plan": plan,
        "kind": "hq_population",
        "hops": 2,
    }


def _founder_age(rng: random.Random, world: Facts, idx: int, out: Path) -> dict[str, Any]:
    org = rng.choice([o for o in world.orgs if "founded_by" in o.rels])
    founder = world.world.entity(org.rels["founded_by"])
    age = org.attrs["founded_year"] - founder.attrs["birth_year"]
    expr = f"{org.attrs['founded_year']} - {founder.attrs['birth_year']}"
    plan = [
        _call("search", query=org.name),
        _call("search", query=founder.name),
        _call("calculator", expression=expr),
    ]
    question = f"How many years after the birth of its founder was the {org.name} founded?"
    return {
        "Question": question,
        "Final answer": str(age),
        "file_name": "",
        "plan": plan,
        "kind": "founder_age",
        "hops": 2,
    }


def _grant_ratio(rng: random.Random, world: Facts, idx: int, out: Path) -> dict[str, Any]:
    orgs = rng.sample(world.orgs, 5)
    grants = rng.sample(range(10, 400), len(orgs))
    fname = f"grants_{idx}.csv"
    with open(out / fname, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["organisation", "grant_thousands"])
        w.writerows((o.name, g) for o, g in zip(orgs, grants, strict=True))
    top = orgs[grants.index(max(grants))]
    city = world.city_of(top)
    pop, grant = city.attrs["population"], max(grants)
    expr = f"round({pop} / {grant}, 2)"
    answer = str(round(pop / grant, 2))
    plan = [
        _call("read_file", name=fname),
        _call("search", query=top.name),
        _call("search", query=city.name),
        _call("calculator", expression=expr),
    ]
    question = (
        "The attached file lists grants (in thousands) to organisations. Take the organisation that received the "
        "largest grant: how many inhabitants does the city where it is headquartered have per thousand of that grant? "
        "Round to two decimal places."
    )
    return {
        "Question": question,
        "Final answer": answer,
        "file_name": fname,
        "plan": plan,
        "kind": "grant_ratio",
        "hops": 2,
    }


_GENERATORS: dict[int, list[Callable[..., dict[str, Any]]]] = {
    1: [_csv_orders, _json_projects, _md_inspections],
    2: [_founding_gap, _hq_population, _founder_age],
    3: [_grant_ratio],
}


def generate_builtin(out_dir: str | Path, *, n: int = 60, seed: int = 0, num_docs: int = 200) -> Path:
    """Write `n` tasks (levels cycling 1, 2, 3) over a `num_docs`-article world as a GAIA directory."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    world = Facts.of(generate_world(seed=seed, num_docs=num_docs))
    with open(out / "corpus.jsonl", "w") as f:
        for row in world.corpus_rows():
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(out / "metadata.jsonl", "w") as f:
        for i in range(n):
            level = 1 + i % 3
            row = rng.choice(_GENERATORS[level])(rng, world, i, out)
            plan = row.pop("plan")
            tools = sorted({c["name"] for c in plan})
            record = {
                "task_id": f"builtin-{seed}-{i:04d}",
                "Level": level,
                **row,
                "tools": tools,
                "agentgym_oracle": plan,
            }
            f.write(json.dumps(record) + "\n")
    return out


def _cache_root() -> Path:
    env = os.environ.get("AGENTGYM_CACHE")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("agentgym"))


def builtin_dir(*, n: int = 60, seed: int = 0) -> Path:
    """The cached built-in set for (`n`, `seed`), generated on first use (atomically)."""
    target = _cache_root() / "gaia-builtin" / f"{BUILTIN_VERSION}-seed{seed}-n{n}"
    if (target / "metadata.jsonl").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-"))
    generate_builtin(tmp, n=n, seed=seed)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race; its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)
    return target
