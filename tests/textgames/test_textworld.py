"""TextWorld-v0: generation, caching, determinism and the env contract for every generator."""

from __future__ import annotations

import json

import numpy as np
import pytest

import agentgym
from agentgym.core.checks import check_contract
from agentgym.envs.textgames.textworld import GAMES, generate_game
from agentgym.errors import InvalidConfig


def make(cache, game, difficulty=1, **kw):
    return agentgym.make(
        "agentgym/TextWorld-v0", game=game, difficulty=difficulty, cache_dir=str(cache), **kw
    )


@pytest.mark.parametrize(
    "game",
    [
        "household",
        "coin_collector",
        pytest.param("cooking", marks=pytest.mark.slow),
        pytest.param("treasure_hunter", marks=pytest.mark.slow),
    ],
)
def test_contract_per_generator(tw_cache, game):
    """check_env, oracle wins, garbage actions, reproducibility, fork independence (2-game pool)."""
    results = check_contract(
        "agentgym/TextWorld-v0", seeds=(0, 1), game=game, difficulty=1, num_games=2, cache_dir=str(tw_cache)
    )
    failed = [r for r in results if not r.ok]
    assert not failed, failed


@pytest.mark.parametrize("game", ["cooking", "treasure_hunter"])
def test_oracle_wins_one_game(tw_cache, game):
    """The cheap default-suite check for the generators whose full contract test is slow."""
    assert _win_rate(tw_cache, game, 1, [0], "oracle", None) == 1.0


def test_games_are_cached_by_generator_difficulty_and_seed(tw_cache):
    path = generate_game("coin_collector", 1, 7, cache_dir=tw_cache)
    assert path.parent.name == "coin_collector-d1-s7" and path.is_file()
    mtime = path.stat().st_mtime_ns
    assert generate_game("coin_collector", 1, 7, cache_dir=tw_cache) == path
    assert path.stat().st_mtime_ns == mtime  # served from the cache, not regenerated


def _first_and_walkthrough(cache, game, seed):
    env = make(cache, game)
    obs, _ = env.reset(options={"task": f"{game}-d1-s{seed}"})
    walk = []
    for _ in range(50):
        action = env.unwrapped.oracle_action()
        walk.append(action)
        *_, term, trunc, _ = env.step(action)
        if term or trunc:
            break
    return obs, walk


@pytest.mark.parametrize("game", ["coin_collector", "household"])
def test_same_seed_same_game_across_caches(tw_cache, tmp_path, game):
    """Generating a seed again from scratch (empty cache) yields the same game."""
    a = _first_and_walkthrough(tw_cache, game, 11)
    b = _first_and_walkthrough(tmp_path, game, 11)
    assert a == b


def test_seed_picks_the_game(tw_cache):
    env = make(tw_cache, "household", num_games=3)
    ids = {env.reset(seed=s)[1]["task"]["id"] for s in range(12)}
    assert 1 < len(ids) <= 3
    assert env.reset(seed=4)[1]["task"]["id"] == env.reset(seed=4)[1]["task"]["id"]


def test_unknown_game_or_difficulty_is_a_config_error(tw_cache):
    with pytest.raises(InvalidConfig, match="treasure_hunter"):
        make(tw_cache, "treasure_hunt")
    with pytest.raises(InvalidConfig, match="1, 2 or 3"):
        make(tw_cache, "cooking", difficulty=4)
    with pytest.raises(InvalidConfig, match="cooking game only"):
        generate_game("coin_collector", 1, 0, split="train", cache_dir=tw_cache)


def _win_rate(cache, game, difficulty, seeds, policy, rng):
    env = make(cache, game, difficulty)
    wins = 0
    for s in seeds:
        env.reset(options={"task": f"{game}-d{difficulty}-s{s}"})
        admissible = env.unwrapped._game.admissible
        while True:
            if policy == "oracle":
                action = env.unwrapped.oracle_action()
            else:
                action = f"<action>{admissible[int(rng.integers(len(admissible)))]}</action>"
            *_, term, trunc, info = env.step(action)
            admissible = info["admissible_commands"] or ["look"]
            if term or trunc:
                wins += bool(info["won"])
                break
    env.close()
    return wins / len(seeds)


@pytest.mark.slow
@pytest.mark.parametrize("difficulty", [1, 2, 3])
@pytest.mark.parametrize("game", GAMES)
def test_oracle_wins_all_twenty_games_random_far_less(tw_cache, game, difficulty):
    seeds = range(100, 120)
    rng = np.random.default_rng(0)
    oracle = _win_rate(tw_cache, game, difficulty, seeds, "oracle", rng)
    random = _win_rate(tw_cache, game, difficulty, seeds, "random", rng)
    print(json.dumps({"game": game, "difficulty": difficulty, "oracle_win": oracle, "random_win": random}))
    assert oracle == 1.0
    assert random <= 0.6 and random < oracle


@pytest.mark.slow
@pytest.mark.parametrize("game", GAMES)
def test_fuzz_two_thousand_random_actions(tw_cache, fuzz, game):
    assert fuzz(make(tw_cache, game), 2000) == 2000


def test_interpreter_meta_commands_never_reach_the_game(tw_cache):
    """`quit`/`restart`/`undo` would leave the game's rules or wait for a yes/no forever."""
    env = make(tw_cache, "coin_collector")
    env.reset(seed=0)
    for cmd in ["quit", "restart", "undo", "save", "\\\\ help"]:
        obs, _, term, _, info = env.step(f"<action>{cmd}</action>")
        assert not term and "yes or no" not in obs and info["invalid_command"]
    for _ in range(30):
        *_, term, trunc, info = env.step(env.unwrapped.oracle_action())
        if term or trunc:
            break
    assert info["won"]
