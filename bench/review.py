"""The supervisor's review over 1,000,000 field reports: inbox pages, chart aggregates, export.

Reports are generated in Python from the real guidance in content/ (every role, practice and
item, a year of dates, skewed kinds, statuses, posts and languages) and bulk loaded: one
executemany in a single transaction on SQLite, COPY on PostgreSQL. Pages are then timed over
HTTP against a running server (one process), signed in as a supervisor; each figure is the
p50 and p90 of BENCH_REVIEW_REPEAT sequential requests.

Run alone: python bench/review.py (BENCH_REVIEW_ROWS, BENCH_REVIEW_REPEAT tune it).
"""

import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.auth import service as auth  # noqa: E402
from app.auth.deps import COOKIE  # noqa: E402
from app.content import loader  # noqa: E402
from app.db import normalize_url  # noqa: E402
from bench import intake  # noqa: E402
from tests.servers import free_port  # noqa: E402

ROWS = int(os.environ.get("BENCH_REVIEW_ROWS", "1000000"))
REPEAT = int(os.environ.get("BENCH_REVIEW_REPEAT", "20"))
CHUNK = 50_000
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
KINDS = {
    "unclear": 30,
    "incorrect": 8,
    "missing": 14,
    "not_applicable": 10,
    "worked_well": 28,
    "other": 10,
}
STATUSES = {"new": 55, "acknowledged": 15, "forwarded": 10, "resolved": 14, "dismissed": 6}
LANGUAGES = {"en": 55, "fr": 15, "es": 10, "ar": 12, "ru": 5, "zh": 3}
POSTS = [f"Post {name}" for name in ("North", "South", "Port", "Airport", "Rail", "Lake")] + [
    f"Border crossing {n}" for n in range(1, 35)
]
COMMENTS = [
    "",
    "",
    "Which law applies at a land border crossing with no customs office?",
    "The licence number format changed last year; the example is out of date.",
    "Not clear who to call after hours when the licensing office is closed.",
    "We have no radiation detector at this post, so this step cannot be done.",
    "Worked well: we stopped a shipment with a forged end-user certificate.",
    "The list of dual-use codes should mention the HS chapter 93 headings.",
    "Le certificat d'utilisateur final n'est pas toujours signé ; que faire ?",
    "¿Qué hacer si el transportista no tiene la licencia de tránsito?",
    "لا يوجد مكتب جمارك في هذا المعبر الحدودي",
    "Проверка маркировки занимает слишком много времени на границе.",
    "检查标记需要太长时间",
    "Missing: what to do when the consignee refuses the inspection.",
    "The brokering rules are unclear for services such as financing and transport.",
    "Transit vs transshipment: the difference is not explained here.",
]
PAGES = {
    "inbox, first page": "",
    "inbox, status=new": "status=new",
    "inbox, role+kind": "role=customs&kind=unclear",
    "inbox, practice+dates": "practice=end-use&from=2026-06-01&to=2026-06-30",
    "inbox, post+status": "post=Post+Port&status=resolved",
    "inbox, language, sorted by kind": "language=ar&sort=kind",
    "inbox, two words": "q=border+crossing",
    "inbox, page 200": "page=200",
    "charts, no filter": "",
    "charts, role": "role=police",
    "charts, kind+dates": "kind=problem&from=2026-03-01&to=2026-08-31",
}


def weighted(rng: random.Random, choices: dict[str, int], n: int) -> list[str]:
    return rng.choices(list(choices), weights=list(choices.values()), k=n)


def places(content_dir: Path) -> tuple[list[tuple[str, str, str | None]], list[float]]:
    """Every item of the guidance and every checklist (no item), hot ones weighted up."""
    guidance = loader.load(content_dir)
    found: list[tuple[str, str, str | None]] = []
    for practice in guidance.practices:
        for role, items in practice.checklists.items():
            found.append((role, practice.id, None))
            found.extend((role, practice.id, item.id) for item in items)
    rng = random.Random(7)
    order = list(range(len(found)))
    rng.shuffle(order)
    # A few items draw most reports, as with real guidance (Zipf-like).
    weights = [0.0] * len(found)
    for rank, index in enumerate(order, start=1):
        weights[index] = 1 / rank**0.8
    return found, weights


def rows(count: int, seed: int = 1) -> Iterator[list[tuple[Any, ...]]]:
    """Reports in lists of CHUNK: (id, kind, comment, post, role, practice, item_id,
    release_version, language, created_at, received_at, status, body_hash)."""
    rng = random.Random(seed)
    found, weights = places(ROOT / "content")
    year = 365 * 24 * 3600
    done = 0
    while done < count:
        n = min(CHUNK, count - done)
        kinds = weighted(rng, KINDS, n)
        statuses = weighted(rng, STATUSES, n)
        languages = weighted(rng, LANGUAGES, n)
        where = rng.choices(found, weights=weights, k=n)
        chunk = []
        for i in range(n):
            received = NOW - timedelta(seconds=rng.random() * year)
            created = received - timedelta(seconds=rng.random() * 3 * 24 * 3600)
            role, practice, item_id = where[i]
            chunk.append(
                (
                    uuid.UUID(int=rng.getrandbits(128), version=4),
                    kinds[i],
                    rng.choice(COMMENTS),
                    rng.choice(POSTS) if rng.random() < 0.7 else None,
                    role,
                    practice,
                    item_id,
                    1,
                    languages[i],
                    created,
                    received,
                    statuses[i],
                    f"{rng.getrandbits(256):064x}",
                )
            )
        done += n
        yield chunk


COLUMNS = (
    "id, kind, comment, post, role, practice, item_id, release_version, language, "
    "created_at, received_at, status, body_hash"
)


