"""The built-in GAIA-style task set: generated, fictional, offline.

A seeded mini-world of fictional cities and organisations is rendered to encyclopedia-style
documents (the search corpus); tasks combine search, arithmetic and reading a generated
attachment (CSV tables, Markdown reports, JSON), at GAIA levels 1–3:

- level 1: read the attachment and compute or list (no search);
- level 2: two searches (two facts, or a two-hop chain) plus arithmetic;
- level 3: read the attachment, then a two-hop search chain, then arithmetic.

Gold answers follow GAIA's style (plain numbers, comma-separated lists), and every task
carries a scripted plan of tool calls — the oracle. The set is written as a GAIA directory
(metadata.jsonl + attachments + corpus.jsonl) so the ordinary GAIA loader reads it.

The search issue's richer world (`agentgym.envs.worlds`) can replace the mini-world later:
`generate_builtin` only needs entities with the attributes used below.
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

__all__ = ["BUILTIN_VERSION", "MiniWorld", "builtin_dir", "generate_builtin", "make_world"]

BUILTIN_VERSION = "v1"
_ONSETS = ["b", "br", "c", "d", "dr", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "th", "v", "z"]
_VOWELS = ["a", "e", "i", "o", "u", "ae", "ou", "ia"]
_CODAS = ["", "", "n", "r", "s", "l", "nd", "rk", "m"]
_ORG_KINDS = ["Works", "Institute", "Guild", "Press", "Foundry", "Trust", "Company", "Society"]
_REGIONS = ["North", "South", "East", "West", "Central"]
_ITEMS = ["lanterns", "valves", "looms", "lenses", "clocks", "pumps"]


def _word(rng: random.Random) -> str:
    parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(rng.randint(2, 3))]
    return ("".join(parts) + rng.choice(_CODAS)).capitalize()


@dataclass
class City:
    name: str
    region: str
    population: int


@dataclass
class Org:
    name: str
    kind: str
    city: str
    founded: int
    employees: int
    director: str


@dataclass
class MiniWorld:
    cities: list[City]
    orgs: list[Org]

    def city(self, name: str) -> City:
        return next(c for c in self.cities if c.name == name)

    def documents(self) -> list[dict[str, str]]:
        """The search corpus: one encyclopedia-style article per entity."""
        docs = [
            {
                "id": f"city-{i}",
                "title": c.name,
                "text": f"{c.name} is a city in the {c.region} region. It has a population of {c.population} inhabitants.",
            }
            for i, c in enumerate(self.cities)
        ]
        docs += [
            {
                "id": f"org-{i}",
                "title": o.name,
                "text": (
                    f"The {o.name} is a {o.kind.lower()} headquartered in the city of {o.city}. It was founded in "
                    f"{o.founded}. It has {o.employees} employees, and its director is {o.director}."
                ),
            }
            for i, o in enumerate(self.orgs)
        ]
        return docs


def make_world(rng: random.Random, n_cities: int = 14, n_orgs: int = 24) -> MiniWorld:
    used: set[str] = set()

    def unique(make: Callable[[], str]) -> str:
        while (name := make()) in used:
            pass
        used.add(name)
        return name

    cities = [City(unique(lambda: _word(rng)), rng.choice(_REGIONS), rng.randint(20_000, 900_000)) for _ in range(n_cities)]
    orgs = [
        Org(
            unique(lambda: f"{_word(rng)} {rng.choice(_ORG_KINDS)}"),
            "",
            rng.choice(cities).name,
            rng.randint(1800, 1995),
            rng.randint(40, 4000),
            f"{_word(rng)} {_word(rng)}",
        )
        for _ in range(n_orgs)
    ]
    for o in orgs:
        o.kind = o.name.split()[-1]
    return MiniWorld(cities, orgs)


def _call(tool_name: str, /, **arguments: Any) -> dict[str, Any]:
    return {"name": tool_name, "arguments": arguments}


# Each generator: (rng, world, task index, out dir) -> metadata row (without task_id/Level).
def _csv_orders(rng: random.Random, world: MiniWorld, idx: int, out: Path) -> dict[str, Any]:
    cities = rng.sample(world.cities, 4)
    rows = [(f"O{100 + j}", rng.choice(cities[:3]).name, rng.choice(_ITEMS), rng.randint(1, 20), rng.randint(2, 90)) for j in range(8)]
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
    return {"Question": question, "Final answer": str(total), "file_name": fname, "plan": plan, "kind": "csv_sum", "hops": 0}


def _json_projects(rng: random.Random, world: MiniWorld, idx: int, out: Path) -> dict[str, Any]:
    names = sorted({f"Project {_word(rng)}" for _ in range(7)})
    projects = [{"name": n, "budget": rng.randint(5, 500) * 1000, "lead": rng.choice(world.orgs).name} for n in names]
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
    return {"Question": question, "Final answer": answer, "file_name": fname, "plan": [_call("read_file", name=fname)], "kind": "json_list", "hops": 0}


def _md_inspections(rng: random.Random, world: MiniWorld, idx: int, out: Path) -> dict[str, Any]:
    orgs = rng.sample(world.orgs, 5)
    p_fail = rng.choice([0.0, 0.3, 0.6])
    results = [(o.name, "failed" if rng.random() < p_fail else "passed") for o in orgs]
    fname = f"inspections_{idx}.md"
    lines = ["# Safety inspection report", "", *(f"- The inspection of the {n} {r}." for n, r in results)]
    (out / fname).write_text("\n".join(lines) + "\n")
    failed = sum(r == "failed" for _, r in results)
    question = "How many inspections in the attached report failed? Answer with a number."
    return {"Question": question, "Final answer": str(failed), "file_name": fname, "plan": [_call("read_file", name=fname)], "kind": "md_count", "hops": 0}


def _founding_gap(rng: random.Random, world: MiniWorld, idx: int, out: Path) -> dict[str, Any]:
    a, b = rng.sample(world.orgs, 2)
    hi, lo = max(a.founded, b.founded), min(a.founded, b.founded)
    plan = [_call("search", query=a.name), _call("search", query=b.name), _call("calculator", expression=f"{hi} - {lo}")]
    question = f"How many years passed between the founding of the {a.name} and the founding of the {b.name}?"
    return {"Question": question, "Final answer": str(hi - lo), "file_name": "", "plan": plan, "kind": "founding_gap", "hops": 2}


def _hq_population(rng: random.Random, world: MiniWorld, idx: int, out: Path) -> dict[str, Any]:
    org = rng.choice(world.orgs)
    plan = [_call("search", query=org.name), _call("search", query=org.city)]
    question = f"What is the population of the city where the {org.name} is headquartered?"
    answer = str(world.city(org.city).population)
    return {"Question": question, "Final answer": answer, "file_name": "", "plan": plan, "kind": "hq_population", "hops": 2}


def _grant_ratio(rng: random.Random, world: MiniWorld, idx: int, out: Path) -> dict[str, Any]:
    orgs = rng.sample(world.orgs, 5)
    grants = rng.sample(range(10, 400), len(orgs))
    fname = f"grants_{idx}.csv"
    with open(out / fname, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["organisation", "grant_thousands"])
        w.writerows((o.name, g) for o, g in zip(orgs, grants))
    top = orgs[grants.index(max(grants))]
    pop = world.city(top.city).population
    expr = f"round({pop} / {top.employees}, 2)"
    answer = str(round(pop / top.employees, 2))
    plan = [_call("read_file", name=fname), _call("search", query=top.name), _call("search", query=top.city), _call("calculator", expression=expr)]
    question = (
        "The attached file lists grants to organisations. Take the organisation that received the largest grant: "
        "how many inhabitants does the city where it is headquartered have per employee of that organisation? "
        "Round to two decimal places."
    )
    return {"Question": question, "Final answer": answer, "file_name": fname, "plan": plan, "kind": "grant_ratio", "hops": 2}


_GENERATORS: dict[int, list[Callable[..., dict[str, Any]]]] = {
    1: [_csv_orders, _json_projects, _md_inspections],
    2: [_founding_gap, _hq_population],
    3: [_grant_ratio],
}


def generate_builtin(out_dir: str | Path, *, n: int = 60, seed: int = 0) -> Path:
    """Write `n` tasks (levels cycling 1, 2, 3) as a GAIA directory under `out_dir`."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    world = make_world(rng)
    with open(out / "corpus.jsonl", "w") as f:
        for doc in world.documents():
            f.write(json.dumps(doc) + "\n")
    with open(out / "metadata.jsonl", "w") as f:
        for i in range(n):
            level = 1 + i % 3
            row = rng.choice(_GENERATORS[level])(rng, world, i, out)
            plan = row.pop("plan")
            tools = sorted({c["name"] for c in plan})
            record = {"task_id": f"builtin-{seed}-{i:04d}", "Level": level, **row, "tools": tools, "agentgym_oracle": plan}
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
