"""Measure page weight and serving speed against a static file server, in one run.

Usage: make bench   (BENCH_SECONDS, BENCH_REPEAT, BENCH_CONNECTIONS, BENCH_WORKERS tune it;
BENCH_ONLY=pages,intake,review picks sections)
Needs wrk and nginx (apt-get install wrk nginx-light). Prints a table and writes
bench/results/latest.json. The baseline is nginx handing out the same gzipped bytes with the
same number of worker processes, so the ratios say what the app costs over a static file.
"""

import gzip
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

from app.db import normalize_url  # noqa: E402
from bench import intake, review  # noqa: E402
from tests.servers import free_port  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
INTAKE_CONNECTIONS = int(os.environ.get("BENCH_INTAKE_CONNECTIONS", "32"))
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
SECTIONS = ("pages", "intake", "review")
ONLY = [s for s in os.environ.get("BENCH_ONLY", ",".join(SECTIONS)).split(",") if s]
NGINX_CONF = """
worker_processes {workers};
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{
            default_type text/html;
            add_header Content-Encoding gzip;
        }}
    }}
}}
"""
PAGE_BUDGET = 14 * 1024
FIRST_VISIT_BUDGET = 17 * 1024
PACK_BUDGET = 150 * 1024


@contextmanager
def serve_app(env: dict[str, str], workers: int = WORKERS):
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory"]
    command += ["--port", str(port), "--workers", str(workers)]
    command += ["--log-level", "warning", "--no-access-log"]
    with running(command, {**os.environ, **env}, port) as base:
        yield base


@contextmanager
def serve_static(root: Path, work: Path):
    port = free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(workers=WORKERS, work=work, port=port, root=root))
    with running(["nginx", "-c", str(conf)], dict(os.environ), port) as base:
        yield base


