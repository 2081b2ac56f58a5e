"""Optional ``--profile``: sample the hookhub process with py-spy during a wrk run and summarise
where the time goes. py-spy is not a hookhub dependency: ``pip install py-spy`` into the venv.

Sampling uses ``--gil``: only the thread holding the GIL is recorded, i.e. Python-level CPU work.
Samples per second divided by the sampling rate is how busy the GIL was: near 100% means Python
CPU is the bottleneck; far below means the requests wait (locks, the database thread, I/O).

py-spy's ``raw`` output is one collapsed stack per line, ``frame;frame;… count``, each frame
``function (path/module.py:line)``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

RATE = 200
_ENTRY = ("hookhub/cli.py",)  # frames every sample has: not informative
_FILE = re.compile(r"\(([^()]*?):\d+\)$")

# Longest match first: the package a frame's file belongs to.
PACKAGES = (
    "hookhub",
    "fastapi",
    "starlette",
    "pydantic_core",
    "pydantic",
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "uvicorn",
    "httptools",
    "orjson",
    "json",
    "asyncio",
    "uvloop",
    "sqlite3",
    "threading",
    "concurrent",
    "alembic",
    "anyio",
    "ksuid",
    "aiohttp",
    "yarl",
    "multidict",
    "httpx",
    "httpcore",
    "h11",
    "websockets",
    "greenlet",
    "ssl",
    "importlib",
)


def py_spy() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start(pid: int, seconds: int, output: Path) -> subprocess.Popen[bytes] | None:
    """Sample ``pid`` for ``seconds`` in the background (None when py-spy is not installed)."""
    binary = py_spy()
    if binary is None:
        return None
    argv = [binary, "record", "--pid", str(pid), "--duration", str(seconds), "--rate", str(RATE), "--gil"]
    argv += ["--format", "raw", "--nonblocking", "--output", str(output)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def package_of(frame: str) -> str:
    match = _FILE.search(frame)
    path = match.group(1) if match else frame
    parts = re.split(r"[/\\.\s]", path)
    for name in PACKAGES:
        if name in parts:
            return name
    return "other"


def _function(frame: str) -> str:
    match = _FILE.search(frame)
    return frame if not match else f"{frame[: match.start()].strip()} ({match.group(1)})"


@dataclass(slots=True)
class Summary:
    samples: int
    seconds: int
    by_package: list[tuple[str, int]]  # self time: the innermost frame's package
    inclusive: list[tuple[str, int]]  # hookhub functions, time including callees


def summarise(raw: str, seconds: int, top: int = 12) -> Summary:
    packages: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        packages[package_of(frames[-1])] += count
        hookhub_frames = {_function(f) for f in frames if package_of(f) == "hookhub"}
        for function in {f for f in hookhub_frames if not any(e in f for e in _ENTRY)}:
            inclusive[function] += count
    return Summary(total, seconds, packages.most_common(), inclusive.most_common(top))


def render(title: str, summary: Summary) -> str:
    if not summary.samples:
        return f"#### {title}\n\n(no samples)"
    busy = summary.samples / (RATE * summary.seconds) if summary.seconds else 0
    lines = [
        f"#### {title}: {summary.samples} samples, GIL busy {busy:.0%} of the run",
        "",
        "self time by package (share of GIL-holding samples):",
    ]
    lines += [f"  {count / summary.samples:6.1%}  {name}" for name, count in summary.by_package[:12]]
    lines += ["", "hookhub functions, inclusive time:"]
    lines += [f"  {count / summary.samples:6.1%}  {name}" for name, count in summary.inclusive]
    return "\n".join(lines)
