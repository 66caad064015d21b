"""Fictional names: syllable-built, deterministic per rng, unique within a world.

Names are invented so no pretrained model has seen the facts about them. Near-namesakes are
made on purpose: people share given names and surnames, organisations and books share words,
so a retriever (or an agent) that matches only part of a name is led astray.
"""

from __future__ import annotations

import random

__all__ = ["NameMaker"]

# fmt: off
_ONSETS = [
    "b", "br", "c", "d", "dr", "f", "g", "h", "k", "kr", "l", "m", "n", "p", "r", "s", "sh", "t", "th", "v", "z",
]
_VOWELS = [
    "a", "e", "i", "o", "u", "ae", "ei", "ou", "ia",
]
_CODAS = [
    "", "", "n", "r", "s", "l", "th", "nd", "rk", "m", "x", "sk",
]
ADJECTIVES = [
    "Amber", "Ashen", "Blue", "Bright", "Copper", "Crimson", "Distant", "Emerald", "Fallen", "Gilded", "Glass", "Golden",
    "Grey", "Hidden", "Hollow", "Iron", "Ivory", "Jade", "Last", "Lonely", "Lunar", "Northern", "Pale", "Quiet",
    "Red", "Salt", "Scarlet", "Second", "Silent", "Silver", "Stone", "Sunken", "Velvet", "White", "Winter",
]
NOUNS = [
    "Anchor", "Archive", "Bell", "Bridge", "Candle", "Compass", "Crown", "Engine", "Falcon", "Feather", "Garden", "Harbour",
    "Heron", "Horizon", "Lantern", "Lighthouse", "Meadow", "Mill", "Mirror", "Orchard", "Raven", "River", "Shadow", "Signal",
    "Spire", "Star", "Storm", "Tide", "Tower", "Valley", "Voyage", "Willow", "Wolf",
]
ORG_SUFFIXES = [
    "Works", "Company", "Society", "Institute", "Guild", "Press", "Foundry", "Trust", "Union", "Bank",
]
DEVICES = [
    "engine", "loom", "lamp", "press", "telescope", "clock", "pump", "valve", "kiln", "compass", "lens", "drill",
]
# fmt: on


class NameMaker:
    """Makes unique fictional names from one `random.Random`."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def word(self, min_syl: int = 2, max_syl: int = 3) -> str:
        """A pronounceable capitalised word such as `Velorin`."""
        while True:  # at least 4 letters, so no name is a stopword ("To", "Me") for BM25
            n = self.rng.randint(min_syl, max_syl)
            parts = [self.rng.choice(_ONSETS) + self.rng.choice(_VOWELS) for _ in range(n)]
            parts.append(self.rng.choice(_CODAS))
            word = "".join(parts)
            if len(word) >= 4:
                return word.capitalize()

    def unique(self, make, tries: int = 200) -> str:
        """Call `make()` until it returns a name not used yet in this world."""
        for _ in range(tries):
            name = make()
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("could not find a fresh name; the name space is exhausted")

    def pool(self, size: int, min_syl: int = 2, max_syl: int = 3) -> list[str]:
        """`size` distinct words (given names or surnames shared by several people)."""
        seen: list[str] = []
        have: set[str] = set()
        while len(seen) < size:
            w = self.word(min_syl, max_syl)
            if w not in have:
                have.add(w)
                seen.append(w)
        return seen

    def compound(self, first: list[str], second: list[str], fmt: str = "{} {}") -> str:
        return self.unique(lambda: fmt.format(self.rng.choice(first), self.rng.choice(second)))
