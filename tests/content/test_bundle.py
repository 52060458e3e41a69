import io
import stat
import struct
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, func
from sqlmodel import Session, select

from app import cli
from app.config import Settings
from app.content import bundle, loader
from app.content import service as content
from app.content.models import Draft, Release
from app.content.schema import Guidance
from app.errors import InvalidContent
from tests.factories import guidance as guidance_files
from tests.factories import practice, write_content

FORMAT_FILES = [
    "roles.yaml",
    "regimes.yaml",
    "sources.yaml",
    "glossary.yaml",
    "about.md",
    "practices/01-legal-framework.yaml",
    "practices/02-control-lists.yaml",
]
BILLION_LAUGHS = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


def member(name: str, mode: int = stat.S_IFREG | 0o644) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def zip_of(files: dict[str, bytes | str], *extra: tuple[zipfile.ZipInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names, which tests want
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, data in files.items():
                archive.writestr(member(name), data)
            for info, data in extra:
                archive.writestr(info, data)
    return buffer.getvalue()


def folder_files(folder: Path, prefix: str = "") -> dict[str, bytes | str]:
    return {
        prefix + path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def valid_files(tmp_path: Path, prefix: str = "") -> dict[str, bytes | str]:
    return folder_files(write_content(tmp_path / "folder"), prefix)


def patch_central_directory(data: bytes, name: str, offset: int, value: int) -> bytes:
    """Overwrite a 4-byte field of one member's central directory header."""
    start = 0
    while (start := data.index(b"PK\x01\x02", start + 1)) >= 0:
        if data[start + 46 : start + 46 + len(name)] == name.encode():
            field = start + offset
            return data[:field] + struct.pack("<I", value) + data[field + 4 :]
    raise AssertionError(name)


def refused(data: bytes) -> list[str]:
    with pytest.raises(InvalidContent) as raised:
        bundle.read_bundle(data)
    return [str(error) for error in raised.value.errors]


@pytest.fixture
def no_extraction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the bundle gets as far as being written to disk."""

    def extract(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bundle was extracted")

    monkeypatch.setattr(tempfile, "TemporaryDirectory", extract)


def release_count(engine: Engine) -> int:
    """Counted in a new session: an open one may still read from before the command ran."""
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Release)).one()


@pytest.fixture
def frontline(settings: Settings) -> Iterator[Callable[..., Result]]:
    """Run the `frontline` command against the test database."""
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})
    cli.get_settings.cache_clear()
    yield lambda *args: runner.invoke(cli.main, [str(arg) for arg in args])
    cli.get_settings.cache_clear()


def test_export_of_shipped_content_loads_back_with_the_same_hash(
    guidance: Guidance, tmp_path: Path
) -> None:
    data = bundle.export_bundle(guidance)
    zipfile.ZipFile(io.BytesIO(data)).extractall(tmp_path)

    loaded = loader.load(tmp_path)

    assert loaded == guidance
    assert content.content_hash(loaded) == content.content_hash(guidance)
    assert content.content_hash(bundle.read_bundle(data)) == content.content_hash(guidance)


def test_export_names_files_as_the_content_folder_does(guidance: Guidance) -> None:
    names = zipfile.ZipFile(io.BytesIO(bundle.export_bundle(guidance))).namelist()

    shipped = [
        path.relative_to(Path("content")).as_posix()
        for path in Path("content").rglob("*")
        if path.is_file() and path.name != "README.md"
    ]
    assert sorted(names) == sorted(shipped)
    assert names[:5] == ["roles.yaml", "regimes.yaml", "sources.yaml", "glossary.yaml", "about.md"]


def test_export_writes_the_same_bytes_for_the_same_guidance(guidance: Guidance) -> None:
    assert bundle.export_bundle(guidance) == bundle.export_bundle(guidance.model_copy(deep=True))


def test_export_round_trips_non_ascii_and_yaml_lookalike_text(tmp_path: Path) -> None:
    files = guidance_files()
    files["roles.yaml"][0]["name"] = "Douanes et frontières"
    files["roles.yaml"][1]["summary"] = "Агенты на границе — 边境官员 — ضباط الحدود 🛃"
    files["glossary.yaml"][0]["definition"] = (
        "Le « courtage » : négocier ou organiser un transfert d’armes entre pays tiers, "
        "sans que les marchandises transitent par le pays du courtier — *voir* l’art. 10."
    )
    items = files["practices/01-legal-framework.yaml"]["checklists"]["customs"]
    items[0]["action"] = "null"
    items[1]["action"] = "- yes: 'single' \"double\" #not-a-comment &anchor *alias"
    files["practices/02-control-lists.yaml"]["title"] = "Listes de contrôle : « ÀÉÎÕÜ »"
    files["about.md"] = "# À propos\r\n\r\nÉditeur : Ωmega ✓\n\n  indented\n"
    original = loader.load(write_content(tmp_path, files))

    data = bundle.export_bundle(original)

    assert bundle.read_bundle(data) == original
    assert content.content_hash(bundle.read_bundle(data)) == content.content_hash(original)
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert "Douanes et frontières" in archive.read("roles.yaml").decode("utf-8")
    assert archive.read("about.md") == (tmp_path / "about.md").read_bytes()


def test_export_numbers_practices_wide_enough_to_keep_their_order(tmp_path: Path) -> None:
    files = {name: data for name, data in guidance_files().items() if "practices/" not in name}
    for number in range(101):
        practice_id = f"p{200 - number}"  # ids in reverse order, so only the numbers order them
        files[f"practices/{number:03d}-{practice_id}.yaml"] = practice(practice_id, "Practice")
    original = loader.load(write_content(tmp_path, files))

    data = bundle.export_bundle(original)

    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert names[5] == "practices/001-p200.yaml"
    assert names[-1] == "practices/101-p100.yaml"
    assert bundle.read_bundle(data).practices == original.practices


def test_read_accepts_the_format_at_the_top_of_the_zip(tmp_path: Path) -> None:
    expected = loader.load(write_content(tmp_path / "expected"))

    assert bundle.read_bundle(zip_of(valid_files(tmp_path))) == expected


def test_read_accepts_a_zipped_content_folder_with_readme_and_macos_extras(
    tmp_path: Path,
) -> None:
    files = valid_files(tmp_path, prefix="content/")
    files["content/README.md"] = "# The guidance, as files\n"
    files["__MACOSX/content/._roles.yaml"] = b"\x00\x05\x16\x07 not text"
    files["content/.DS_Store"] = b"\x00\x00\x00\x01Bud1"
    folder_entries = [(member(name, stat.S_IFDIR | 0o755), b"") for name in ("content/",)]
    expected = loader.load(write_content(tmp_path / "expected"))

    assert bundle.read_bundle(zip_of(files, *folder_entries)) == expected


def test_read_reports_content_problems_with_the_path_inside_the_zip(tmp_path: Path) -> None:
    files = guidance_files()
    files["practices/01-legal-framework.yaml"]["checklists"]["licensing"][0]["refs"] = [
        {"source": "atx"}
    ]
    folder = write_content(tmp_path / "folder", files)

    found = refused(zip_of(folder_files(folder, prefix="content/")))

    assert len(found) == 1
    assert found[0].startswith("content/practices/01-legal-framework.yaml:")
    assert found[0].endswith("checklists.licensing[0].refs[0].source: unknown source 'atx'")


def test_read_reports_missing_files_like_the_loader(tmp_path: Path) -> None:
    files = valid_files(tmp_path)
    del files["sources.yaml"]

    assert "sources.yaml: file is missing" in refused(zip_of(files))


def test_read_refuses_data_that_is_not_a_zip(no_extraction: None) -> None:
    assert refused(b"roles.yaml: not a zip") == ["the bundle is not a zip file"]


def test_read_refuses_a_bundle_larger_than_the_limit(no_extraction: None) -> None:
    data = b"PK" + b"\x00" * bundle.MAX_BUNDLE_BYTES

    assert refused(data) == ["the bundle is larger than 20,000,000 bytes"]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("/etc/cron.d/roles.yaml", "absolute paths are not allowed"),
        ("../roles.yaml", "'..' is not allowed in paths"),
        ("practices/../../outside.yaml", "'..' is not allowed in paths"),
        ("practices\\01-x.yaml", "backslashes are not allowed in paths"),
        ("..\\..\\roles.yaml", "backslashes are not allowed in paths"),
        ("C:/Windows/roles.yaml", "drive letters and colons are not allowed in paths"),
        ("c:roles.yaml", "drive letters and colons are not allowed in paths"),
        ("practices//01-x.yaml", "empty or '.' path parts are not allowed"),
        ("./roles.yaml", "empty or '.' path parts are not allowed"),
    ],
)
def test_read_refuses_a_path_that_escapes_the_folder(
    tmp_path: Path, no_extraction: None, name: str, reason: str
) -> None:
    files = valid_files(tmp_path)
    files[name] = "- id: customs\n"

    assert refused(zip_of(files)) == [f"{name}: {reason}"]


def test_read_refuses_control_characters_and_shows_the_name_escaped(
    tmp_path: Path, no_extraction: None
) -> None:
    files = valid_files(tmp_path)
    files["practices/\x1b[2J03-x.yaml"] = "id: x\n"

    assert refused(zip_of(files)) == [
        "'practices/\\x1b[2J03-x.yaml': control characters are not allowed in paths"
    ]


def test_read_refuses_a_symbolic_link(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path)
    del files["about.md"]
    link = member("about.md", stat.S_IFLNK | 0o777)

    assert refused(zip_of(files, (link, b"/etc/passwd"))) == [
        "about.md: symbolic links are not allowed"
    ]


def test_read_refuses_a_folder_that_is_a_symbolic_link(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path)
    link = member("practices", stat.S_IFLNK | 0o777)

    assert refused(zip_of(files, (link, b"/etc"))) == ["practices: symbolic links are not allowed"]


@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK])
def test_read_refuses_a_member_that_is_not_a_regular_file(
    tmp_path: Path, no_extraction: None, kind: int
) -> None:
    files = valid_files(tmp_path)
    del files["glossary.yaml"]
    special = member("glossary.yaml", kind | 0o644)

    assert refused(zip_of(files, (special, b""))) == [
        "glossary.yaml: only regular files and folders are allowed"
    ]


def test_read_refuses_a_member_over_the_size_limit(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path)
    files["about.md"] = "x" * (bundle.MAX_FILE_BYTES + 1)

    assert refused(zip_of(files)) == ["about.md: file is larger than 1,000,000 bytes"]


def test_read_refuses_a_member_whose_header_understates_its_size(
    tmp_path: Path, no_extraction: None
) -> None:
    files = valid_files(tmp_path)
    files["about.md"] = "x" * (2 * bundle.MAX_FILE_BYTES)
    data = patch_central_directory(zip_of(files), "about.md", 24, 100)  # uncompressed size

    found = refused(data)

    assert len(found) == 1
    assert found[0].startswith("about.md: the file is damaged (Bad CRC-32"), found


def test_read_refuses_a_member_whose_header_overstates_its_size(
    tmp_path: Path, no_extraction: None
) -> None:
    files = valid_files(tmp_path)
    size = len(files["about.md"])
    data = patch_central_directory(zip_of(files), "about.md", 24, size + 10)

    found = refused(data)

    assert len(found) == 1
    assert found[0].startswith("about.md: the file is damaged"), found


def test_read_refuses_more_than_500_files(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path)
    for number in range(bundle.MAX_FILES + 1 - len(files)):
        files[f"practices/{number + 10:03d}-extra.yaml"] = "id: extra\n"

    assert refused(zip_of(files)) == ["the bundle holds 501 files and folders; at most 500 allowed"]


def test_read_refuses_content_over_the_total_limit(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path)
    for number in range(bundle.MAX_TOTAL_BYTES // bundle.MAX_FILE_BYTES):
        files[f"practices/{number + 10:02d}-padding.yaml"] = "#" * bundle.MAX_FILE_BYTES

    assert refused(zip_of(files)) == ["the bundle's files add up to more than 20,000,000 bytes"]


def test_read_refuses_an_encrypted_member(tmp_path: Path, no_extraction: None) -> None:
    data = zip_of(valid_files(tmp_path))
    start = data.index(b"PK\x01\x02")  # the first member's central directory header
    flags = struct.unpack("<H", data[start + 8 : start + 10])[0] | 0x1
    data = data[: start + 8] + struct.pack("<H", flags) + data[start + 10 :]

    assert refused(data) == ["about.md: encrypted files are not allowed"]


def test_read_refuses_a_file_given_twice(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path)

    found = refused(zip_of(files, (member("roles.yaml"), b"- id: other\n")))

    assert found == ["roles.yaml: the bundle holds this file more than once"]


def test_read_refuses_text_that_is_not_utf8_naming_the_file(
    tmp_path: Path, no_extraction: None
) -> None:
    files = valid_files(tmp_path, prefix="content/")
    files["content/about.md"] = "caf\xe9".encode("latin-1")

    assert refused(zip_of(files)) == ["content/about.md: text is not UTF-8 (byte 3)"]


def test_read_refuses_a_billion_laughs_yaml(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path)
    files["glossary.yaml"] = BILLION_LAUGHS

    assert refused(zip_of(files)) == [
        "glossary.yaml:2: YAML syntax: aliases (*name) are not allowed"
    ]


@pytest.mark.parametrize(
    "name",
    ["notes.txt", "practices/03-coordination.yml", "practices/README.md", "extra/roles.yaml"],
)
def test_read_refuses_files_that_are_not_part_of_the_format(
    tmp_path: Path, no_extraction: None, name: str
) -> None:
    files = valid_files(tmp_path)
    files[name] = "id: coordination\n"

    found = refused(zip_of(files))

    assert len(found) == 1
    assert found[0].startswith(f"{name}: not part of the content format (expected roles.yaml,")


def test_read_refuses_content_nested_two_folders_deep(tmp_path: Path, no_extraction: None) -> None:
    files = valid_files(tmp_path, prefix="frontline/content/")

    found = refused(zip_of(files))

    assert len(found) == len(FORMAT_FILES)
    assert found[0].startswith("frontline/content/about.md: not part of the content format")


def test_read_reports_every_problem_of_the_archive_at_once(
    tmp_path: Path, no_extraction: None
) -> None:
    files = valid_files(tmp_path)
    files["../evil.yaml"] = "x"
    files["notes.txt"] = "x"
    link = member("practices/03-link.yaml", stat.S_IFLNK | 0o777)

    found = refused(zip_of(files, (link, b"/etc/shadow")))

    assert found == [
        "../evil.yaml: '..' is not allowed in paths",
        "practices/03-link.yaml: symbolic links are not allowed",
        "notes.txt: not part of the content format (expected roles.yaml, regimes.yaml, "
        "sources.yaml, glossary.yaml, about.md or practices/*.yaml, at the top of the zip or in "
        "one folder)",
    ]


def test_cli_exports_the_latest_release_or_a_given_version(
    frontline: Callable[..., Result], session: Session, guidance: Guidance, tmp_path: Path
) -> None:
    first, _ = content.import_release(session, guidance, notes="")
    files = guidance_files()
    files["roles.yaml"][0]["name"] = "Border and customs"
    second, _ = content.import_release(
        session, loader.load(write_content(tmp_path / "v2", files)), notes=""
    )

    latest = frontline("content", "export", tmp_path / "latest.zip")
    older = frontline("content", "export", "--version", "1", tmp_path / "v1.zip")

    assert latest.exit_code == 0, latest.output
    assert latest.output.startswith(f"Exported release v2 ({second.content_hash[:12]}) to ")
    assert older.exit_code == 0, older.output
    exported = bundle.read_bundle((tmp_path / "latest.zip").read_bytes())
    assert content.content_hash(exported) == second.content_hash
    exported = bundle.read_bundle((tmp_path / "v1.zip").read_bytes())
    assert content.content_hash(exported) == first.content_hash


def test_cli_export_without_such_a_release_exits_1(
    frontline: Callable[..., Result], tmp_path: Path
) -> None:
    none_yet = frontline("content", "export", tmp_path / "a.zip")
    no_such = frontline("content", "export", "--version", "3", tmp_path / "b.zip")

    assert none_yet.exit_code == 1
    assert none_yet.output == "No release is stored yet; nothing exported.\n"
    assert no_such.exit_code == 1
    assert no_such.output == "There is no release v3; nothing exported.\n"
    assert not (tmp_path / "a.zip").exists()
    assert not (tmp_path / "b.zip").exists()


def test_cli_export_does_not_overwrite_a_file(
    frontline: Callable[..., Result], release: Release, tmp_path: Path
) -> None:
    (tmp_path / "bundle.zip").write_bytes(b"keep me")

    result = frontline("content", "export", tmp_path / "bundle.zip")

    assert result.exit_code == 1
    assert result.output == f"{tmp_path / 'bundle.zip'} exists already; choose a new file.\n"
    assert (tmp_path / "bundle.zip").read_bytes() == b"keep me"


def test_cli_imports_an_exported_bundle_as_the_next_release(
    frontline: Callable[..., Result], engine: Engine, release: Release, tmp_path: Path
) -> None:
    files = guidance_files()
    (tmp_path / "new.zip").write_bytes(zip_of(valid_files(tmp_path, prefix="content/")))
    frontline("content", "export", tmp_path / "v1.zip")

    imported = frontline("content", "import", tmp_path / "new.zip", "--notes", "From a zip")
    again = frontline("content", "import", tmp_path / "new.zip")
    back = frontline("content", "import", tmp_path / "v1.zip")

    assert imported.exit_code == 0, imported.output
    assert imported.output.startswith("Imported release v2 (")
    assert again.output.startswith("Identical to release v2; no new release.")
    assert back.output.startswith("Imported release v3 (")
    assert release_count(engine) == 3
    with Session(engine) as session:
        v2 = content.get_release(session, 2)
        v3 = content.get_release(session, 3)
    assert v2 is not None and v3 is not None
    assert v2.notes == "From a zip"
    assert v2.content_hash == content.content_hash(
        loader.load(write_content(tmp_path / "f", files))
    )
    assert v3.content_hash == release.content_hash


def test_cli_import_of_a_hostile_bundle_stores_nothing(
    frontline: Callable[..., Result], engine: Engine, release: Release, tmp_path: Path
) -> None:
    files = valid_files(tmp_path)
    files["../../etc/cron.d/x"] = "* * * * * root sh\n"
    (tmp_path / "bad.zip").write_bytes(zip_of(files))

    result = frontline("content", "import", tmp_path / "bad.zip")

    assert result.exit_code == 1
    assert result.output == (
        "../../etc/cron.d/x: '..' is not allowed in paths\n"
        "The content has 1 problem. Nothing was imported.\n"
    )
    assert release_count(engine) == 1


def test_cli_import_of_a_file_that_is_not_a_zip_stores_nothing(
    frontline: Callable[..., Result], engine: Engine, release: Release, tmp_path: Path
) -> None:
    (tmp_path / "content.tar").write_bytes(b"not a zip at all")

    result = frontline("content", "import", tmp_path / "content.tar")

    assert result.exit_code == 1
    assert result.output == (
        "the bundle is not a zip file\nThe content has 1 problem. Nothing was imported.\n"
    )
    assert release_count(engine) == 1


def test_cli_import_of_a_bundle_with_invalid_content_stores_nothing(
    frontline: Callable[..., Result], engine: Engine, release: Release, tmp_path: Path
) -> None:
    files = guidance_files()
    files["roles.yaml"][0]["name"] = ""
    folder = write_content(tmp_path / "folder", files)
    (tmp_path / "bad.zip").write_bytes(zip_of(folder_files(folder)))

    result = frontline("content", "import", tmp_path / "bad.zip")

    assert result.exit_code == 1
    assert "roles.yaml:2: [0].name: String should have at least 1 character" in result.output
    assert "Nothing was imported." in result.output
    assert release_count(engine) == 1


def test_cli_check_validates_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "ok.zip").write_bytes(zip_of(valid_files(tmp_path)))
    files = valid_files(tmp_path)
    files["about.md"] = b"\xff"
    (tmp_path / "bad.zip").write_bytes(zip_of(files))

    ok = CliRunner().invoke(cli.main, ["content", "check", str(tmp_path / "ok.zip")])
    bad = CliRunner().invoke(cli.main, ["content", "check", str(tmp_path / "bad.zip")])

    assert ok.exit_code == 0, ok.output
    assert ok.output.endswith("ok: 2 practices, 3 roles, 12 items, 2 glossary terms, 3 sources\n")
    assert bad.exit_code == 1
    assert bad.output == "about.md: text is not UTF-8 (byte 0)\nThe content has 1 problem.\n"


def test_cli_imports_a_bundle_into_the_draft_and_publishes_nothing(
    frontline: Callable[..., Result], engine: Engine, release: Release, tmp_path: Path
) -> None:
    (tmp_path / "new.zip").write_bytes(zip_of(valid_files(tmp_path, prefix="content/")))

    imported = frontline("content", "import", tmp_path / "new.zip", "--draft")

    assert imported.exit_code == 0, imported.output
    assert "Nothing is published." in imported.output
    assert release_count(engine) == 1
    with Session(engine) as session:
        draft = session.get(Draft, 1)
        assert draft is not None and draft.based_on == 1
        assert content.content_hash(Guidance.model_validate(draft.body)) != release.content_hash
