"""Feedback intake under load: accepted per second against a no-op POST of the same app."""

import json
import os
import re
import statistics
import subprocess
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from app.db import normalize_url

LUA = Path(__file__).resolve().parent / "post.lua"


def post_load(url: str, report: dict[str, Any], connections: int, seconds: int) -> dict[str, Any]:
    body = json.dumps({**report, "id": "__ID__"})
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(LUA), url],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "BENCH_REPORT": body},
    ).stdout
    statuses = {int(s): int(n) for s, n in re.findall(r"status (\d+) (\d+)", output)}
    ok = sum(n for s, n in statuses.items() if 200 <= s < 300)
    duration = float(re.search(r"requests in ([\d.]+)s", output).group(1))
    return {
        "accepted_per_s": ok / duration,
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
        "statuses": statuses,
        "accepted": ok,
    }


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


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
        if rows != run["accepted"] or ids != rows:
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
