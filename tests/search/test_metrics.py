"""Table-driven tests of the SQuAD-normalised answer metrics."""

from __future__ import annotations

import pytest

from agentgym.eval.metrics import cover_exact_match, exact_match, f1_score, normalize_answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Eiffel Tower", "eiffel tower"),
        ("  an   apple, a pie!  ", "apple pie"),
        ("THE the The", ""),
        ("Osk.", "osk"),
        ("theatre", "theatre"),  # articles only as whole words
        ("1,843", "1843"),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


@pytest.mark.parametrize(
    ("pred", "gold", "em", "cover", "f1"),
    [
        ("Osk", ["osk"], 1.0, 1.0, 1.0),
        ("the city of Osk", ["Osk"], 0.0, 1.0, 0.5),
        ("Oskar", ["Osk"], 0.0, 0.0, 0.0),
        ("Velorin Tusk", ["Marda Tusk", "Velorin Tusk"], 1.0, 1.0, 1.0),
        ("Tusk", ["Velorin Tusk"], 0.0, 0.0, 2 / 3),
        ("", ["Osk"], 0.0, 0.0, 0.0),
        ("1843", "1843", 1.0, 1.0, 1.0),
        ("born in 1843 in Osk", ["1843"], 0.0, 1.0, 2 / 6),
    ],
)
def test_metrics_table(pred, gold, em, cover, f1):
    assert exact_match(pred, gold) == em
    assert cover_exact_match(pred, gold) == cover
    assert f1_score(pred, gold) == pytest.approx(f1)
