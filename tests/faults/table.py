"""The fault suite's result: one row per fault, printed at the end of the run and written to
``artifacts/faults.md``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

COLUMNS = ("fault", "accepted", "delivered", "lost", "duplicated", "recovery", "backlog drained", "notes")


@dataclass
class Row:
    fault: str
    accepted: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    # From the end of the fault until every process is healthy and a request made after it
    # has been delivered end to end; None: not within the scenario.
    recovery: float | None = None
    # From the end of the fault until everything accepted was delivered; None: not within the drain.
    drained: float | None = None
    notes: list[str] = field(default_factory=list)
    # Stored inbound events the WebSocket listener never got (it reconnects and resumes).
    listener_missed: int = 0
    # 500 answers the clients got: a fault is an outage (503 with Retry-After), never a crash.
    server_errors: int = 0
    # Processes that were neither healthy nor restarted by the harness after the fault.
    unrecovered: list[str] = field(default_factory=list)
    known_bug: str = ""

    def cells(self) -> list[str]:
        notes = list(self.notes)
        if self.unrecovered:
            notes.append(f"needed a restart by hand: {', '.join(self.unrecovered)}")
        if self.known_bug:
            notes.append(f"KNOWN BUG: {self.known_bug}")
        return [
            self.fault,
            str(self.accepted),
            str(self.delivered),
            f"**{self.lost}**" if self.lost else "0",
            str(self.duplicated),
            _seconds(self.recovery),
            _seconds(self.drained),
            "; ".join(notes),
        ]

    def problems(self) -> list[str]:
        """What makes this row a failure: anything lost (delivered or relayed), a 500, or a
        process that did not recover by itself."""
        found = []
        if self.lost:
            found.append(f"{self.lost} of {self.accepted} accepted were never delivered")
        if self.listener_missed:
            found.append(f"the listener never got {self.listener_missed} stored events")
        if self.server_errors:
            found.append(f"clients got {self.server_errors} answers 500 (an outage is a 503)")
        if self.unrecovered:
            found.append(f"did not recover without a restart by hand: {self.unrecovered}")
        return found


def known_bug(reason: str) -> pytest.MarkDecorator:
    """Marks a scenario that shows a bug not fixed yet: its row is flagged with ``reason`` and its
    failure expected (not strictly: the bug may not show in every run)."""
    return pytest.mark.xfail(strict=False, reason=reason)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


class Table:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def markdown(self) -> str:
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for row in self.rows:
            lines.append("| " + " | ".join(cell.replace("|", "/") for cell in row.cells()) + " |")
        return "\n".join(lines) + "\n"

    def write(self, path: Path, preamble: str = "") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(preamble + self.markdown())
