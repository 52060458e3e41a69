"""Release bundles: the content/ folder as one zip file, written out and safely read back.

A bundle holds exactly the files of the content/ format (see content/README.md), either at the
top of the zip or inside one folder, as when a `content/` folder is zipped whole. Reading one
checks the archive itself before anything touches the disk, then loads it with the loader, so a
bundle passes or fails exactly as the same folder would with `frontline content check`.
"""

import io
import lzma
import re
import stat
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import yaml

from app.content import loader
from app.content.schema import ContentModel, Guidance
from app.errors import ErrorDetail, InvalidContent

MAX_FILE_BYTES = loader.MAX_FILE_BYTES
MAX_FILES = 500
MAX_TOTAL_BYTES = 20_000_000
# Content compresses well, so a real bundle is far smaller than the content it holds.
MAX_BUNDLE_BYTES = MAX_TOTAL_BYTES

SECTIONS = ("roles", "regimes", "sources", "glossary")
TOP_FILES = (*(f"{section}.yaml" for section in SECTIONS), "about.md")
PRACTICE_FILE = re.compile(r"practices/[^/]+\.yaml")
EXPECTED = ", ".join(TOP_FILES) + " or practices/*.yaml"
# Kept beside the content but not part of it: the format's own notes, and what macOS adds.
DOCUMENTATION = "README.md"
MACOS_FOLDER = "__MACOSX"
MACOS_FILE = ".DS_Store"

ENCRYPTED_FLAG = 0x1
UNIX = 3  # ZipInfo.create_system: the mode bits in external_attr are Unix ones
TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # fixed, so the same guidance always gives the same bytes


class _Dumper(yaml.SafeDumper):
    """Safe YAML that never writes anchors: the loader refuses aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def export_bundle(guidance: Guidance) -> bytes:
    """Write `guidance` as a zip of the content/ format that loads back equal to it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in _files(guidance):
            info = zipfile.ZipInfo(name, date_time=TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = UNIX
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue()


def section_yaml(guidance: Guidance, section: str) -> str:
    """One of SECTIONS as its file in content/ holds it."""
    return _yaml([_fields(model) for model in getattr(guidance, section)])


def _files(guidance: Guidance) -> Iterator[tuple[str, str]]:
    for section in SECTIONS:
        yield f"{section}.yaml", section_yaml(guidance, section)
    yield "about.md", guidance.about
    # The loader orders practices by file name, so the numbers must all be the same width.
    width = max(2, len(str(len(guidance.practices))))
    for number, practice in enumerate(guidance.practices, start=1):
        yield f"practices/{number:0{width}d}-{practice.id}.yaml", _yaml(_fields(practice))


def _fields(model: ContentModel) -> dict[str, Any]:
    # Defaults are left out, as an editor leaves them out: `red_flag: false`, `terms: []`.
    return model.model_dump(mode="json", exclude_defaults=True)


def _yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)


def read_bundle(data: bytes) -> Guidance:
    """Check a bundle and load it as `frontline content check` loads a folder.

    Refused, with every problem named and nothing written to disk: data that is not a zip or is
    over MAX_BUNDLE_BYTES; more than MAX_FILES entries or MAX_TOTAL_BYTES of content; paths that
    are absolute, hold `..`, backslashes, colons (drive letters) or control characters; links
    and anything else that is not a regular file or folder; encrypted or damaged files; a file
    over MAX_FILE_BYTES; a name given twice; text that is not UTF-8; YAML aliases; and any file
    that is not part of the format, since a stray or misnamed file (`practices/09-x.yml`) means
    the bundle is not what its author thinks. Ignored: folder entries, README.md beside the
    content, and the `__MACOSX/` and `.DS_Store` files that macOS adds to the zips it makes.
    """
    files, folder = _checked_files(data)
    with tempfile.TemporaryDirectory(prefix="frontline-bundle-") as directory:
        root = Path(directory)
        for name, raw in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
        try:
            return loader.load(root)
        except InvalidContent as exc:
            # Name each file as it is in the zip, folder included, so it can be found there.
            raise InvalidContent(
                [ErrorDetail(e.message, folder + e.loc, e.line) for e in exc.errors]
            ) from None


def _refuse(message: str) -> NoReturn:
    raise InvalidContent([ErrorDetail(message)])


