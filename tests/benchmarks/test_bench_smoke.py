"""The benchmark's own parts: the bare apps answer, wrk's output is parsed, Lua strings are safe.

No timing is asserted here; ``make bench`` measures.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path

import httpx
import pytest

from bench import inprocess, instructions, procs, profile, wrk
from tests.support.databases import BACKEND

RECORDED_WRK_OUTPUT = """\
Running 2s test @ http://127.0.0.1:40657/x
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.44ms  421.15us  10.98ms   93.75%
    Req/Sec    22.47k     1.58k   26.16k    75.00%
  44671 requests in 2.00s, 5.92MB read
Requests/sec:  22328.32
Transfer/sec:      2.96MB
BENCH_JSON {"requests":44671,"duration_us":2000643,"p50_us":1372,"p99_us":3014,"mean_us":1440.2,\
"max_us":10982,"connect_errors":0,"read_errors":1,"write_errors":0,"timeouts":2,"non_2xx":671}
"""


def test_parses_the_line_printed_by_the_done_hook() -> None:
    result = wrk.parse(RECORDED_WRK_OUTPUT)
    assert result.requests == 44671
    assert result.p50_ms == pytest.approx(1.372)
    assert result.p99_ms == pytest.approx(3.014)
    assert result.errors == 3
    assert result.non_2xx == 671
    assert result.rps == pytest.approx(44000 / 2.000643)


def test_output_without_the_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="BENCH_JSON"):
        wrk.parse("Usage: wrk <options> <url>\n")


def test_lua_strings_escape_quotes_backslashes_and_non_ascii() -> None:
    assert wrk.lua_string('a"b\\c') == '"a\\"b\\\\c"'
    assert wrk.lua_string("é\n") == '"\\195\\169\\010"'
    script = wrk.script("POST", b'{"k":"v"}', {"Authorization": "Bearer x"})
    assert 'wrk.body = "{\\"k\\":\\"v\\"}"' in script
    assert 'wrk.headers["Authorization"] = "Bearer x"' in script


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def test_baseline_answers_200(workdir: Path) -> None:
    proc, url = procs.uvicorn_app("baseline", "bench.apps:baseline", workdir)
    try:
        assert httpx.post(url + "/anything", content=b"x" * 10_000).status_code == 200
        assert procs.peak_rss_mib(proc.pid) > 0
    finally:
        proc.stop()


def test_receiver_counts_and_measures_latency(workdir: Path) -> None:
    proc, url = procs.uvicorn_app("receiver", "bench.apps:receiver", workdir)
    try:
        httpx.post(url + "/_reset").raise_for_status()
        httpx.post(url + "/hook", content=b"{}").raise_for_status()
        httpx.post(url + "/hook", content=json.dumps({"t": time.time() - 1})).raise_for_status()
        stats = httpx.get(url + "/_stats").json()
        assert stats["count"] == 2
        assert len(stats["latencies_ms"]) == 1
        assert stats["latencies_ms"][0] >= 1000
    finally:
        proc.stop()


RECORDED_PY_SPY_RAW = """\
<module> (hookhub/cli.py:145);run (uvicorn/main.py:632);create (hookhub/outbound/messages.py:92);\
execute (sqlalchemy/engine/base.py:1494) 6
<module> (hookhub/cli.py:145);run (uvicorn/main.py:632);create (hookhub/outbound/messages.py:92) 2
Thread._bootstrap (threading.py:1002);_connection_worker_thread (aiosqlite/core.py:63) 2
"""


def test_profile_summary_attributes_self_time_by_package() -> None:
    summary = profile.summarise(RECORDED_PY_SPY_RAW, seconds=1)
    assert summary.samples == 10
    assert dict(summary.by_package) == {"sqlalchemy": 6, "hookhub": 2, "aiosqlite": 2}
    # cli.py is on every stack of the server's main thread: left out as uninformative
    assert summary.inclusive == [("create (hookhub/outbound/messages.py)", 8)]
    assert profile.package_of("<module> (<frozen importlib._bootstrap>:1)") == "importlib"


def test_slices_combine_into_one_result() -> None:
    slices = [
        wrk.WrkResult(requests=1000, seconds=1.0, p50_ms=1.0, p99_ms=9.0, errors=0, non_2xx=10),
        wrk.WrkResult(requests=3000, seconds=1.0, p50_ms=2.0, p99_ms=3.0, errors=1, non_2xx=0),
        wrk.WrkResult(
            requests=2000, seconds=1.0, p50_ms=5.0, p99_ms=4.0, errors=0, non_2xx=0, server_cpu_seconds=0.6
        ),
    ]
    combined = wrk.combine(slices)
    assert combined.requests == 6000
    assert combined.rps == pytest.approx(5990 / 3.0)
    assert (combined.p50_ms, combined.p99_ms) == (2.0, 4.0)
    assert (combined.errors, combined.non_2xx) == (1, 10)
    assert combined.cpu_ms_per_request == pytest.approx(0.1)


def test_cpu_time_of_a_process_grows_as_it_works() -> None:
    before = procs.cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.05
    while time.process_time() < deadline:
        pass
    assert procs.cpu_seconds(os.getpid()) - before >= 0.03


@pytest.mark.parametrize("what", ["msg", "ingest"])
def test_the_in_process_harness_drives_the_real_app(what: str) -> None:
    """``bench.inprocess`` raises unless every request it sends is accepted (no timing asserted)."""
    assert asyncio.run(inprocess.measure(what, 64)) > 0


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="bench.instructions needs valgrind")
@pytest.mark.skipif(BACKEND != "sqlite", reason="bench.instructions runs on SQLite; once is enough")
@pytest.mark.parametrize(("what", "at_least"), [("ingest", 100_000), ("bare", 30_000)])
def test_instruction_counting_reads_callgrinds_totals(what: str, at_least: int, tmp_path: Path) -> None:
    """A short counted load: the dump is found and read (an ingest is hundreds of thousands of
    instructions, the bare app under hookhub's HTTP protocol about 90k), and every request was
    accepted."""
    per_request = instructions.measure(what, tmp_path, None, seconds=1, warm_up=wrk.LoadShape(1, 8, 1))
    assert at_least < per_request < 5_000_000
