"""Feedback intake under load: accepted per second against a no-op POST of the same app."""

import asyncio
import json
import statistics
import time
import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import uvloop
from sqlalchemy import create_engine, text

from app.db import normalize_url


def post_load(url: str, report: dict[str, Any], connections: int, seconds: int) -> dict[str, Any]:
    """POST reports with new ids from `connections` clients for `seconds`; every request that
    was sent is also answered before this returns, so 2xx answers can be compared with rows.

    The clients share one event loop speaking plain HTTP/1.1, so that the load costs little of
    the CPU the server is measured on."""
    target = urlsplit(url)
    template = json.dumps({**report, "id": "__ID__"})
    latencies: list[float] = []
    statuses: Counter[int] = Counter()

    async def client(number: int, deadline: float) -> None:
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        sent = 0
        while time.monotonic() < deadline:
            sent += 1
            body = template.replace("__ID__", f"{number:08x}-0000-4000-8000-{sent:012x}").encode()
            head = (
                f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            started = time.perf_counter()
            writer.write(head.encode() + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] += 1
        writer.close()
        await writer.wait_closed()

    async def load() -> float:
        started = time.monotonic()
        deadline = started + seconds
        await asyncio.gather(*(client(number, deadline) for number in range(connections)))
        return time.monotonic() - started

    duration = uvloop.run(load())
    every = sorted(latencies)
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    return {
        "accepted_per_s": ok / duration,
        "p50_ms": every[len(every) // 2],
        "p99_ms": every[int(len(every) * 0.99)],
        "statuses": dict(statuses),
        "accepted": ok,
    }


def stored(database_url: str) -> tuple[int, int]:
    """Rows in the feedback table, and distinct ids among them."""
    engine = create_engine(normalize_url(database_url))
    with engine.connect() as connection:
        rows, ids = connection.execute(
            text("SELECT count(*), count(DISTINCT id) FROM feedback")
        ).one()
    engine.dispose()
    return int(rows), int(ids)


def clear(database_url: str) -> None:
    engine = create_engine(normalize_url(database_url))
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM feedback"))
        connection.execute(text("DELETE FROM rate_limit"))
    engine.dispose()


def measure(
    base: str,
    database_url: str,
    report: dict[str, Any],
    connections: int,
    seconds: int,
    repeat: int,
) -> dict[str, Any]:
    """Median over `repeat` runs of intake and of the no-op, each run checked for lost rows."""
    intake_runs, noop_runs = [], []
    for _ in range(repeat):
        clear(database_url)
        run = post_load(f"{base}/api/v1/feedback", report, connections, seconds)
        rows, ids = stored(database_url)
        run["rows"], run["distinct_ids"] = rows, ids
        if rows != run["accepted"] or ids != rows or set(run["statuses"]) != {201}:
            raise SystemExit(f"intake lost or doubled reports: {run}")
        intake_runs.append(run)
        noop_runs.append(post_load(f"{base}/api/v1/noop", report, connections, seconds))
    result: dict[str, Any] = {
        "intake": _median(intake_runs),
        "noop": _median(noop_runs),
        "checks": [
            {k: r[k] for k in ("accepted", "rows", "distinct_ids", "statuses")} for r in intake_runs
        ],
    }
    result["ratio"] = round(
        result["intake"]["accepted_per_s"] / result["noop"]["accepted_per_s"], 2
    )
    return result


def _median(runs: list[dict[str, Any]]) -> dict[str, float]:
    keys = ("accepted_per_s", "p50_ms", "p99_ms")
    return {key: round(statistics.median(run[key] for run in runs), 2) for key in keys}


def new_postgres_database(admin_url: str) -> str | None:
    """A fresh database on the PostgreSQL server at `admin_url`, or None when none answers."""
    name = f"frontline_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - report and go on with SQLite alone
        print(f"PostgreSQL at {admin_url} did not answer ({exc}); intake measured on SQLite only")
        return None
    return name


def drop_postgres_database(admin_url: str, name: str) -> None:
    engine = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    engine.dispose()
