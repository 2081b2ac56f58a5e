"""Load from ``wrk``: a Lua script sets the method, body and headers; its ``done`` hook prints one
JSON line with the figures, which is what ``parse`` reads (wrk's text summary is not parsed)."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "BENCH_JSON "

_DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d,'
    .. '"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"non_2xx":%d}\\n',
    MARKER, summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
"""


@dataclass(frozen=True, slots=True)
class LoadShape:
    """Threads, connections and seconds of one wrk run (measured on 2 cores: -t1 keeps wrk's own
    CPU near a third of a core while the Python server under test saturates one core)."""

    threads: int = 1
    connections: int = 32
    seconds: int = 5  # wrk takes whole seconds


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int  # socket errors and timeouts
    non_2xx: int  # responses with status >= 400
    server_cpu_seconds: float = 0.0  # CPU the server process used during the run, when measured

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_seconds * 1000 / self.requests if self.requests else 0.0

    @property
    def rps(self) -> float:
        return (self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0


def combine(slices: list[WrkResult]) -> WrkResult:
    """Several short runs as one: counts add up; p50 and p99 are the medians over the slices."""
    return WrkResult(
        requests=sum(r.requests for r in slices),
        seconds=sum(r.seconds for r in slices),
        p50_ms=statistics.median(r.p50_ms for r in slices),
        p99_ms=statistics.median(r.p99_ms for r in slices),
        errors=sum(r.errors for r in slices),
        non_2xx=sum(r.non_2xx for r in slices),
        server_cpu_seconds=sum(r.server_cpu_seconds for r in slices),
    )


def lua_string(text: str) -> str:
    """A Lua 5.1 string literal for ``text`` (decimal escapes for anything not plain ASCII)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def script(method: str, body: bytes | str | None, headers: dict[str, str]) -> str:
    lines = [f"MARKER = {lua_string(MARKER)}", f"wrk.method = {lua_string(method)}"]
    if body is not None:
        text = body.decode() if isinstance(body, bytes) else body
        lines.append(f"wrk.body = {lua_string(text)}")
    for name, value in headers.items():
        lines.append(f"wrk.headers[{lua_string(name)}] = {lua_string(value)}")
    return "\n".join(lines) + "\n" + _DONE_HOOK


def parse(output: str) -> WrkResult:
    """The figures from wrk's output (the line our ``done`` hook printed)."""
    for line in output.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
                non_2xx=data["non_2xx"],
            )
    raise ValueError(f"no {MARKER.strip()} line in wrk output:\n{output[-2000:]}")


def available() -> bool:
    return shutil.which("wrk") is not None


def run(url: str, lua: str, shape: LoadShape, workdir: Path, name: str) -> WrkResult:
    path = workdir / f"{name}.lua"
    path.write_text(lua)
    argv = ["wrk", f"-t{shape.threads}", f"-c{shape.connections}", f"-d{shape.seconds}s"]
    argv += ["--timeout", "5s", "--latency", "-s", str(path), url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=shape.seconds + 30, check=False)
    (workdir / f"{name}.wrk.txt").write_text(done.stdout + done.stderr)
    return parse(done.stdout)
