"""The load generators of bench/tracking.py: wrk (Debian's `wrk`, with bench/tracking.lua) when
it is installed, else a loop of httpx requests in this process.

wrk is C and costs the server's machine next to nothing per request (it shares the 2 cores
with the app and PostgreSQL); the httpx loop costs about as much CPU per request as the app
does, so on a small machine it holds the figures down. wrk runs for a duration, cycling
through the planned hits; the httpx loop sends each planned hit once.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

SCRIPT = Path(__file__).resolve().with_name("tracking.lua")
ANSWERS = {"open": 200, "click": 302}  # what a hit of each kind gets when it is stored


@dataclass(frozen=True)
class PlannedHit:
    kind: str  # "open" or "click"
    path: str
    agent: str


@dataclass
class LoadResult:
    generator: str
    seconds: float = 0.0
    load_cpu: float = 0.0  # CPU seconds of the load generator
    completed: int = 0  # requests answered
    latency_ms: dict[str, float] = field(default_factory=dict)  # p50, p90, p99, max
    answers: Counter[str] = field(default_factory=Counter)  # by status code or error
    sent: Counter[str] = field(default_factory=Counter)  # hits sent, by kind

    @property
    def succeeded(self) -> Counter[str]:
        """Hits answered as stored, by kind (an open gets 200, a click 302)."""
        return Counter({kind: self.answers[str(status)] for kind, status in ANSWERS.items()})


def wrk_path() -> str | None:
    return shutil.which("wrk")


def fire(generator: str, base_url: str, planned: list[PlannedHit], concurrency: int,
         seconds: float) -> LoadResult:
    """Run `generator` ("wrk" or "httpx") against the app."""
    if generator == "wrk":
        return fire_wrk(base_url, planned, concurrency, seconds)
    return asyncio.run(fire_httpx(base_url, planned, concurrency))


def fire_wrk(base_url: str, planned: list[PlannedHit], concurrency: int,
             seconds: float) -> LoadResult:
    """wrk with one thread and `concurrency` kept-alive connections for `seconds`."""
    wrk = wrk_path()
    assert wrk is not None, "wrk is not installed (apt-get install wrk)"
    with tempfile.NamedTemporaryFile("w", suffix=".tsv") as plan_file:
        plan_file.writelines(f"{hit.kind}\t{hit.path}\t{hit.agent}\n" for hit in planned)
        plan_file.flush()
        command = [wrk, "--threads", "1", "--connections", str(concurrency), "--duration",
                   f"{seconds:g}s", "--timeout", "10s", "--script", str(SCRIPT), base_url,
                   "--", plan_file.name]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {name: float(value) for name, value in
               (line.split() for line in output.splitlines() if line.count(" ") == 1)}
    result = LoadResult("wrk", figures["duration_us"] / 1e6,
                        (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
                        int(figures["completed"]))
    result.latency_ms = {name: figures[f"{name}_us"] / 1000
                         for name in ("p50", "p90", "p99", "max")}
    for name, value in figures.items():
        if name.startswith("answer_"):
            result.answers[name.removeprefix("answer_")] += int(value)
        elif name.startswith("error_") and name != "error_status" and value:
            result.answers[name.removeprefix("error_")] += int(value)
        elif name.startswith("sent_"):
            result.sent[name.removeprefix("sent_")] += int(value)
    return result


async def fire_httpx(base_url: str, planned: list[PlannedHit], concurrency: int) -> LoadResult:
    """Every planned hit once, `concurrency` in flight at a time over kept-alive connections."""
    result = LoadResult("httpx")
    latencies: list[float] = []
    pending = iter(planned)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for hit in pending:  # one iterator shared by all workers: each hit is sent once
                result.sent[hit.kind] += 1
                started = time.perf_counter()
                try:
                    response = await client.get(hit.path, headers={"User-Agent": hit.agent})
                except httpx.HTTPError as exc:
                    result.answers[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                result.answers[str(response.status_code)] += 1

        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
        result.load_cpu = time.process_time() - cpu
    latencies.sort()
    result.completed = len(latencies)
    result.latency_ms = {f"p{share}": latencies[min(len(latencies) - 1,
                                                    share * len(latencies) // 100)] * 1000
                         for share in (50, 90, 99)}
    result.latency_ms["max"] = latencies[-1] * 1000
    return result
