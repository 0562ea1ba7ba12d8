"""The tracking traffic of bench/soak.py, in a process of its own: clicks on the tracked links
of sent emails at a steady rate, whatever the answers take."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from multiprocessing.connection import Connection

import httpx

from nurture.engine.tracking_links import TouchRef, click_url

CLICKERS = 32  # requests in flight at most
LINKS = ("https://relay.example.com/pricing?plan=team", "https://relay.example.com/demo")
AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/124.0.0.0 Safari/537.36")


def clicker(pipe: Connection, ports: list[int], enrollments: int, rate: float,
            secret: str) -> None:
    """Click the tracked link of a random lead's first email, `rate` times a second, spread
    over the daemons, until told to stop; then send back (answers by status, latencies)."""
    answers: Counter[str] = Counter()
    latencies: list[float] = []
    asyncio.run(_click(pipe, ports, enrollments, rate, secret, answers, latencies))
    pipe.send((dict(answers), latencies))


async def _click(pipe: Connection, ports: list[int], enrollments: int, rate: float,
                 secret: str, answers: Counter[str], latencies: list[float]) -> None:
    """Hit n is due at start + n / rate, whatever the answers take: CLICKERS requests may be
    in flight at once, so slow answers do not lower the rate offered."""
    rng = random.Random(7)
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
               for port in ports]
    started = time.monotonic()
    numbers = itertools.count()

    async def worker() -> None:
        while not pipe.poll():
            number = next(numbers)
            await asyncio.sleep(max(0.0, started + number / rate - time.monotonic()))
            enrollment = rng.randrange(1, enrollments + 1)
            path = click_url("", secret, TouchRef(enrollment, 0),
                             LINKS[enrollment % len(LINKS)])
            began = time.perf_counter()
            try:
                answer = await clients[number % len(clients)].get(
                    path, headers={"User-Agent": AGENT})
                answers[str(answer.status_code)] += 1
                latencies.append(time.perf_counter() - began)
            except httpx.HTTPError as exc:
                answers[type(exc).__name__] += 1

    await asyncio.gather(*(worker() for _ in range(CLICKERS)))
    for client in clients:
        await client.aclose()
