"""Result rows and the tables printed at the end (Markdown pipe tables: readable in a terminal and
pasteable into docs/benchmarks.md)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

NOT_BUILT = "n/a (not built yet)"


class NotAvailable(Exception):
    """A scenario cannot run: its feature is missing (the route 404s) or it did not work."""

    def __init__(self, reason: str = NOT_BUILT) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(slots=True)
class Row:
    label: str
    value: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; ``values`` need not be sorted."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def p50_p99(values: list[float]) -> tuple[float, float]:
    return percentile(values, 50), percentile(values, 99)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def rate(value: float) -> str:
    return f"{value:,.0f}/s"


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value >= 10 else f"{value:.2f} ms"


def ms_pair(p50: float, p99: float) -> str:
    return f"{ms(p50)} / {ms(p99)}"


def share(value: float, base: float) -> str:
    """``value`` as a percentage of ``base`` (for throughput: higher is better)."""
    return f"{value / base:.0%}" if base else "?"


def times(value: float, base: float) -> str:
    """``value`` as a multiple of ``base`` (for latency and memory: lower is better)."""
    return f"{value / base:.1f}x" if base else "?"


def check(ok: bool) -> str:
    return "yes" if ok else "NO"


def table(title: str, rows: list[Row]) -> str:
    header = ("figure", "hookhub", "baseline", "vs baseline", "target", "met")
    cells = [header, *((r.label, r.value, r.baseline, r.ratio, r.target, r.met) for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (width + 2) for width in widths) + "|"
    return "\n".join([f"### {title}", "", line(header), rule, *(line(row) for row in cells[1:])])
