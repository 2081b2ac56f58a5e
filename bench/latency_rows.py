"""Rows for the light-load latency scenarios (relay, fan-out, end-to-end), each compared with the
baseline round trip measured by the same client."""

from __future__ import annotations

import asyncio

from bench import latency, setup
from bench.figures import NotAvailable, Row, check, median, ms, ms_pair, p50_p99, times


def relay(base_url: str, source: setup.Source, count: int, baseline_p50: float) -> list[Row]:
    result = asyncio.run(latency.relay_latency(base_url, source.ingest_path, source.key, count))
    if not result.latencies_ms:
        raise NotAvailable(f"n/a (no event reached the listener; {result.lost} lost)")
    p50, p99 = p50_p99(result.latencies_ms)
    lost = f" ({result.lost} lost)" if result.lost else ""
    return [
        Row(
            "5. relay ingest -> listener p50 / p99" + lost,
            ms_pair(p50, p99),
            "",
            times(p50, baseline_p50),
            "p50 <= 5 ms",
            check(p50 <= 5),
        )
    ]


def fan_out(
    base_url: str, source: setup.Source, listeners: int, rounds: int, baseline_p50: float
) -> list[Row]:
    result = asyncio.run(latency.fan_out(base_url, source.ingest_path, source.key, listeners, rounds))
    if not result.rounds_ms:
        raise NotAvailable(f"n/a (no round reached all {result.listeners} listeners)")
    missed = f" ({result.incomplete} rounds incomplete)" if result.incomplete else ""
    med = median(result.rounds_ms)
    return [
        Row(
            f"5. fan-out to {result.listeners} listeners, all received: median / max{missed}",
            f"{ms(med)} / {ms(max(result.rounds_ms))}",
            "",
            times(med, baseline_p50),
        )
    ]


def end_to_end(
    msg_url: str,
    headers: dict[str, str],
    receiver_url: str,
    count: int,
    gap: float,
    baseline_p50: float,
) -> list[Row]:
    result = asyncio.run(latency.message_to_receiver(msg_url, headers, receiver_url, count, gap, wait=10))
    if not result.delivered_ms:
        raise NotAvailable("n/a (no message reached the receiver within 10 s)")
    c50, c99 = p50_p99(result.create_ms)
    d50, d99 = p50_p99(result.delivered_ms)
    lost = len(result.delivered_ms) < result.sent
    note = f" ({len(result.delivered_ms)} of {result.sent} arrived)" if lost else ""
    return [
        Row(
            "4. message create round trip p50 / p99 (1 client)",
            ms_pair(c50, c99),
            "",
            times(c50, baseline_p50),
        ),
        Row(
            f"4. end-to-end message -> receiver p50 / p99{note}",
            ms_pair(d50, d99),
            "",
            times(d50, baseline_p50),
            "p50 <= 10 ms",
            check(d50 <= 10),
        ),
    ]
