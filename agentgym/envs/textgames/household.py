"""Household games in the ALFWorld format, generated from a seed.

ALFWorld ships each game as a directory holding ``game.tw-pddl`` (JSON: a PDDL domain, a PDDL
problem and a TextWorld grammar) and ``traj_data.json`` (the task type and its arguments);
TextWorld's `PddlEnv` plays them. This module writes games of the same shape from its own small
household domain: receptacles to go to, open and close (cabinets, a fridge, a microwave, a
sink basin, ...), objects to take, move, clean, heat, cool or look at under a desk lamp, and the
six ALFWorld task types (``put a clean mug in cabinet.``, ``look at book under the desklamp.``).

Object ids follow ALFWorld's mangled convention (``mug_bar__plus_00_dot_41_bar_...``), so the
same name-demangling code serves generated and real ALFWorld games.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from agentgym.errors import InvalidConfig

__all__ = [
    "DIFFICULTY_TASK_TYPES",
    "TASK_TYPES",
    "HouseholdSpec",
    "build_household_game",
    "generate_household",
    "write_alfworld_dataset",
    "write_household_game",
]

TASK_TYPES: tuple[str, ...] = (
    "pick_and_place_simple",
    "look_at_obj_in_light",
    "pick_clean_then_place_in_recep",
    "pick_heat_then_place_in_recep",
    "pick_cool_then_place_in_recep",
    "pick_two_obj_and_place",
)
DIFFICULTY_TASK_TYPES: dict[int, tuple[str, ...]] = {1: TASK_TYPES[:2], 2: TASK_TYPES[:5], 3: TASK_TYPES}
# receptacles, distractor objects, chance that an object starts in a closed receptacle
_DIFFICULTY = {1: (4, 2, 0.0), 2: (7, 5, 0.5), 3: (10, 9, 0.8)}

DOMAIN = """
(define (domain agentgym_household)
 (:requirements :adl :typing :equality)
 (:types agent receptacle object otype rtype)
 (:predicates
  (inMiddleOfRoom ?a - agent) (atReceptacle ?a - agent ?r - receptacle) (inReceptacle ?o - object ?r - receptacle)
  (openable ?r - receptacle) (opened ?r - receptacle)
  (holds ?a - agent ?o - object) (holdsAny ?a - agent) (pickupable ?o - object)
  (objectType ?o - object ?t - otype) (receptacleType ?r - receptacle ?t - rtype)
  (isSink ?r - receptacle) (isMicrowave ?r - receptacle) (isFridge ?r - receptacle)
  (cleanable ?o - object) (heatable ?o - object) (coolable ?o - object)
  (isClean ?o - object) (isHot ?o - object) (isCool ?o - object)
  (toggleable ?o - object) (isToggled ?o - object)
  (looked ?a - agent) (checkedInventory ?a - agent) (examined ?r - receptacle) (examinedObject ?o - object))
 (:action look :parameters (?a - agent) :precondition (not (looked ?a)) :effect (looked ?a))
 (:action inventory :parameters (?a - agent) :precondition (not (checkedInventory ?a)) :effect (checkedInventory ?a))
 (:action GotoLocation :parameters (?a - agent ?r - receptacle)
  :precondition (not (atReceptacle ?a ?r))
  :effect (and (forall (?x - receptacle) (not (atReceptacle ?a ?x))) (not (inMiddleOfRoom ?a)) (atReceptacle ?a ?r)))
 (:action examineReceptacle :parameters (?a - agent ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (not (examined ?r))) :effect (examined ?r))
 (:action examineObject :parameters (?a - agent ?o - object)
  :precondition (and (holds ?a ?o) (not (examinedObject ?o))) :effect (examinedObject ?o))
 (:action OpenObject :parameters (?a - agent ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (openable ?r) (not (opened ?r))) :effect (opened ?r))
 (:action CloseObject :parameters (?a - agent ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (openable ?r) (opened ?r)) :effect (not (opened ?r)))
 (:action PickupObject :parameters (?a - agent ?o - object ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (inReceptacle ?o ?r) (pickupable ?o) (not (holdsAny ?a))
                     (or (not (openable ?r)) (opened ?r)))
  :effect (and (not (inReceptacle ?o ?r)) (holds ?a ?o) (holdsAny ?a)))
 (:action PutObject :parameters (?a - agent ?o - object ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (holds ?a ?o) (or (not (openable ?r)) (opened ?r)))
  :effect (and (inReceptacle ?o ?r) (not (holds ?a ?o)) (not (holdsAny ?a))))
 (:action CleanObject :parameters (?a - agent ?o - object ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (holds ?a ?o) (isSink ?r) (cleanable ?o) (not (isClean ?o)))
  :effect (isClean ?o))
 (:action HeatObject :parameters (?a - agent ?o - object ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (holds ?a ?o) (isMicrowave ?r) (heatable ?o) (not (isHot ?o)))
  :effect (and (isHot ?o) (not (isCool ?o))))
 (:action CoolObject :parameters (?a - agent ?o - object ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (holds ?a ?o) (isFridge ?r) (coolable ?o) (not (isCool ?o)))
  :effect (and (isCool ?o) (not (isHot ?o))))
 (:action ToggleObject :parameters (?a - agent ?o - object ?r - receptacle)
  :precondition (and (atReceptacle ?a ?r) (inReceptacle ?o ?r) (toggleable ?o) (not (isToggled ?o)))
  :effect (isToggled ?o))
)
"""

_GRAMMAR_HEAD = r'''
grammar :: """
{
  "intro": [{"rhs": "-= Welcome to TextWorld, ALFRED! =-\n\n#room.overview#\n\n#task#"}],
  "task": [{"rhs": "Your task is to: GOAL_TEXT"}],
  "room.overview": [{"rhs": "You are in the middle of a room. Looking quickly around you, you see [{r.indefinite + ' ' + r.name | receptacletype(r:receptacle, t:rtype)}]."}],
  "contents": [
    {"condition": "openable(r:receptacle) & opened(r:receptacle)", "rhs": "The {r.name} is open. In it, you see [{o.indefinite + ' ' + o.name | inreceptacle(o:object, r:receptacle)}]."},
    {"condition": "openable(r:receptacle)", "rhs": "The {r.name} is closed."},
    {"rhs": "On the {r.name}, you see [{o.indefinite + ' ' + o.name | inreceptacle(o:object, r:receptacle)}]."}],
  "list_empty": [{"rhs": "nothing"}],
  "list_separator": [{"rhs": ", "}],
  "list_last_separator": [{"rhs": ", and "}]
}
""";
'''
_ACTIONS = {
    "look": ("look", "#room.overview#"),
    "inventory": ("inventory", None),
    "GotoLocation": ("go to {r}", "You arrive at {r.name}. #contents#"),
    "examineReceptacle": ("examine {r}", "#contents#"),
    "examineObject": ("examine {o}", None),
    "OpenObject": ("open {r}", "You open the {r.name}. #contents#"),
    "CloseObject": ("close {r}", "You close the {r.name}."),
    "PickupObject": ("take {o} from {r}", "You pick up the {o.name} from the {r.name}."),
    "PutObject": ("move {o} to {r}", "You move the {o.name} to the {r.name}."),
    "CleanObject": ("clean {o} with {r}", "You clean the {o.name} using the {r.name}."),
    "HeatObject": ("heat {o} with {r}", "You heat the {o.name} using the {r.name}."),
    "CoolObject": ("cool {o} with {r}", "You cool the {o.name} using the {r.name}."),
    "ToggleObject": ("use {o}", "You turn on the {o.name}."),
}
_CONDITIONAL = {
    "inventory": [
        (
            "holdsany(a:agent)",
            "You are carrying: [{o.indefinite + ' ' + o.name | holds(a:agent, o:object)}].",
        ),
        (None, "You are not carrying anything."),
    ],
    "examineObject": [
        ("ishot(o:object)", "This is a hot {o.name}."),
        ("iscool(o:object)", "This is a cool {o.name}."),
        ("isclean(o:object)", "This is a clean {o.name}."),
        (None, "There's nothing special about {o.name}."),
    ],
}


def _grammar(goal: str) -> str:
    blocks = [_GRAMMAR_HEAD.replace("GOAL_TEXT", goal)]
    for name, (template, feedback) in _ACTIONS.items():
        key = f"{name}.feedback"
        rules = _CONDITIONAL.get(name) or [(None, feedback)]
        alts = [{"rhs": rhs} if cond is None else {"condition": cond, "rhs": rhs} for cond, rhs in rules]
        body = json.dumps({key: alts})
        blocks.append(
            f'action {name} {{ template :: "{template}"; feedback :: "#{key}#"; grammar :: """{body}"""; }}'
        )
    return "\n".join(blocks)


# class -> properties; receptacle classes: (openable, special kind)
RECEPTACLES: dict[str, tuple[bool, str | None]] = {
    "cabinet": (True, None),
    "drawer": (True, None),
    "countertop": (False, None),
    "diningtable": (False, None),
    "shelf": (False, None),
    "sidetable": (False, None),
    "desk": (False, None),
    "garbagecan": (False, None),
    "fridge": (True, "isFridge"),
    "microwave": (True, "isMicrowave"),
    "sinkbasin": (False, "isSink"),
}
OBJECTS: dict[str, tuple[str, ...]] = {
    "mug": ("cleanable", "heatable", "coolable"),
    "apple": ("cleanable", "heatable", "coolable"),
    "potato": ("cleanable", "heatable", "coolable"),
    "egg": ("heatable", "coolable"),
    "tomato": ("cleanable", "heatable", "coolable"),
    "plate": ("cleanable", "heatable", "coolable"),
    "bowl": ("cleanable", "heatable", "coolable"),
    "cup": ("cleanable", "heatable", "coolable"),
    "fork": ("cleanable",),
    "spoon": ("cleanable",),
    "knife": ("cleanable",),
    "lettuce": ("cleanable", "coolable"),
    "book": (),
    "cellphone": (),
    "alarmclock": (),
    "pen": (),
    "keychain": (),
    "creditcard": (),
}
_NEEDS = {
    "pick_clean_then_place_in_recep": ("cleanable", "sinkbasin"),
    "pick_heat_then_place_in_recep": ("heatable", "microwave"),
    "pick_cool_then_place_in_recep": ("coolable", "fridge"),
}
_PLACE_TARGETS = (
    "cabinet",
    "drawer",
    "countertop",
    "diningtable",
    "shelf",
    "sidetable",
    "desk",
    "garbagecan",
)
_GOAL_TEXT = {
    "pick_and_place_simple": "put a {o} in {r}.",
    "look_at_obj_in_light": "look at {o} under the desklamp.",
    "pick_clean_then_place_in_recep": "put a clean {o} in {r}.",
    "pick_heat_then_place_in_recep": "put a hot {o} in {r}.",
    "pick_cool_then_place_in_recep": "put a cool {o} in {r}.",
    "pick_two_obj_and_place": "put two {o} in {r}.",
}


def _mangle(cls: str, rng: np.random.Generator, suffix: str = "") -> str:
    """An ALFWorld-style object id: class plus three mangled coordinates."""
    coords = []
    for _ in range(3):
        v = float(rng.uniform(-3, 3))
        coords.append(("_plus_" if v >= 0 else "_minus_") + f"{abs(v):05.2f}".replace(".", "_dot_"))
    return "_bar_".join([cls, *coords]) + (f"_bar_{suffix}" if suffix else "")


@dataclass
class HouseholdSpec:
    """One generated game: what `write_household_game` stores."""

    task_type: str
    goal: str
    problem: str
    grammar: str
    pddl_params: dict[str, Any]


def _goal_pddl(task_type: str, otype: str, rtype: str) -> str:
    if task_type == "look_at_obj_in_light":
        return (
            f"(exists (?o - object ?l - object ?r - receptacle) (and (objectType ?o {otype}) (holds agent1 ?o) "
            "(toggleable ?l) (isToggled ?l) (inReceptacle ?l ?r) (atReceptacle agent1 ?r)))"
        )
    if task_type == "pick_two_obj_and_place":
        return (
            f"(exists (?o1 - object ?o2 - object ?r - receptacle) (and (not (= ?o1 ?o2)) (objectType ?o1 {otype}) "
            f"(objectType ?o2 {otype}) (receptacleType ?r {rtype}) (inReceptacle ?o1 ?r) (inReceptacle ?o2 ?r)))"
        )
    state = {
        "pick_clean_then_place_in_recep": "(isClean ?o)",
        "pick_heat_then_place_in_recep": "(isHot ?o)",
        "pick_cool_then_place_in_recep": "(isCool ?o)",
    }.get(task_type, "")
    return (
        f"(exists (?o - object ?r - receptacle) (and (objectType ?o {otype}) (receptacleType ?r {rtype}) "
        f"{state} (inReceptacle ?o ?r)))"
    )


def _render_problem(
    name: str,
    receps: list[str],
    objects: list[str],
    otypes: list[str],
    rtypes: list[str],
    facts: list[str],
    goal: str,
) -> str:
    return (
        f"(define (problem {name}) (:domain agentgym_household)\n"
        f" (:objects agent1 - agent\n  {' '.join(receps)} - receptacle\n  {' '.join(objects)} - object\n"
        f"  {' '.join(otypes)} - otype {' '.join(rtypes)} - rtype)\n"
        f" (:init\n  " + "\n  ".join(facts) + f")\n (:goal {goal}))\n"
    )


def generate_household(seed: int, difficulty: int = 1, task_type: str | None = None) -> HouseholdSpec:
    """Generate one solvable-by-construction household game from `seed`."""
    if difficulty not in _DIFFICULTY:
        raise InvalidConfig(f"household difficulty must be 1, 2 or 3, got {difficulty!r}")
    if task_type is not None and task_type not in TASK_TYPES:
        raise InvalidConfig(f"task_type must be one of {TASK_TYPES}, got {task_type!r}")
    rng = np.random.default_rng([seed, difficulty, 7919])
    n_recep, n_distract, p_closed = _DIFFICULTY[difficulty]
    task_type = task_type or str(rng.choice(DIFFICULTY_TASK_TYPES[difficulty]))
    # receptacles: the task's appliance, its target, then random fillers (repeats get numbers)
    target_cls = str(rng.choice(_PLACE_TARGETS))
    classes = [target_cls]
    need_prop, appliance = _NEEDS.get(task_type, (None, None))
    if appliance:
        classes.append(appliance)
    if task_type == "look_at_obj_in_light":
        classes.append(str(rng.choice(["sidetable", "desk"])))
    classes.append(str(rng.choice([c for c in _PLACE_TARGETS if c != target_cls])))  # a start for objects
    while len(classes) < n_recep + 1:
        classes.append(str(rng.choice(list(RECEPTACLES))))
    receps = [(c, _mangle(c, rng, "sinkbasin" if c == "sinkbasin" else "")) for c in classes]
    receps = [(c, rid.replace("sinkbasin_bar_", "sink_bar_", 1)) for c, rid in receps]
    # objects: the target kind (two of them for pick_two) plus distractors of other kinds
    kinds = [k for k, props in OBJECTS.items() if need_prop is None or need_prop in props]
    okind = str(rng.choice(kinds))
    n_target = 2 if task_type == "pick_two_obj_and_place" else 1
    others = [k for k in OBJECTS if k != okind]
    objects = [(okind, _mangle(okind, rng)) for _ in range(n_target)]
    objects += [(k, _mangle(k, rng)) for k in rng.choice(others, size=n_distract, replace=True).tolist()]
    # place objects anywhere but in the target's class, so the goal does not hold at the start
    homes = [rid for c, rid in receps if c != target_cls and c not in ("microwave", "sinkbasin")]
    facts: list[str] = ["(inMiddleOfRoom agent1)"]
    lamp_home = None
    if task_type == "look_at_obj_in_light":
        lamp_home = next(rid for c, rid in receps if c in ("sidetable", "desk"))
    for _, oid in objects:
        facts.append(f"(inReceptacle {oid} {homes[int(rng.integers(len(homes)))]})")
    for c, rid in receps:
        openable, special = RECEPTACLES[c]
        facts.append(f"(receptacleType {rid} {c.capitalize()}Type)")
        if openable:
            facts.append(f"(openable {rid})")
            if rng.random() >= p_closed:
                facts.append(f"(opened {rid})")
        if special:
            facts.append(f"({special} {rid})")
    for kind, oid in objects:
        facts += [f"(objectType {oid} {kind.capitalize()}Type)", f"(pickupable {oid})"]
        facts += [f"({p} {oid})" for p in OBJECTS[kind]]
    obj_ids = [oid for _, oid in objects]
    if lamp_home is not None:
        lamp = _mangle("desklamp", rng)
        obj_ids.append(lamp)
        facts += [
            f"(inReceptacle {lamp} {lamp_home})",
            f"(toggleable {lamp})",
            f"(objectType {lamp} DesklampType)",
        ]
    otypes = sorted(
        {f"{k.capitalize()}Type" for k, _ in objects} | ({"DesklampType"} if lamp_home else set())
    )
    rtypes = sorted({f"{c.capitalize()}Type" for c, _ in receps})
    goal_pddl = _goal_pddl(task_type, okind.capitalize() + "Type", target_cls.capitalize() + "Type")
    problem = _render_problem(
        f"household_{seed}_{difficulty}", [r for _, r in receps], obj_ids, otypes, rtypes, facts, goal_pddl
    )
    goal = _GOAL_TEXT[task_type].format(o=okind, r=target_cls)
    params = {
        "object_target": okind,
        "parent_target": target_cls,
        "toggle_target": "desklamp" if lamp_home else "",
    }
    return HouseholdSpec(task_type, goal, problem, _grammar(goal), params)


def write_household_game(
    spec: HouseholdSpec, directory: str | Path, walkthrough: list[str] | None = None
) -> Path:
    """Write `spec` as an ALFWorld game directory; return the path of its ``game.tw-pddl``."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    game = {"pddl_domain": DOMAIN, "grammar": spec.grammar, "pddl_problem": spec.problem, "solvable": True}
    if walkthrough is not None:
        game["walkthrough"] = walkthrough
    (out / "game.tw-pddl").write_text(json.dumps(game))
    traj = {
        "task_type": spec.task_type,
        "pddl_params": spec.pddl_params,
        "goal": spec.goal,
        "generator": "agentgym",
    }
    (out / "traj_data.json").write_text(json.dumps(traj, indent=1))
    return out / "game.tw-pddl"


