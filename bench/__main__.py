"""``python -m bench [--quick] [--backend sqlite|postgresql]``: print one table per backend.

Every figure sits next to the same measurement against a bare ASGI app under uvicorn with the same
flags (the baseline), taken in the same run, so the ratios survive a noisy machine.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from bench import procs, wrk
from bench.figures import Row, table
from bench.run import BackendRun, Options, Peers

BACKENDS = ("sqlite", "postgresql")
TITLES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
TIME_BUDGET_SECONDS = 330.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter loads and fewer samples")
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="run only this backend")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument(
        "--ref", help="benchmark this git revision (exported read-only) instead of the working tree"
    )
    parser.add_argument(
        "--profile", action="store_true", help="sample hookhub with py-spy (if installed) under load"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, wrk output)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    log = logging.getLogger("bench")
    if not wrk.available():
        print("wrk is not installed: run scripts/install-test-deps", file=sys.stderr)
        return 2
    options = Options.quick() if args.quick else Options.full()
    backends = args.backend or list(BACKENDS)
    workdir = Path(tempfile.mkdtemp(prefix="hookhub-bench-"))
    started = time.monotonic()
    # Every step is bounded on its own; this keeps the sum near 6 minutes on a bad day too.
    deadline = started + TIME_BUDGET_SECONDS
    source_dir = procs.export_source(args.ref, workdir) if args.ref else None
    shape = options.shape
    header = (
        f"hookhub benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"wrk -t{shape.threads} -c{shape.connections} -d{shape.seconds}s"
        f"{' (quick)' if args.quick else ''}"
        f"{f', code at {args.ref}' if args.ref else ''}"
    )
    results: dict[str, list[dict]] = {}
    tables: list[str] = []
    profiles: list[str] = []
    baseline, baseline_url = procs.uvicorn_app("baseline", "bench.apps:baseline", workdir)
    receiver, receiver_url = procs.uvicorn_app("receiver", "bench.apps:receiver", workdir)
    bare_hookhub_http, bare_hookhub_http_url = procs.uvicorn_app(
        "baseline-hookhub-http", "bench.apps:baseline", workdir, http=procs.HOOKHUB_HTTP
    )
    try:
        peers = Peers(baseline, baseline_url, receiver_url, bare_hookhub_http, bare_hookhub_http_url)
        for backend in backends:
            log.info("== %s", TITLES[backend])
            try:
                run = BackendRun(backend, options, peers, workdir, source_dir, args.profile, deadline)
                rows = run.run()
                profiles += run.profiles
            except Exception as exc:  # hookhub did not start: say so, go on with the next backend
                log.error("%s", exc)
                first_line = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else ""
                rows = [Row("hookhub", f"error: could not run ({type(exc).__name__}: {first_line})")]
            results[backend] = [asdict(row) for row in rows]
            tables.append(table(TITLES[backend], rows))
    finally:
        bare_hookhub_http.stop()
        receiver.stop()
        baseline.stop()
    print()
    print(header)
    for text in tables:
        print()
        print(text)
    if profiles:
        print("\n### Where the time goes (py-spy --gil on hookhub during the wrk runs and the drain)")
        for text in profiles:
            print()
            print(text)
    kept = f"; logs and wrk output kept in {workdir}" if args.keep else ""
    print(f"\n(total {time.monotonic() - started:.0f} s{kept})")
    if args.json:
        args.json.write_text(json.dumps({"header": header, "results": results}, indent=2))
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
