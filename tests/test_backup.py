import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import httpx
from sqlmodel import Session

from app.config import Settings
from app.content.models import Release
from app.content.schema import Guidance
from tests.feedback.test_api import report, rows
from tests.servers import running_server

FRONTLINE = str(Path(sys.executable).parent / "frontline")


def backup(database_url: str, file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FRONTLINE, "backup", str(file)],
        capture_output=True,
        text=True,
        env={"DATABASE_URL": database_url, "PATH": str(Path(sys.executable).parent)},
    )


def test_a_backup_taken_while_reports_arrive_is_consistent_and_restores(
    settings: Settings,
    session: Session,
    guidance: Guidance,
    release: Release,
    tmp_path: Path,
    backend: str,
) -> None:
    copy = tmp_path / "backups" / "frontline.db"
    if backend != "sqlite":
        refused = backup(settings.database_url, copy)
        assert refused.returncode == 1
        assert "pg_dump" in refused.stderr
        assert not copy.exists()
        return

    with running_server(settings.database_url, feedback_per_minute="100000") as base:
        stop = threading.Event()
        sent: list[int] = []

        def keep_reporting() -> None:
            with httpx.Client(base_url=base) as client:
                while not stop.is_set():
                    response = client.post("/api/v1/feedback", json=report(guidance, release))
                    sent.append(response.status_code)

        writer = threading.Thread(target=keep_reporting)
        writer.start()
        try:
            while len(sent) < 50:
                stop.wait(0.05)
            done = backup(settings.database_url, copy)
            while len(sent) < 100:
                stop.wait(0.05)
        finally:
            stop.set()
            writer.join()

    assert done.returncode == 0, done.stderr
    assert "Backed up" in done.stdout
    assert set(sent) == {201}
    with sqlite3.connect(copy) as backed_up:
        assert backed_up.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = backed_up.execute("SELECT count(*) FROM feedback").fetchone()[0]
        releases = backed_up.execute("SELECT count(*) FROM release").fetchone()[0]
    assert 50 <= kept <= len(sent) == rows(session)
    assert releases == 1

    again = backup(settings.database_url, copy)
    assert again.returncode == 1
    assert "exists already" in again.stderr

    with running_server(f"sqlite:///{copy}", feedback_per_minute="100000") as restored:
        assert httpx.get(f"{restored}/healthz").json()["release"] == 1
        page = httpx.get(f"{restored}/en/customs/")
        assert page.status_code == 200
        stored = httpx.post(f"{restored}/api/v1/feedback", json=report(guidance, release))
        assert stored.status_code == 201
    with sqlite3.connect(copy) as restored_db:
        assert restored_db.execute("SELECT count(*) FROM feedback").fetchone()[0] == kept + 1
