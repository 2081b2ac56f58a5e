"""The fault suite (``make faults``): hookhub's processes, PostgreSQL, Redis and receivers fail
mid-load; each scenario adds a row to the table printed at the end and written to
``artifacts/faults.md`` (see docs/operations.md)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.faults.table import Row, Table
from tests.support.cluster import Cluster

TABLE = Table()
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
ARTIFACT = ARTIFACTS / "faults.md"
LOGS = ARTIFACTS / "faults-logs"  # every process's log of the last run, for a failure's post-mortem
PREAMBLE = """# Fault suite

`make faults`: 2x `hookhub serve --no-worker` + 2x `hookhub worker` on a private PostgreSQL and
Redis (the SQLite row: one embedded `hookhub serve`). Seconds are measured from the end of the fault.

"""


def fresh_log_dir(name: str) -> Path:
    folder = LOGS / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def pytest_report_header() -> str:
    return "fault suite: its own PostgreSQL and Redis on spare ports (HOOKHUB_TEST_DB does not apply)"


@pytest.fixture(scope="session")
def log_dir() -> Callable[[str], Path]:
    """An empty folder under artifacts/faults-logs/ for one cluster's process logs."""
    return fresh_log_dir


@pytest.fixture(scope="session")
async def cluster() -> AsyncIterator[Cluster]:
    running = await Cluster.scale_out(fresh_log_dir("scale-out"))
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
async def healthy_cluster(cluster: Cluster) -> AsyncIterator[Cluster]:
    """The shared cluster, put back in order after the test whatever the test left behind."""
    try:
        yield cluster
    finally:
        await cluster.restore()


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[[Row], None]:
    """Add a scenario's row to the table, then fail the test if anything was lost or a process
    did not recover by itself."""

    def add(row: Row) -> None:
        marker = request.node.get_closest_marker("xfail")
        if marker is not None:
            row.known_bug = marker.kwargs.get("reason", "")
        TABLE.add(row)
        problems = row.problems()
        assert not problems, f"{row.fault}: " + "; ".join(problems) + "\n" + TABLE.markdown()

    return add


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TABLE.rows:
        return
    terminalreporter.section("fault suite")
    terminalreporter.write(TABLE.markdown())
    TABLE.write(ARTIFACT, PREAMBLE)
    terminalreporter.write_line(f"(written to {ARTIFACT})")