def build_household_game(
    directory: str | Path, seed: int, difficulty: int = 1, task_type: str | None = None
) -> Path:
    """Generate, solve (Fast Downward) and write one game with its walkthrough; return its path."""
    from agentgym.core.env import Task
    from agentgym.envs.textgames.pddl import PddlBackend

    spec = generate_household(seed, difficulty, task_type)
    path = write_household_game(spec, directory)
    backend = PddlBackend()
    try:
        backend.restart(Task("probe", "", private={"game_file": str(path)}))
        plan = backend.plan()
    finally:
        backend.close()
    if not plan:
        raise RuntimeError(
            f"household game (difficulty {difficulty}, seed {seed}) has no solution; please report it"
        )
    return write_household_game(spec, directory, walkthrough=plan)


def write_alfworld_dataset(
    root: str | Path,
    *,
    split: str = "train",
    seeds: Iterable[int] = (0,),
    task_types: Iterable[str] = TASK_TYPES,
    difficulty: int = 2,
    walkthrough: bool = True,
) -> list[Path]:
    """Write household games laid out like ALFWorld's data (``json_2.1.1/<split>/<task>/<trial>``).

    Useful to try `agentgym/ALFWorld-v0` (``data_dir=root``) without the real game files, and in
    tests. With ``walkthrough=False`` the files carry no gold path and the expert replans.
    """
    paths = []
    for task_type in task_types:
        for seed in seeds:
            spec = generate_household(seed, difficulty, task_type)
            name = f"{task_type}-{spec.pddl_params['object_target']}-None-{spec.pddl_params['parent_target']}-{seed}"
            trial = Path(root) / "json_2.1.1" / split / name / f"trial_T{seed:06d}"
            if walkthrough:
                paths.append(build_household_game(trial, seed, difficulty, task_type))
            else:
                paths.append(write_household_game(spec, trial))
    return paths