def _checked_files(data: bytes) -> tuple[dict[str, bytes], str]:
    """The format's files in the bundle, by name inside its folder, and that folder."""
    if len(data) > MAX_BUNDLE_BYTES:
        _refuse(f"the bundle is larger than {MAX_BUNDLE_BYTES:,} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        _refuse("the bundle is not a zip file")
    with archive:
        members = archive.infolist()
        _check_totals(members)
        errors: list[ErrorDetail] = []
        sound = []
        for info in members:
            problem = _member_problem(info)
            if problem:
                errors.append(ErrorDetail(problem, _shown(info.orig_filename)))
            else:
                sound.append(info)
        wanted, folder = _select(sound, errors)
        if errors:
            raise InvalidContent(errors)
        files = _read(archive, wanted, folder, errors)
        if errors:
            raise InvalidContent(errors)
    return files, folder


def _check_totals(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_FILES:
        _refuse(f"the bundle holds {len(members):,} files and folders; at most {MAX_FILES} allowed")
    if sum(info.file_size for info in members) > MAX_TOTAL_BYTES:
        _refuse(f"the bundle's files add up to more than {MAX_TOTAL_BYTES:,} bytes")


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    return _path_problem(info.orig_filename) or _kind_problem(info)


def _path_problem(name: str) -> str | None:
    parts = name.removesuffix("/").split("/")
    if any(not character.isprintable() for character in name):
        return "control characters are not allowed in paths"
    if "\\" in name:
        return "backslashes are not allowed in paths"
    if name.startswith("/"):
        return "absolute paths are not allowed"
    if ":" in name:
        return "drive letters and colons are not allowed in paths"
    if ".." in parts:
        return "'..' is not allowed in paths"
    if "" in parts or "." in parts:
        return "empty or '.' path parts are not allowed"
    return None


def _kind_problem(info: zipfile.ZipInfo) -> str | None:
    mode = info.external_attr >> 16
    expected = stat.S_IFDIR if info.is_dir() else stat.S_IFREG
    if stat.S_ISLNK(mode):
        return "symbolic links are not allowed"
    if stat.S_IFMT(mode) not in (0, expected):  # 0: made where files have no Unix mode
        return "only regular files and folders are allowed"
    if info.flag_bits & ENCRYPTED_FLAG:
        return "encrypted files are not allowed"
    if info.file_size > MAX_FILE_BYTES:
        return f"file is larger than {MAX_FILE_BYTES:,} bytes"
    return None


def _shown(name: str) -> str:
    # A hostile name must not reach a terminal as control characters.
    return name if name.isprintable() else ascii(name)


def _select(
    members: list[zipfile.ZipInfo], errors: list[ErrorDetail]
) -> tuple[dict[str, zipfile.ZipInfo], str]:
    files = [info for info in members if not info.is_dir() and not _is_macos_extra(info.filename)]
    names = Counter(info.filename for info in files)
    folder = _folder([info.filename for info in files])
    for name in sorted(name for name, count in names.items() if count > 1):
        errors.append(ErrorDetail("the bundle holds this file more than once", name))
    wanted = {}
    for info in files:
        name = info.filename.removeprefix(folder)
        if names[info.filename] > 1:
            continue
        if name in TOP_FILES or PRACTICE_FILE.fullmatch(name):
            wanted[name] = info
        elif name != DOCUMENTATION:
            errors.append(
                ErrorDetail(
                    f"not part of the content format (expected {EXPECTED}, at the top of the zip "
                    "or in one folder)",
                    info.filename,
                )
            )
    return wanted, folder


def _is_macos_extra(name: str) -> bool:
    parts = name.split("/")
    return parts[0] == MACOS_FOLDER or parts[-1] == MACOS_FILE


def _folder(names: list[str]) -> str:
    """The one folder that holds every file, as in a zip of content/; else ''."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) != 1 or not all("/" in name for name in names):
        return ""
    top = tops.pop()
    return "" if top == "practices" else f"{top}/"


def _read(
    archive: zipfile.ZipFile,
    wanted: dict[str, zipfile.ZipInfo],
    folder: str,
    errors: list[ErrorDetail],
) -> dict[str, bytes]:
    files = {}
    total = 0
    for name, info in wanted.items():
        where = folder + name
        raw = _read_member(archive, info, where, errors)
        if raw is None:
            continue
        total += len(raw)
        if total > MAX_TOTAL_BYTES:
            _refuse(f"the bundle's files add up to more than {MAX_TOTAL_BYTES:,} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(ErrorDetail(f"text is not UTF-8 (byte {exc.start})", where))
            continue
        alias = _first_alias(text) if name.endswith(".yaml") else None
        if alias is not None:
            line = alias.start_mark.line + 1 if alias.start_mark else None
            errors.append(ErrorDetail("YAML syntax: aliases (*name) are not allowed", where, line))
            continue
        files[name] = raw
    return files


def _read_member(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, errors: list[ErrorDetail]
) -> bytes | None:
    """The member's bytes, read no further than the size limit whatever its header claims."""
    try:
        with archive.open(info) as member:
            raw = member.read(MAX_FILE_BYTES + 1)
    except NotImplementedError:
        errors.append(ErrorDetail("compressed with a method that is not supported", where))
        return None
    except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError) as exc:
        errors.append(ErrorDetail(f"the file is damaged ({exc})", where))
        return None
    if len(raw) > MAX_FILE_BYTES:
        errors.append(ErrorDetail(f"file is larger than {MAX_FILE_BYTES:,} bytes", where))
        return None
    if len(raw) != info.file_size:
        errors.append(ErrorDetail("the file is damaged (shorter than its header says)", where))
        return None
    return raw


def _first_alias(text: str) -> yaml.AliasEvent | None:
    """The first YAML alias, found from parser events without building anything.

    The loader refuses aliases too; finding them here keeps a "billion laughs" file from ever
    being written out.
    """
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                return event
    except yaml.YAMLError:
        return None  # a syntax error: the loader reports it, with its line
    return None
