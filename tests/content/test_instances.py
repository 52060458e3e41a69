import time
from pathlib import Path

import httpx
from sqlmodel import Session

from app.content import loader
from app.content import service as content
from app.content.schema import Guidance
from tests.factories import guidance as guidance_files
from tests.factories import write_content
from tests.servers import running_server


def served_version(base: str) -> int:
    return int(httpx.get(f"{base}/api/v1/content", timeout=5).json()["version"])


def test_two_server_processes_serve_a_new_release_within_5_seconds(
    database_url: str, session: Session, guidance: Guidance, tmp_path: Path
) -> None:
    content.import_release(session, guidance, notes="")
    files = guidance_files()
    files["roles.yaml"][0]["name"] = "Border and customs"
    changed = loader.load(write_content(tmp_path, files))

    with (
        running_server(database_url, release_check_seconds="2") as first,
        running_server(database_url, release_check_seconds="2") as second,
    ):
        assert [served_version(first), served_version(second)] == [1, 1]
        content.import_release(session, changed, notes="While serving")
        imported_at = time.monotonic()
        seen: dict[str, float] = {}
        while len(seen) < 2 and time.monotonic() - imported_at < 10:
            for base in (first, second):
                if base not in seen and served_version(base) == 2:
                    seen[base] = time.monotonic() - imported_at
            time.sleep(0.1)
        pages = [httpx.get(f"{base}/en/").text for base in (first, second)]

    assert sorted(seen) == sorted([first, second])
    assert max(seen.values()) < 5
    assert all("Border and customs" in page for page in pages)