def _sqlite_time(value: datetime) -> str:
    # How SQLAlchemy stores a UTC datetime in SQLite.
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def load(database_url: str, count: int) -> float:
    """Insert `count` reports; return the seconds it took (generation included)."""
    started = time.perf_counter()
    url = make_url(normalize_url(database_url))
    if url.get_backend_name() == "sqlite":
        import sqlite3

        connection = sqlite3.connect(url.database or "", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-400000")
        connection.execute("BEGIN")
        statement = (
            f"INSERT INTO feedback ({COLUMNS}, contact) VALUES ({', '.join('?' * 13)}, NULL)"
        )
        for chunk in rows(count):
            connection.executemany(
                statement,
                [
                    (r[0].hex, *r[1:9], _sqlite_time(r[9]), _sqlite_time(r[10]), *r[11:])
                    for r in chunk
                ],
            )
        connection.execute("COMMIT")
        connection.execute("ANALYZE")
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
    else:
        import psycopg

        conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as connection:
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY feedback ({COLUMNS}) FROM STDIN") as copy,
            ):
                for chunk in rows(count):
                    for row in chunk:
                        copy.write_row(row)
            # A fresh table has no visibility map: index-only scans need one, as after autovacuum.
            connection.execute("VACUUM ANALYZE feedback")
    return time.perf_counter() - started


def supervisor_cookie(database_url: str) -> str:
    engine = create_engine(normalize_url(database_url))
    with Session(engine) as session:
        user = auth.create_user(
            session,
            email="bench-supervisor@example.org",
            role="supervisor",
            password="bench supervisor password",  # noqa: S106
            actor=None,
        )
        token = auth.start_session(session, user, hours=2)
    engine.dispose()
    return token


@contextmanager
def serve(database_url: str) -> Iterator[tuple[str, int]]:
    """The app in one process (sequential requests measure latency, not throughput)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, "FRONTLINE_ENVIRONMENT": "test"}
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    command += ["--port", str(port), "--log-level", "warning", "--no-access-log"]
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/healthz", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the app did not start") from None
            time.sleep(0.1)
    try:
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def timed(client: httpx.Client, url: str, repeat: int) -> dict[str, float]:
    client.get(url).raise_for_status()  # warm: the first request reads pages from disk
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 1),
        "p90_ms": round(times[int(len(times) * 0.9) - 1], 1),
    }


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def measure(base: str, pid: int, cookie: str, repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with httpx.Client(base_url=base, cookies={COOKIE: cookie}, timeout=600) as client:
        for name, query in PAGES.items():
            path = "/admin/feedback/charts" if name.startswith("charts") else "/admin/feedback"
            results[name] = timed(client, f"{path}?{query}", repeat)
        before = peak_rss_kb(pid)
        started = time.perf_counter()
        size = 0
        with client.stream("GET", "/admin/feedback/export.csv") as response:
            response.raise_for_status()
            for part in response.iter_bytes():
                size += len(part)
        results["export csv"] = {
            "seconds": round(time.perf_counter() - started, 1),
            "bytes": size,
            "server_peak_rss_mb_before": round(before / 1024, 1),
            "server_peak_rss_mb_after": round(peak_rss_kb(pid) / 1024, 1),
        }
    return results


def bench_database(database_url: str, count: int, repeat: int) -> dict[str, Any]:
    frontline = [str(Path(sys.executable).parent / "frontline")]
    env = {**os.environ, "DATABASE_URL": database_url}
    for args in (["db", "upgrade"], ["content", "import", str(ROOT / "content")]):
        subprocess.run([*frontline, *args], env=env, check=True, capture_output=True)
    seconds = load(database_url, count)
    cookie = supervisor_cookie(database_url)
    with serve(database_url) as (base, pid):
        figures = measure(base, pid, cookie, repeat)
    return {"rows": count, "generation_s": round(seconds, 1), **figures}


def run(work: Path, admin_url: str, count: int = ROWS, repeat: int = REPEAT) -> dict[str, Any]:
    """Both databases: SQLite in `work`, PostgreSQL in a fresh database when one answers."""
    results = {"sqlite": bench_database(f"sqlite:///{work / 'review.db'}", count, repeat)}
    postgres = intake.new_postgres_database(admin_url)
    if postgres:
        url = make_url(normalize_url(admin_url)).set(database=postgres)
        try:
            results["postgresql"] = bench_database(
                url.render_as_string(hide_password=False), count, repeat
            )
        finally:
            intake.drop_postgres_database(admin_url, postgres)
    return results


def report(results: dict[str, Any]) -> None:
    print(f"\nsupervisor review over HTTP, one server process, {REPEAT} sequential requests each")
    for backend, figures in results.items():
        print(
            f"\n{backend}: {figures['rows']:,} reports generated and loaded in "
            f"{figures['generation_s']} s"
        )
        for name in PAGES:
            p = figures[name]
            verdict = "ok" if p["p50_ms"] < 500 else "OVER"
            print(f"  {name:<34} p50 {p['p50_ms']:>7.1f} ms  p90 {p['p90_ms']:>7.1f} ms  {verdict}")
        export = figures["export csv"]
        print(
            f"  {'export csv (all reports)':<34} {export['seconds']} s, "
            f"{export['bytes'] / 1e6:.0f} MB; server peak RSS {export['server_peak_rss_mb_before']}"
            f" MB before, {export['server_peak_rss_mb_after']} MB after"
        )


if __name__ == "__main__":
    import tempfile

    admin = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with tempfile.TemporaryDirectory(prefix="frontline-review-") as directory:
        report(run(Path(directory), admin))
