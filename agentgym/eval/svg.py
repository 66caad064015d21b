"""Tiny inline-SVG charts for the self-contained report (no JavaScript, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "histogram"]

_W, _H, _PAD = 360, 180, 28


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    vmax: float | None = None,
    fmt: str = "{:.0%}",
) -> str:
    """Vertical bars with value labels; `vmax` fixes the scale (e.g. 1.0 for rates)."""
    n = max(1, len(values))
    top = vmax if vmax is not None else max([*values, 1e-9])
    slot = (_W - 2 * _PAD) / n
    bars = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        h = 0.0 if v != v else (_H - 2 * _PAD) * max(0.0, v) / (top or 1.0)
        x = _PAD + i * slot + slot * 0.15
        y = _H - _PAD - h
        text = "-" if v != v else fmt.format(v)
        bars.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{h:.1f}" fill="#4c78a8"><title>{escape(str(label))}: {text}</title></rect>'
            f'<text x="{x + slot * 0.35:.1f}" y="{y - 4:.1f}" font-size="11" text-anchor="middle">{escape(text)}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{_H - _PAD + 14:.1f}" font-size="11" text-anchor="middle">{escape(str(label))[:12]}</text>'
        )
    return (
        f'<figure class="chart"><svg role="img" aria-label="{escape(title)}" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}">'
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" stroke="#888"/>'
        + "".join(bars)
        + f"</svg><figcaption>{escape(title)}</figcaption></figure>"
    )


def histogram(values: Sequence[float], *, title: str, bins: int = 10) -> str:
    """Counts of `values` in `bins` equal-width bins (integer-aligned for small integer ranges)."""
    if not values:
        return bar_chart([], [], title=title + " (no data)")
    lo, hi = min(values), max(values)
    if float(lo).is_integer() and float(hi).is_integer() and hi - lo < bins:
        edges = [lo + i for i in range(int(hi - lo) + 2)]
        labels = [f"{int(e)}" for e in edges[:-1]]
    else:
        width = (hi - lo) / bins or 1.0
        edges = [lo + i * width for i in range(bins + 1)]
        labels = [f"{e:.0f}" for e in edges[:-1]]
    counts = [0] * (len(edges) - 1)
    for v in values:
        i = min(len(counts) - 1, int((v - lo) / ((edges[1] - edges[0]) or 1.0)))
        counts[i] += 1
    return bar_chart(labels, [float(c) for c in counts], title=title, fmt="{:.0f}")
