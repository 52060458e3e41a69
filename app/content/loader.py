"""Read a content/ folder, validate it whole, and say exactly where each problem is."""

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from app.content import markdown
from app.content.schema import (
    RESERVED_ROLE_IDS,
    Guidance,
    Practice,
    Reference,
    Regime,
    Role,
    Source,
    Term,
)
from app.errors import ErrorDetail, InvalidContent

MAX_FILE_BYTES = 1_000_000


class _Mapping(dict[Any, Any]):
    line = 0
    key_lines: dict[Any, int]


class _Sequence(list[Any]):
    line = 0
    item_lines: list[int]


class _Loader(yaml.SafeLoader):
    """Safe YAML that remembers lines and refuses aliases and duplicate keys."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.MarkedYAMLError(
                problem="aliases (*name) are not allowed", problem_mark=event.start_mark
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        mapping = _Mapping()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                raise yaml.MarkedYAMLError(
                    problem="keys must be plain text", problem_mark=key_node.start_mark
                )
            key = str(key)
            if key in mapping:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark
                )
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[key] = key_node.start_mark.line + 1
        return mapping

    def construct_sequence(self, node: Any, deep: bool = False) -> Any:
        sequence = _Sequence(self.construct_object(child, deep=True) for child in node.value)
        sequence.line = node.start_mark.line + 1
        sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
        return sequence


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _Loader.construct_sequence)


def line_of(data: Any, path: tuple[Any, ...]) -> int | None:
    """The line of the deepest node on `path` that the YAML recorded."""
    line = getattr(data, "line", None)
    for part in path:
        if isinstance(data, _Mapping) and str(part) in data:
            line = data.key_lines[str(part)]
            data = data[str(part)]
        elif isinstance(data, _Sequence) and isinstance(part, int) and part < len(data):
            line = data.item_lines[part]
            data = data[part]
        else:
            break
    return line


def field_path(path: tuple[Any, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Place(Protocol):
    """Where part of the guidance came from, so that a problem in it can be located."""

    def error(self, path: tuple[Any, ...], message: str) -> None: ...


class _Field:
    """Part of a guidance given as data: problems are located by their field path."""

    def __init__(self, prefix: tuple[Any, ...], errors: list[ErrorDetail]) -> None:
        self.prefix = prefix
        self.errors = errors

    def error(self, path: tuple[Any, ...], message: str) -> None:
        self.errors.append(ErrorDetail(message, field_path((*self.prefix, *path))))


class _File:
    def __init__(self, root: Path, path: Path, errors: list[ErrorDetail]) -> None:
        self.name = path.relative_to(root).as_posix()
        self.errors = errors
        self.data: Any = None

    def error(self, path: tuple[Any, ...], message: str) -> None:
        where = field_path(path)
        self.errors.append(
            ErrorDetail(f"{where}: {message}" if where else message, self.name, self.line(path))
        )

    def line(self, path: tuple[Any, ...]) -> int | None:
        return line_of(self.data, path)


def _read_text(root: Path, path: Path, errors: list[ErrorDetail]) -> str | None:
    name = path.relative_to(root).as_posix()
    if not path.is_file():
        errors.append(ErrorDetail("file is missing", name))
        return None
    if path.is_symlink():
        errors.append(ErrorDetail("links are not allowed", name))
        return None
    raw = path.read_bytes()
    if len(raw) > MAX_FILE_BYTES:
        errors.append(ErrorDetail(f"file is larger than {MAX_FILE_BYTES:,} bytes", name))
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        errors.append(ErrorDetail(f"text is not UTF-8 (byte {exc.start})", name))
        return None


def _read_yaml(root: Path, path: Path, errors: list[ErrorDetail]) -> _File:
    file = _File(root, path, errors)
    text = _read_text(root, path, errors)
    if text is None:
        return file
    try:
        file.data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        errors.append(ErrorDetail(f"YAML syntax: {exc.problem or exc.context}", file.name, line))
    except yaml.YAMLError as exc:
        errors.append(ErrorDetail(f"YAML syntax: {exc}", file.name))
    return file


def _validate(file: _File, shape: Any) -> Any:
    if file.data is None:
        return None
    try:
        return TypeAdapter(shape).validate_python(file.data)
    except ValidationError as exc:
        for error in exc.errors():
            file.error(tuple(error["loc"]), error["msg"])
        return None


def load(directory: Path) -> Guidance:
    """Load and validate a content folder; raise InvalidContent listing every problem."""
    root = Path(directory)
    errors: list[ErrorDetail] = []
    if not root.is_dir():
        raise InvalidContent([ErrorDetail("not a folder", str(root))])

    files = {
        name: _read_yaml(root, root / f"{name}.yaml", errors)
        for name in ("roles", "regimes", "sources", "glossary")
    }
    roles = _validate(files["roles"], list[Role])
    regimes = _validate(files["regimes"], list[Regime])
    sources = _validate(files["sources"], list[Source])
    glossary = _validate(files["glossary"], list[Term])
    about = _read_text(root, root / "about.md", errors)

    practice_paths = sorted((root / "practices").glob("*.yaml"))
    if not practice_paths:
        errors.append(ErrorDetail("no practice files (practices/*.yaml)", "practices/"))
    practice_files = [_read_yaml(root, path, errors) for path in practice_paths]
    practices = [_validate(file, Practice) for file in practice_files]

    if None in (roles, regimes, sources, glossary, about) or None in practices:
        raise InvalidContent(errors)
    guidance = Guidance(
        roles=roles or [],
        regimes=regimes or [],
        sources=sources or [],
        practices=[p for p in practices if p is not None],
        glossary=glossary or [],
        about=about or "",
    )
    _check_references(guidance, files, practice_files, errors)
    if errors:
        raise InvalidContent(errors)
    return guidance


def parse(body: Any) -> Guidance:
    """Validate a guidance given as data (a draft's body) by the same rules as `load`."""
    try:
        guidance = Guidance.model_validate(body)
    except ValidationError as exc:
        raise InvalidContent(
            [ErrorDetail(error["msg"], field_path(tuple(error["loc"]))) for error in exc.errors()]
        ) from None
    errors: list[ErrorDetail] = []
    if not guidance.practices:
        errors.append(ErrorDetail("no practices", "practices"))
    files: dict[str, _Place] = {
        name: _Field((name,), errors) for name in ("roles", "regimes", "sources", "glossary")
    }
    practices: list[_Place] = [
        _Field(("practices", index), errors) for index in range(len(guidance.practices))
    ]
    _check_references(guidance, files, practices, errors)
    if errors:
        raise InvalidContent(errors)
    return guidance


def _duplicates(
    file: _Place, things: list[Any], path: tuple[Any, ...], what: str, key: str = "id"
) -> None:
    counts = Counter(getattr(thing, key) for thing in things)
    for index, thing in enumerate(things):
        if counts[getattr(thing, key)] > 1:
            file.error((*path, index, key), f"duplicate {what} {getattr(thing, key)!r}")


def _check_references(
    guidance: Guidance,
    files: Mapping[str, _Place],
    practice_files: Sequence[_Place],
    errors: list[ErrorDetail],
) -> None:
    role_ids = [role.id for role in guidance.roles]
    regime_ids = [regime.id for regime in guidance.regimes]
    sources = {source.id: source for source in guidance.sources}
    term_ids = {term.id for term in guidance.glossary}

    _duplicates(files["roles"], guidance.roles, (), "role id")
    _duplicates(files["regimes"], guidance.regimes, (), "regime id")
    _duplicates(files["sources"], guidance.sources, (), "source id")
    _duplicates(files["glossary"], guidance.glossary, (), "glossary id")
    for index, role in enumerate(guidance.roles):
        if role.id in RESERVED_ROLE_IDS:
            files["roles"].error((index, "id"), f"{role.id!r} is the name of a page")
    for index, source in enumerate(guidance.sources):
        for regime in source.regimes:
            if regime not in regime_ids:
                files["sources"].error((index, "regimes"), f"unknown regime {regime!r}")
        _check_markdown(files["sources"], (index,), source, ("note", "caveat"))

    def check_refs(file: _Place, path: tuple[Any, ...], refs: list[Reference]) -> None:
        for index, ref in enumerate(refs):
            if ref.source not in sources:
                file.error((*path, index, "source"), f"unknown source {ref.source!r}")

    for index, term in enumerate(guidance.glossary):
        check_refs(files["glossary"], (index, "refs"), term.refs)
        _check_markdown(files["glossary"], (index,), term, ("definition",))

    practice_ids: Counter[str] = Counter(practice.id for practice in guidance.practices)
    item_ids: Counter[str] = Counter(
        item.id
        for practice in guidance.practices
        for items in practice.checklists.values()
        for item in items
    )
    for file, practice in zip(practice_files, guidance.practices, strict=True):
        if practice_ids[practice.id] > 1:
            file.error(("id",), f"duplicate practice id {practice.id!r}")
        _check_markdown(file, (), practice, ("summary",))
        for regime in regime_ids:
            if regime not in practice.regimes:
                file.error(("regimes",), f"no text for regime {regime!r}")
        for regime, text in practice.regimes.items():
            if regime not in regime_ids:
                file.error(("regimes", regime), f"unknown regime {regime!r}")
            _check_markdown_text(file, ("regimes", regime), text)
        for role_id in role_ids:
            if not practice.checklists.get(role_id):
                file.error(("checklists",), f"no checklist for role {role_id!r}")
        for role_id, items in practice.checklists.items():
            if role_id not in role_ids:
                file.error(("checklists", role_id), f"unknown role {role_id!r}")
            for index, item in enumerate(items):
                path = ("checklists", role_id, index)
                if item_ids[item.id] > 1:
                    file.error((*path, "id"), f"duplicate item id {item.id!r}")
                check_refs(file, (*path, "refs"), item.refs)
                for term_id in item.terms:
                    if term_id not in term_ids:
                        file.error((*path, "terms"), f"unknown glossary term {term_id!r}")
                _check_regimes(file, path, item, sources, regime_ids)
                _check_markdown(file, path, item, ("why",))


def _check_regimes(
    file: _Place, path: tuple[Any, ...], item: Any, sources: dict[str, Source], known: list[str]
) -> None:
    if any(ref.source not in sources for ref in item.refs):
        return  # reported as an unknown source already
    cited = [sources[ref.source] for ref in item.refs]
    required = {r for source in cited if source.kind == "instrument" for r in source.regimes}
    allowed = {r for source in cited for r in source.regimes}
    claimed = set(item.regimes)
    for regime in sorted(claimed - set(known)):
        file.error((*path, "regimes"), f"unknown regime {regime!r}")
    for regime in sorted(required - claimed):
        file.error((*path, "regimes"), f"cites an instrument of {regime!r} but does not list it")
    for regime in sorted((claimed & set(known)) - allowed):
        file.error((*path, "regimes"), f"lists {regime!r} but cites no source of it")


def _check_markdown(
    file: _Place, path: tuple[Any, ...], model: BaseModel, fields: tuple[str, ...]
) -> None:
    for name in fields:
        text = getattr(model, name)
        if text:
            _check_markdown_text(file, (*path, name), text)


def _check_markdown_text(file: _Place, path: tuple[Any, ...], text: str) -> None:
    for link in markdown.unsafe_links(text):
        file.error(path, f"link {link!r} is not allowed (only http, https, mailto or relative)")