@contextmanager
def running(command: list[str], env: dict[str, str], port: int):
    process = subprocess.Popen(command, env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(base + "/", timeout=1)
            break
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} did not start") from None
            time.sleep(0.1)
    try:
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def wrk(url: str) -> dict[str, float]:
    """Median over REPEAT runs of wrk: requests/s and latency p50/p99 in milliseconds."""
    runs = []
    for _ in range(REPEAT):
        output = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{CONNECTIONS}",
                f"-d{SECONDS}s",
                "--latency",
                "-H",
                "Accept-Encoding: gzip",
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        if re.search(r"Non-2xx or 3xx responses", output):
            raise SystemExit(f"errors while loading {url}:\n{output}")
        runs.append(
            {
                "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
                "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", output).group(1)),
                "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", output).group(1)),
            }
        )
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main() -> None:
    for tool, package in (("wrk", "wrk"), ("nginx", "nginx-light")):
        if shutil.which(tool) is None:
            raise SystemExit(f"make bench needs {tool}: apt-get install -y {package}")
    work = Path(tempfile.mkdtemp(prefix="frontline-bench-"))
    work.chmod(0o755)  # nginx's workers run as an unprivileged user
    database_url = f"sqlite:///{work / 'bench.db'}"
    env = {"DATABASE_URL": database_url, "FRONTLINE_ENVIRONMENT": "test"}
    frontline = [str(Path(sys.executable).parent / "frontline")]
    subprocess.run([*frontline, "db", "upgrade"], env={**os.environ, **env}, check=True)
    subprocess.run(
        [*frontline, "content", "import", str(ROOT / "content")],
        env={**os.environ, **env},
        check=True,
        capture_output=True,
    )

    results: dict[str, Any] = {
        "settings": {
            "seconds": SECONDS,
            "repeat": REPEAT,
            "connections": CONNECTIONS,
            "workers": WORKERS,
        },
    }
    with serve_app(env) as app:
        content = httpx.get(f"{app}/api/v1/content").json()
    if "pages" in ONLY:
        results.update(pages_bench(env, work, content))
    if "intake" in ONLY:
        results["intake"] = intake_bench(env, feedback_report(content))
    if "review" in ONLY:
        admin_url = os.environ.get(
            "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
        results["review"] = review.run(work, admin_url)
    shutil.rmtree(work)
    report(results)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nJSON: {out / 'latest.json'}")


def pages_bench(env: dict[str, str], work: Path, content: dict[str, Any]) -> dict[str, Any]:
    """Guide pages: weight, role packs, first render, offline search, and speed against nginx."""
    static_dir = work / "static"
    static_dir.mkdir()
    results: dict[str, Any] = {"pages": {}}
    with serve_app(env) as app:
        role = content["roles"][0]["id"]
        practices = content["practices"]
        largest = max(practices, key=lambda p: sum(len(i) for i in p["checklists"][role]))
        pages = {
            "home": "/en/",
            "role": f"/en/{role}/",
            "checklist": f"/en/{role}/{practices[0]['id']}/",
            "checklist (longest)": f"/en/{role}/{largest['id']}/",
            "glossary": "/en/glossary/",
            "sources": "/en/sources/",
            "matrix": "/en/matrix/",
            "search": "/en/search/?q=licence",
            "api content": "/api/v1/content?lang=en",
        }
        first_visit = 0
        for name, path in pages.items():
            raw = httpx.get(app + path).content
            gz = httpx.get(app + path, headers={"Accept-Encoding": "gzip"}).headers
            served = int(gz.get("content-length", 0))
            gzipped = len(gzip.compress(raw, 9))
            file = static_dir / f"{len(results['pages'])}.html"
            file.write_bytes(gzip.compress(raw, 9))
            results["pages"][name] = {
                "path": path,
                "raw_bytes": len(raw),
                "gzip_bytes": gzipped,
                "served_gzip_bytes": served,
                "static_file": file.name,
            }
            if name == "checklist":
                html = raw.decode()
                assets = re.findall(r'(?:stylesheet" href|src)="(/static/[^"]+)"', html)
                asset_bytes = sum(len(gzip.compress(httpx.get(app + a).content, 9)) for a in assets)
                first_visit = gzipped + asset_bytes
        results["first_visit_checklist_gzip_bytes"] = first_visit
        results["role_packs"] = role_packs(app, [r["id"] for r in content["roles"]])
        results["browser"] = browser_timings(app, role, practices[0]["id"])
        for page in results["pages"].values():
            page["app"] = wrk(app + page["path"])

    with serve_static(static_dir, work) as static:
        for page in results["pages"].values():
            page["static"] = wrk(f"{static}/{page['static_file']}")
            page["ratio_rps"] = round(page["app"]["rps"] / page["static"]["rps"], 2)
            page["ratio_p99"] = round(page["app"]["p99_ms"] / page["static"]["p99_ms"], 2)

    return results


def feedback_report(content: dict[str, Any]) -> dict[str, Any]:
    practice = content["practices"][0]
    role = content["roles"][0]["id"]
    return {
        "kind": "unclear",
        "comment": "Which law applies at a land border crossing with no customs office?",
        "post": "Bench post",
        "role": role,
        "practice": practice["id"],
        "item_id": practice["checklists"][role][0]["id"],
        "release_version": content["version"],
        "language": "en",
        "created_at": "2026-11-27T10:00:00+00:00",
    }


def intake_bench(env: dict[str, str], report_body: dict[str, Any]) -> dict[str, Any]:
    """Feedback intake on SQLite, and on PostgreSQL when BENCH_POSTGRES_URL's server answers."""
    admin_url = os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    settings = {"FRONTLINE_BENCHMARK_ENDPOINTS": "1", "FRONTLINE_FEEDBACK_PER_MINUTE": "1000000000"}
    databases = {"sqlite": env["DATABASE_URL"]}
    postgres = intake.new_postgres_database(admin_url)
    if postgres:
        url = make_url(normalize_url(admin_url)).set(database=postgres)
        databases["postgresql"] = url.render_as_string(hide_password=False)
    results = {}
    try:
        for backend, database_url in databases.items():
            backend_env = {**env, **settings, "DATABASE_URL": database_url}
            frontline = [str(Path(sys.executable).parent / "frontline")]
            for args in (["db", "upgrade"], ["content", "import", str(ROOT / "content")]):
                subprocess.run(
                    [*frontline, *args],
                    env={**os.environ, **backend_env},
                    check=True,
                    capture_output=True,
                )
            # One process, as a SQLite deployment runs (its writes take turns anyway), and
            # one per core, as a PostgreSQL deployment may.
            for workers in sorted({1, WORKERS}):
                with serve_app(backend_env, workers) as app:
                    results[f"{backend}, {workers} worker{'s' * (workers > 1)}"] = intake.measure(
                        app, database_url, report_body, INTAKE_CONNECTIONS, SECONDS, REPEAT
                    )
    finally:
        if postgres:
            intake.drop_postgres_database(admin_url, postgres)
    return results


def role_packs(app: str, roles: list[str]) -> dict[str, dict[str, int]]:
    """What a phone stores to carry each role offline: every URL of its offline manifest."""
    packs = {}
    for role in roles:
        manifest = httpx.get(f"{app}/api/v1/offline-manifest?role={role}&lang=en").json()
        gzipped = sum(
            len(gzip.compress(httpx.get(app + entry["url"]).content, 9))
            for entry in manifest["urls"]
        )
        packs[role] = {
            "urls": len(manifest["urls"]),
            "raw_bytes": manifest["total_bytes"],
            "gzip_bytes": gzipped,
        }
    return packs


def browser_timings(app: str, role: str, practice: str) -> dict[str, float]:
    """First render of a checklist on a slow 3G link, and offline search, in Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.browser import PHONE, launch

    renders, searches = [], []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for _ in range(REPEAT):
            context = browser.new_context(viewport=PHONE)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send(
                "Network.emulateNetworkConditions",
                {
                    "offline": False,
                    "latency": 400,
                    "downloadThroughput": 400_000 / 8,
                    "uploadThroughput": 400_000 / 8,
                },
            )
            page.goto(f"{app}/en/{role}/{practice}/", wait_until="load")
            renders.append(
                page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime")
            )
            context.close()
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.goto(f"{app}/en/{role}/")
        page.wait_for_selector("#offline[data-state=ready]", state="attached", timeout=60_000)
        context.set_offline(True)
        page.goto(f"{app}/en/search/?role={role}")
        page.wait_for_function("document.querySelector('#q') && window.performance")
        page.wait_for_timeout(500)
        for word in ("licence", "radiation alarm", "serial number", "end user", "broker"):
            searches.append(
                page.evaluate(
                    """word => {
                const input = document.getElementById('q');
                input.value = word;
                const start = performance.now();
                input.dispatchEvent(new Event('input'));
                return performance.now() - start;
            }""",
                    word,
                )
            )
        context.close()
        browser.close()
    return {
        "first_render_slow_3g_ms": statistics.median(renders),
        "offline_search_ms": statistics.median(searches),
        "offline_search_max_ms": max(searches),
    }


def report(results: dict[str, Any]) -> None:
    if "pages" in results:
        report_pages(results)
    if "intake" in results:
        report_intake(results)
    if "review" in results:
        report_review(results)


def report_pages(results: dict[str, Any]) -> None:
    print(
        f"\n{CONNECTIONS} connections, {WORKERS} worker processes each, {SECONDS}s x {REPEAT} "
        "runs, medians; static = nginx serving the same gzipped bytes; x = app / static\n"
    )
    header = (
        f"{'page':<20} {'raw':>7} {'gzip':>6} {'ok':>3} | {'app rps':>8} {'p50':>6} "
        f"{'p99':>6} | {'static rps':>10} {'p50':>6} {'p99':>6} | {'rps x':>5} {'p99 x':>5}"
    )
    print(header)
    print("-" * len(header))
    for name, page in results["pages"].items():
        app, static = page["app"], page["static"]
        fits = "yes" if page["gzip_bytes"] <= PAGE_BUDGET or name == "api content" else "NO"
        print(
            f"{name:<20} {page['raw_bytes']:>7} {page['gzip_bytes']:>6} {fits:>3} | "
            f"{app['rps']:>8.0f} {app['p50_ms']:>6.2f} {app['p99_ms']:>6.2f} | "
            f"{static['rps']:>10.0f} {static['p50_ms']:>6.2f} {static['p99_ms']:>6.2f} | "
            f"{page['ratio_rps']:>5} {page['ratio_p99']:>5}"
        )
    first = results["first_visit_checklist_gzip_bytes"]
    verdict = "within" if first <= FIRST_VISIT_BUDGET else "OVER"
    print(
        f"\nfirst visit to a checklist (HTML + CSS + JS, gzip): {first} bytes, "
        f"{verdict} the {FIRST_VISIT_BUDGET} budget"
    )
    for role, pack in results["role_packs"].items():
        verdict = "within" if pack["gzip_bytes"] <= PACK_BUDGET else "OVER"
        print(
            f"role pack {role}: {pack['urls']} URLs, {pack['raw_bytes']} bytes raw, "
            f"{pack['gzip_bytes']} gzip, {verdict} the {PACK_BUDGET} budget"
        )
    timings = results["browser"]
    print(
        f"first render of a checklist at 400 kbit/s and 400 ms RTT: "
        f"{timings['first_render_slow_3g_ms']:.0f} ms (budget 2000 ms)"
    )
    print(
        f"offline search as you type: median {timings['offline_search_ms']:.1f} ms, "
        f"worst {timings['offline_search_max_ms']:.1f} ms (budget 100 ms)"
    )


def report_intake(results: dict[str, Any]) -> None:
    print(
        f"\nfeedback intake, {INTAKE_CONNECTIONS} connections; "
        "each run checked: rows stored = 2xx answers, no id twice"
    )
    for backend, figures in results["intake"].items():
        intake_, noop = figures["intake"], figures["noop"]
        print(
            f"{backend:<22} accepted/s {intake_['accepted_per_s']:>7.0f} "
            f"p50 {intake_['p50_ms']:>6.2f} p99 {intake_['p99_ms']:>7.2f} | "
            f"no-op POST {noop['accepted_per_s']:>7.0f}/s "
            f"p50 {noop['p50_ms']:>6.2f} p99 {noop['p99_ms']:>7.2f} | ratio {figures['ratio']}"
        )


def report_review(results: dict[str, Any]) -> None:
    """Inbox pages and charts over 1,000,000 reports (budget 500 ms p50), and the CSV export."""
    review.report(results["review"])


if __name__ == "__main__":
    main()
