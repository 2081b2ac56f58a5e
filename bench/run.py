"""One backend's run: start hookhub as a user would, measure each scenario next to the baseline.

Order (each step bounded in time and count; numbers as in the printed table):
 - baseline: wrk load and single-client round trips against the bare app.
 - ``serve --no-worker``: 1 message create and 2 ingest under wrk (alternating 1 s slices with the
   same load on the baseline), ingest round trips, 5 relay latency and fan-out, 6 peak RSS.
 - 3 ``hookhub worker`` (next to that server) drains the messages created in step 1.
 - a fresh database, ``serve`` with its embedded worker: 4 end-to-end latency message -> receiver.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import delivery, latency, latency_rows, procs, profile, setup, wrk
from bench.databases import fresh_database
from bench.figures import (
    NotAvailable,
    Row,
    check,
    ms_pair,
    p50_p99,
    rate,
    share,
    times,
)

log = logging.getLogger("bench")
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True, slots=True)
class Options:
    shape: wrk.LoadShape
    warmup_seconds: int
    round_trips: int  # light-load requests per latency figure
    e2e_gap: float
    listeners: int
    fanout_rounds: int
    drain_timeout: float

    @classmethod
    def full(cls) -> Options:
        return cls(wrk.LoadShape(1, 32, 5), 1, 200, 0.02, 100, 10, 30.0)

    @classmethod
    def quick(cls) -> Options:
        return cls(wrk.LoadShape(1, 32, 2), 1, 50, 0.02, 100, 3, 15.0)


@dataclass(slots=True)
class Peers:
    """The bare apps shared by every backend of one run."""

    baseline: procs.Process
    baseline_url: str
    receiver_url: str
    # the baseline's app under hookhub's HTTP protocol: how much of a ratio is the protocol's
    bare_hookhub_http: procs.Process
    bare_hookhub_http_url: str


class BackendRun:
    def __init__(
        self,
        backend: str,
        options: Options,
        peers: Peers,
        workdir: Path,
        source_dir: Path | None = None,
        profile: bool = False,
        deadline: float | None = None,
    ) -> None:
        self.backend = backend
        self.deadline = deadline  # time.monotonic() after which scenarios are skipped
        self.profile = profile
        self.profiles: list[str] = []  # rendered py-spy summaries
        self.source_dir = source_dir
        self.opt = options
        self.peers = peers
        self.workdir = workdir
        self.rows: list[Row] = []
        self.baseline_rps = 0.0
        self.baseline_rt_p50 = 0.0

    # -- helpers ---------------------------------------------------------------------------
    def _guard(self, label: str, scenario: Callable[[], list[Row]]) -> None:
        """Run one scenario; a missing feature or a failure becomes a row, never a crash."""
        started = time.monotonic()
        if self.deadline is not None and started > self.deadline:
            self.rows.append(Row(label, "skipped (the run's time budget is spent)"))
            return
        try:
            self.rows.extend(scenario())
        except NotAvailable as exc:
            self.rows.append(Row(label, exc.reason))
        except Exception as exc:
            (self.workdir / "errors.log").open("a").write(
                f"{self.backend} {label}\n{traceback.format_exc()}\n"
            )
            self.rows.append(
                Row(
                    label,
                    f"error ({type(exc).__name__}: {str(exc).splitlines()[0][:80] if str(exc) else ''})",
                )
            )
        log.info("  %s: %.1fs", label, time.monotonic() - started)

    def _wrk(self, url: str, lua: str, name: str) -> wrk.WrkResult:
        warm = wrk.LoadShape(self.opt.shape.threads, self.opt.shape.connections, self.opt.warmup_seconds)
        wrk.run(url, lua, warm, self.workdir, f"{self.backend}-{name}-warmup")
        return wrk.run(url, lua, self.opt.shape, self.workdir, f"{self.backend}-{name}")

    def _versus_baseline(
        self, url: str, lua: str, name: str, server: procs.Process
    ) -> tuple[wrk.WrkResult, wrk.WrkResult]:
        """The same wrk load against the baseline and hookhub, alternating 1 s slices so that both
        see the same machine (other processes come and go); sampled with py-spy under --profile."""
        shape = self.opt.shape
        warm = wrk.LoadShape(shape.threads, shape.connections, self.opt.warmup_seconds)
        wrk.run(
            self.peers.baseline_url + "/", lua, warm, self.workdir, f"{self.backend}-baseline-{name}-warmup"
        )
        wrk.run(url, lua, warm, self.workdir, f"{self.backend}-{name}-warmup")
        output = self.workdir / f"{self.backend}-{name}.pyspy.txt"
        sampler = profile.start(server.pid, 2 * shape.seconds + 1, output) if self.profile else None
        base_slices, my_slices = [], []
        baseline = self.peers.baseline
        for index in range(shape.seconds):
            base_name = f"{self.backend}-baseline-{name}-{index}"
            base_slices.append(self._slice(self.peers.baseline_url + "/", lua, base_name, baseline.pid))
            my_slices.append(self._slice(url, lua, f"{self.backend}-{name}-{index}", server.pid))
        if self.profile:
            if sampler is None:
                self.profiles.append(f"#### {name}\n\n(py-spy is not installed: pip install py-spy)")
            else:
                sampler.wait(30)
                raw = output.read_text() if output.exists() else ""
                summary = profile.summarise(raw, shape.seconds)  # hookhub was loaded half the time
                self.profiles.append(profile.render(f"{self.backend} {name}", summary))
        return wrk.combine(base_slices), wrk.combine(my_slices)

    def _slice(self, url: str, lua: str, name: str, pid: int) -> wrk.WrkResult:
        """One 1 s wrk run, with the CPU time the server process spent on it."""
        shape = wrk.LoadShape(self.opt.shape.threads, self.opt.shape.connections, 1)
        before = procs.cpu_seconds(pid)
        result = wrk.run(url, lua, shape, self.workdir, name)
        return dataclasses.replace(result, server_cpu_seconds=procs.cpu_seconds(pid) - before)

    @staticmethod
    def _cpu_row(label: str, mine: wrk.WrkResult, base: wrk.WrkResult) -> Row:
        mine_ms, base_ms = mine.cpu_ms_per_request, base.cpu_ms_per_request
        return Row(label, f"{mine_ms:.3f} ms", f"{base_ms:.3f} ms", times(mine_ms, base_ms))

    @staticmethod
    def _errors_note(result: wrk.WrkResult) -> str:
        if not (result.errors or result.non_2xx):
            return ""
        return f" ({result.non_2xx} non-2xx, {result.errors} socket errors)"

    # -- the run ----------------------------------------------------------------------------
    def run(self) -> list[Row]:
        with fresh_database(self.backend, self.workdir) as database_url:
            hub = procs.Hookhub(database_url, self.workdir, self.source_dir)
            self._guard("baseline POST requests/s (wrk)", self.baseline_load)
            self._guard("baseline round trip p50 / p99 (1 client)", self.baseline_round_trip)
            self._guard("baseline's app under hookhub's HTTP protocol", self.bare_hookhub_http_load)
            self._under_load(hub)
        if self.backend == "sqlite":
            with fresh_database(self.backend, self.workdir) as database_url:
                self._fast_sqlite(procs.Hookhub(database_url, self.workdir, self.source_dir))
        else:
            with fresh_database(self.backend, self.workdir) as database_url:
                self._two_processes(procs.Hookhub(database_url, self.workdir, self.source_dir))
        with fresh_database(self.backend, self.workdir) as database_url:
            self._transformed(procs.Hookhub(database_url, self.workdir, self.source_dir))
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.rows.append(
                Row("4. end-to-end message -> receiver", "skipped (the run's time budget is spent)")
            )
        else:
            # A fresh database: no backlog left from step 3 competes with the light-load latency run.
            with fresh_database(self.backend, self.workdir) as database_url:
                self._light_load(procs.Hookhub(database_url, self.workdir, self.source_dir))
        return sorted(self.rows, key=lambda row: row.label[:1] if row.label[:1].isdigit() else "0")

    def _under_load(self, hub: procs.Hookhub) -> None:
        """Steps 1, 2, 5 and 6 on ``serve --no-worker``; then step 3 with ``hookhub worker``."""
        serve = hub.serve("--no-worker", name=f"{self.backend}-serve-no-worker")
        try:
            client = httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30)
            backlog: list[int] = []

            def create() -> list[Row]:
                out = setup.app_with_endpoint(client, self.peers.receiver_url)
                rows, created = self.message_create(hub, out, serve)
                backlog.append(created)
                return rows

            self._guard("1. message create requests/s", create)
            sources: list[setup.Source] = []
            self._guard("2. ingest requests/s", lambda: self.ingest(hub, client, sources, serve))
            self._guard("5. relay ingest -> listener p50 / p99", lambda: self.relay(hub, sources))
            self._guard("5. fan-out to listeners", lambda: self.fan_out(hub, client))
            self.rows.append(self.rss_row("6. peak RSS, serve --no-worker", serve))
            if backlog:
                self._guard("3. deliveries/s", lambda: self.deliveries(hub, serve, backlog[0]))
            else:  # without messages there is nothing to deliver
                self.rows.append(Row("3. deliveries/s", self._reason_of("1.")))
        finally:
            serve.stop()

    def _fast_sqlite(self, hub: procs.Hookhub) -> None:
        """Step 2 again with HOOKHUB_SQLITE_SYNCHRONOUS=normal: answered before the fsync."""
        serve = hub.serve(
            "--no-worker", name="sqlite-serve-fast", env={"HOOKHUB_SQLITE_SYNCHRONOUS": "normal"}
        )
        try:
            client = httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30)

            def fast_ingest() -> list[Row]:
                source = setup.source(client, "bench-ingest-fast")
                lua = wrk.script("POST", setup.INGEST_BODY, JSON)
                base, mine = self._versus_baseline(hub.url + source.ingest_path, lua, "ingest-fast", serve)
                label = "2. ingest requests/s, fast mode (synchronous=normal, no fsync)"
                return [
                    Row(
                        label + self._errors_note(mine),
                        rate(mine.rps),
                        rate(base.rps),
                        share(mine.rps, base.rps),
                    )
                ]

            self._guard("2. ingest requests/s, fast mode", fast_ingest)
        finally:
            serve.stop()

    def _two_processes(self, hub: procs.Hookhub) -> None:
        """Step 2 with ``serve --workers 2`` against one process set up the same way (both on the
        machine's Redis, which several processes need): what a second core buys."""
        redis_url = os.environ.get("HOOKHUB_BENCH_REDIS", "redis://127.0.0.1:6379/11")
        measured: dict[int, float] = {}
        for workers in (1, 2):
            serve = hub.serve(
                "--no-worker",
                "--workers",
                str(workers),
                name=f"serve-workers-{workers}",
                env={"HOOKHUB_REDIS_URL": redis_url},
            )
            try:
                client = httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30)

                def ingest(
                    workers: int = workers, serve: procs.Process = serve, client: httpx.Client = client
                ) -> list[Row]:
                    source = setup.source(client, f"bench-ingest-workers-{workers}")
                    lua = wrk.script("POST", setup.INGEST_BODY, JSON)
                    url = hub.url + source.ingest_path
                    base, mine = self._versus_baseline(url, lua, f"ingest-workers-{workers}", serve)
                    measured[workers] = mine.rps
                    label = f"2. ingest requests/s, serve --workers {workers} (with Redis)"
                    if workers == 1:
                        return [
                            Row(
                                label + self._errors_note(mine),
                                rate(mine.rps),
                                rate(base.rps),
                                share(mine.rps, base.rps),
                            )
                        ]
                    gain = mine.rps / measured[1] if measured.get(1) else 0.0
                    met = f"{gain:.2f}x: {check(gain >= 1.5)}" if measured.get(1) else "?"
                    return [
                        Row(
                            label + self._errors_note(mine),
                            rate(mine.rps),
                            rate(base.rps),
                            share(mine.rps, base.rps),
                            ">= 1.5x one",
                            met,
                        )
                    ]

                self._guard(f"2. ingest requests/s, serve --workers {workers}", ingest)
            finally:
                serve.stop()

    def _transformed(self, hub: procs.Hookhub) -> None:
        """Step 3 again with a small JavaScript transformation on the endpoint: what it costs."""
        serve = hub.serve("--no-worker", name=f"{self.backend}-serve-transformed")
        try:
            client = httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30)

            def transformed() -> list[Row]:
                out = setup.app_with_endpoint(client, self.peers.receiver_url)
                setup.transform_endpoints(client, out.app_id)
                _, created = self.message_create(hub, out, serve)
                rows = self.deliveries(hub, serve, created)
                plain = next((r for r in self.rows if r.label.startswith("3. deliveries/s")), None)
                drained = rows[0]
                label = (
                    "3. deliveries/s, a transformation on the endpoint"
                    + drained.label[len("3. deliveries/s") :]
                )
                # Against the plain step 3 of this run: what the transformation costs.
                versus = ""
                if plain is not None and rate_value(plain.value):
                    versus = f"{rate_value(drained.value) / rate_value(plain.value):.2f}x of plain"
                return [Row(label, drained.value, drained.baseline, drained.ratio, "", versus)]

            self._guard("3. deliveries/s, a transformation on the endpoint", transformed)
        finally:
            serve.stop()

    def _light_load(self, hub: procs.Hookhub) -> None:
        """Step 4 on ``serve`` with its embedded worker, the default way to run hookhub."""
        embedded = hub.serve(name=f"{self.backend}-serve")
        try:
            client = httpx.Client(base_url=hub.url, headers=hub.headers, timeout=30)

            def end_to_end() -> list[Row]:
                return self.end_to_end(hub, setup.app_with_endpoint(client, self.peers.receiver_url))

            self._guard("4. end-to-end message -> receiver", end_to_end)
            self.rows.append(self.rss_row("6. peak RSS, serve (embedded worker)", embedded))
        finally:
            embedded.stop()

    def _reason_of(self, prefix: str) -> str:
        return next((r.value for r in self.rows if r.label.startswith(prefix)), "n/a")

    # -- scenarios --------------------------------------------------------------------------
    def baseline_load(self) -> list[Row]:
        lua = wrk.script("POST", setup.INGEST_BODY, JSON)
        base = self._wrk(self.peers.baseline_url + "/", lua, "baseline")
        self.baseline_rps = base.rps
        return [
            Row("baseline POST requests/s (wrk)", rate(base.rps), rate(base.rps), "100%"),
            Row("baseline p50 / p99 under that load", ms_pair(base.p50_ms, base.p99_ms)),
        ]

    def bare_hookhub_http_load(self) -> list[Row]:
        """The baseline's app under the protocol ``hookhub serve`` runs (one write per answer),
        alternating with the baseline: the part of hookhub's ratios that is the protocol's."""
        lua = wrk.script("POST", setup.INGEST_BODY, JSON)
        url = self.peers.bare_hookhub_http_url + "/"
        base, mine = self._versus_baseline(url, lua, "bare-hookhub-http", self.peers.bare_hookhub_http)
        label = "baseline's app under hookhub's HTTP protocol, requests/s"
        return [
            Row(label, rate(mine.rps), rate(base.rps), share(mine.rps, base.rps)),
            self._cpu_row("baseline's app under hookhub's HTTP protocol, CPU per request", mine, base),
        ]

    def baseline_round_trip(self) -> list[Row]:
        times_ms = asyncio.run(
            latency.round_trips(self.peers.baseline_url + "/", setup.INGEST_BODY, JSON, self.opt.round_trips)
        )
        p50, p99 = p50_p99(times_ms)
        self.baseline_rt_p50 = p50
        return [Row("baseline round trip p50 / p99 (1 client)", ms_pair(p50, p99), ms_pair(p50, p99), "1.0x")]

    def message_create(
        self, hub: procs.Hookhub, out: setup.Outbound, serve: procs.Process
    ) -> tuple[list[Row], int]:
        lua = wrk.script("POST", setup.MESSAGE_BODY, {**JSON, **hub.headers})
        base, mine = self._versus_baseline(hub.url + out.msg_path, lua, "msg-create", serve)
        created = 1 + mine.requests - mine.non_2xx  # the probe, plus this run
        warm = wrk.parse((self.workdir / f"{self.backend}-msg-create-warmup.wrk.txt").read_text())
        created += warm.requests - warm.non_2xx
        rows = [
            Row(
                "1. message create requests/s (1 endpoint, worker off)" + self._errors_note(mine),
                rate(mine.rps),
                rate(base.rps),
                share(mine.rps, base.rps),
                ">= 40%",
                check(mine.rps >= 0.4 * base.rps),
            ),
            Row(
                "1. message create p50 / p99 under that load",
                ms_pair(mine.p50_ms, mine.p99_ms),
                ms_pair(base.p50_ms, base.p99_ms),
                times(mine.p50_ms, base.p50_ms),
            ),
            self._cpu_row("1. message create, server CPU per request", mine, base),
        ]
        return rows, created

    def ingest(
        self, hub: procs.Hookhub, client: httpx.Client, sources: list[setup.Source], serve: procs.Process
    ) -> list[Row]:
        source = setup.source(client, "bench-ingest")
        sources.append(source)
        lua = wrk.script("POST", setup.INGEST_BODY, JSON)
        base, mine = self._versus_baseline(hub.url + source.ingest_path, lua, "ingest", serve)
        note = self._errors_note(mine) + ("" if source.unthrottled else " (throttle settings refused)")
        rt = asyncio.run(
            latency.round_trips(hub.url + source.ingest_path, setup.INGEST_BODY, JSON, self.opt.round_trips)
        )
        rt50, rt99 = p50_p99(rt)
        return [
            Row(
                "2. ingest requests/s"
                + (" (durable: fsync before the answer)" if self.backend == "sqlite" else "")
                + note,
                rate(mine.rps),
                rate(base.rps),
                share(mine.rps, base.rps),
                ">= 60%",
                check(mine.rps >= 0.6 * base.rps),
            ),
            Row(
                "2. ingest p50 / p99 under that load",
                ms_pair(mine.p50_ms, mine.p99_ms),
                ms_pair(base.p50_ms, base.p99_ms),
                times(mine.p50_ms, base.p50_ms),
            ),
            self._cpu_row("2. ingest, server CPU per request", mine, base),
            Row(
                "2. ingest round trip p50 / p99 (1 client)",
                ms_pair(rt50, rt99),
                "",
                times(rt50, self.baseline_rt_p50),
            ),
        ]

    def relay(self, hub: procs.Hookhub, sources: list[setup.Source]) -> list[Row]:
        if not sources:
            raise NotAvailable()
        return latency_rows.relay(hub.url, sources[0], self.opt.round_trips, self.baseline_rt_p50)

    def fan_out(self, hub: procs.Hookhub, client: httpx.Client) -> list[Row]:
        source = setup.source(client, "bench-fanout")
        opt = self.opt
        return latency_rows.fan_out(hub.url, source, opt.listeners, opt.fanout_rounds, self.baseline_rt_p50)

    def end_to_end(self, hub: procs.Hookhub, out: setup.Outbound) -> list[Row]:
        before = delivery.stats(self.peers.receiver_url)["count"]
        settled = delivery.wait_quiet(self.peers.receiver_url, quiet=0.5, timeout=10)
        log.info("  %s more deliveries arrived before the latency run", settled - before)
        return latency_rows.end_to_end(
            hub.url + out.msg_path,
            hub.headers,
            self.peers.receiver_url,
            self.opt.round_trips,
            self.opt.e2e_gap,
            self.baseline_rt_p50,
        )

    def deliveries(self, hub: procs.Hookhub, serve: procs.Process, backlog: int) -> list[Row]:
        delivery.reset(self.peers.receiver_url)
        if hub.has_worker_command():
            how = "hookhub worker"
            started = time.time()
            worker = hub.worker()
        else:
            how = "embedded serve; `hookhub worker` n/a"
            serve.stop()
            started = time.time()
            worker = hub.serve(name=f"{self.backend}-serve-drain")
        output = self.workdir / f"{self.backend}-worker.pyspy.txt"
        seconds = self.opt.shape.seconds
        sampler = None
        if self.profile and delivery.wait_first(self.peers.receiver_url, timeout=15):
            sampler = profile.start(worker.pid, seconds, output)  # from the first delivery on
        try:
            drain = delivery.measure_drain(self.peers.receiver_url, backlog, started, self.opt.drain_timeout)
            rss = worker.peak_rss_mib()
        finally:
            if sampler is not None:
                sampler.wait(30)
            worker.stop()
        if sampler is not None and output.exists():
            summary = profile.summarise(output.read_text(), seconds)
            self.profiles.append(
                profile.render(f"{self.backend} {how} ({seconds} s from the first delivery)", summary)
            )
        partial = "" if drain.delivered >= drain.expected else f", {drain.delivered} of {drain.expected}"
        rows = [
            Row(
                f"3. deliveries/s ({how}, backlog {drain.expected}{partial})",
                rate(drain.rate),
                rate(self.baseline_rps),
                share(drain.rate, self.baseline_rps),
                ">= 2,000/s",
                check(drain.rate >= 2000),
            ),
            Row("3. backlog drained, worker start -> last delivery", f"{drain.since_start:.1f} s"),
        ]
        if rss is not None:
            base = self.peers.baseline.peak_rss_mib() or 0
            rows.append(
                Row(
                    f"6. peak RSS, {how.split(';')[0]}", f"{rss:.0f} MiB", f"{base:.0f} MiB", times(rss, base)
                )
            )
        return rows

    def rss_row(self, label: str, process: procs.Process) -> Row:
        rss = process.peak_rss_mib()
        base = self.peers.baseline.peak_rss_mib() or 0
        if rss is None:
            return Row(label, "n/a (process gone)")
        return Row(label, f"{rss:.0f} MiB", f"{base:.0f} MiB", times(rss, base))


def rate_value(text: str) -> float:
    """``"12,345/s"`` → 12345.0 (0 when the cell holds no rate)."""
    try:
        return float(text.split("/", 1)[0].replace(",", ""))
    except ValueError:
        return 0.0
