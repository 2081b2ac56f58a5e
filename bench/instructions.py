"""Instructions per request under callgrind: an A/B that a slow or noisy host does not blur.

    .venv/bin/python -m bench.instructions ingest              # the working tree
    .venv/bin/python -m bench.instructions msg --ref HEAD~3    # a commit (exported read-only)
    .venv/bin/python -m bench.instructions bare                # the baseline's app, hookhub's HTTP
    .venv/bin/python -m bench.instructions bare-stock          # the baseline itself (stock uvicorn)

``hookhub serve --no-worker`` (SQLite) runs under ``valgrind --tool=callgrind`` with counting
off while it starts and the application or source is made; a 4 s wrk warm-up runs counted, then
the counters are zeroed, wrk loads the server for ``--seconds``, and the counters are dumped.
``bare`` and ``bare-stock`` do the same with the benchmark's bare app (``bench.apps:baseline``)
under uvicorn with hookhub's HTTP protocol or uvicorn's own, the flags ``make bench`` uses: what
the HTTP layer alone costs. The figure is user-space instructions of the whole process (the
interpreter, uvicorn, hookhub, SQLite, uvloop; not the kernel) divided by the requests wrk
completed. The machine's speed does not enter it: repeated runs agree within about 1-2%, where
loaded-server figures move by 10-20% on a shared host. Under callgrind the server runs ~50x
slower, so the 32 connections always have requests waiting and every batch is full: compare
commits with each other, not with ``make bench``. Needs valgrind (Debian package ``valgrind``)
and wrk. ~1 minute per run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench import procs, setup, wrk

LOAD = wrk.LoadShape(1, 32, 20)
WARM_UP = wrk.LoadShape(1, 32, 4)
_TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)


def callgrind_control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args], check=True, capture_output=True, timeout=120)


def measure(
    what: str, workdir: Path, source_dir: Path | None, seconds: int, warm_up: wrk.LoadShape = WARM_UP
) -> float:
    """Instructions per request of one run."""
    out_file = workdir / "callgrind.out"
    callgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out_file}"]
    start = _bare_app if what.startswith("bare") else _hookhub
    server, url, lua = start(what, callgrind, workdir, source_dir)
    try:
        callgrind_control("--instr=on", str(server.pid))
        wrk.run(url, lua, warm_up, workdir, f"{what}-warm-up")
        callgrind_control("--zero", str(server.pid))
        result = wrk.run(url, lua, wrk.LoadShape(1, 32, seconds), workdir, what)
        callgrind_control("--dump", str(server.pid))
    finally:
        server.stop()
    if result.errors or result.non_2xx or not result.requests:
        failed = f"{result.errors} errors, {result.non_2xx} non-2xx"
        raise RuntimeError(f"wrk: {result.requests} requests, {failed}")
    dump = workdir / "callgrind.out.1"  # the one dump asked for (the exit's is callgrind.out)
    totals = _TOTALS.search(dump.read_text()) if dump.exists() else None
    if totals is None:
        raise RuntimeError(f"no totals in {dump}:\n{server.log_tail()}")
    return int(totals.group(1)) / result.requests


def _hookhub(
    what: str, callgrind: list[str], workdir: Path, source_dir: Path | None
) -> tuple[procs.Process, str, str]:
    """``serve --no-worker`` under callgrind, with the application or source the load needs."""
    hub = procs.Hookhub(f"sqlite:///{workdir}/instructions.db", workdir, source_dir)
    argv = callgrind + procs.hookhub_command("serve", "--no-worker")
    serve = procs.Process("serve", argv, workdir, hub.env).start()
    try:
        serve.wait_http(hub.url + "/api/v1/health", timeout=300)
        with httpx.Client(base_url=hub.url, headers=hub.headers, timeout=60) as client:
            if what == "msg":
                target = setup.app_with_endpoint(client, "http://127.0.0.1:9")  # the worker is off
                headers = {**hub.headers, "Content-Type": "application/json"}
                return serve, hub.url + target.msg_path, wrk.script("POST", setup.MESSAGE_BODY, headers)
            url = hub.url + setup.source(client, "instructions").ingest_path
            return serve, url, wrk.script("POST", setup.INGEST_BODY, {"Content-Type": "application/json"})
    except BaseException:
        serve.stop()
        raise


def _bare_app(
    what: str, callgrind: list[str], workdir: Path, source_dir: Path | None
) -> tuple[procs.Process, str, str]:
    """The benchmark's bare app under uvicorn, with hookhub's HTTP protocol or (``bare-stock``)
    uvicorn's, under callgrind; the ingest load's body."""
    port = procs.free_port()
    http = "httptools" if what == "bare-stock" else procs.HOOKHUB_HTTP
    argv = callgrind + procs.uvicorn_command("bench.apps:baseline", port, http)
    server = procs.Process(what, argv, workdir, procs.bench_env(source_dir)).start()
    url = f"http://127.0.0.1:{port}/"
    try:
        server.wait_http(url, timeout=300)
    except BaseException:
        server.stop()
        raise
    return server, url, wrk.script("POST", setup.INGEST_BODY, {"Content-Type": "application/json"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["msg", "ingest", "bare", "bare-stock"])
    parser.add_argument("--ref", help="benchmark this git revision instead of the working tree")
    parser.add_argument("--runs", type=int, default=1, help="the median of this many runs is printed")
    parser.add_argument("--seconds", type=int, default=LOAD.seconds, help="counted load per run")
    args = parser.parse_args()
    for tool in ("valgrind", "callgrind_control", "wrk"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is missing (Debian packages valgrind and wrk)")
    results = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="hookhub-instructions-") as temp:
            workdir = Path(temp)
            source_dir = procs.export_source(args.ref, workdir) if args.ref else None
            results.append(measure(args.what, workdir, source_dir, args.seconds))
    runs = ", ".join(f"{result:,.0f}" for result in sorted(results))
    label = args.ref or "working tree"
    print(f"{args.what} ({label}): {statistics.median(results):,.0f} instructions per request (runs: {runs})")


if __name__ == "__main__":
    main()
