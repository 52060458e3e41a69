"""Changes a trainer makes to the draft's body, one at a time, before it is validated and saved.

Each function takes the body (the guidance as data) and returns a changed copy; none of them
validates: `drafts.save_draft` checks the whole body by the rules of `frontline content check`.
"""

import copy
from typing import Any

import yaml

from app.content import bundle, drafts
from app.content.loader import MAX_FILE_BYTES, _Loader
from app.content.schema import Guidance
from app.errors import AppError, ErrorDetail, NotFound

# The parts of the guidance edited as a whole, as the YAML file of content/ that holds them.
PARTS = bundle.SECTIONS


def practice_index(body: dict[str, Any], practice_id: str) -> int:
    for index, practice in enumerate(body["practices"]):
        if practice["id"] == practice_id:
            return index
    raise NotFound(f"There is no practice {practice_id!r} in the draft.")


def checklist(body: dict[str, Any], practice_id: str, role_id: str) -> list[dict[str, Any]]:
    practice = body["practices"][practice_index(body, practice_id)]
    if role_id not in {role["id"] for role in body["roles"]}:
        raise NotFound(f"There is no role {role_id!r} in the draft.")
    return list(practice["checklists"].get(role_id, []))


def item_index(items: list[dict[str, Any]], item_id: str) -> int:
    for index, item in enumerate(items):
        if item["id"] == item_id:
            return index
    raise NotFound(f"There is no item {item_id!r} in this checklist of the draft.")


def _with_checklist(
    body: dict[str, Any], practice_id: str, role_id: str, items: list[dict[str, Any]]
) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    practice = changed["practices"][practice_index(changed, practice_id)]
    practice["checklists"][role_id] = items
    return changed


def set_practice_texts(
    body: dict[str, Any], practice_id: str, *, title: str, summary: str, regimes: dict[str, str]
) -> dict[str, Any]:
    """The practice's title, summary and what it serves in each regime (an empty text drops
    the regime)."""
    changed = copy.deepcopy(body)
    practice = changed["practices"][practice_index(changed, practice_id)]
    practice["title"] = title
    practice["summary"] = summary
    practice["regimes"] = {key: text for key, text in regimes.items() if text.strip()}
    return changed


def put_item(
    body: dict[str, Any],
    practice_id: str,
    role_id: str,
    item: dict[str, Any],
    *,
    item_id: str | None,
) -> tuple[dict[str, Any], str]:
    """Replace item `item_id` (it keeps its id and place), or add `item` at the end of the
    checklist with a new id when `item_id` is None. Return the body and the item's id."""
    items = checklist(body, practice_id, role_id)
    if item_id is None:
        # The saved draft is valid guidance: every id in it is taken.
        guidance = Guidance.model_validate(body)
        new_id = drafts.new_item_id(guidance, role_id, practice_id, item.get("action", ""))
        items.append({"id": new_id, **item})
        return _with_checklist(body, practice_id, role_id, items), new_id
    items[item_index(items, item_id)] = {"id": item_id, **item}
    return _with_checklist(body, practice_id, role_id, items), item_id


def remove_item(
    body: dict[str, Any], practice_id: str, role_id: str, item_id: str
) -> dict[str, Any]:
    items = checklist(body, practice_id, role_id)
    del items[item_index(items, item_id)]
    return _with_checklist(body, practice_id, role_id, items)


def move_item(
    body: dict[str, Any], practice_id: str, role_id: str, item_id: str, step: int
) -> dict[str, Any]:
    """Move an item `step` places down the checklist (up when negative), within its ends."""
    items = checklist(body, practice_id, role_id)
    index = item_index(items, item_id)
    target = min(max(index + step, 0), len(items) - 1)
    items.insert(target, items.pop(index))
    return _with_checklist(body, practice_id, role_id, items)


def part_as_yaml(body: dict[str, Any], part: str) -> str:
    """A part of the guidance as its content/ file would hold it."""
    return bundle.section_yaml(Guidance.model_validate(body), part)


def set_part(body: dict[str, Any], part: str, text: str) -> dict[str, Any]:
    """Replace a part with the YAML text a trainer wrote; refuse YAML that cannot be read,
    saying where (aliases, duplicate keys and tags are refused as in content/ files)."""
    if part not in PARTS:
        raise NotFound(f"There is no part {part!r} to edit.")
    if len(text.encode()) > MAX_FILE_BYTES:
        raise AppError(
            f"{part} is over {MAX_FILE_BYTES // 1_000_000} MB.", 413, [ErrorDetail("too big", part)]
        )
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader that refuses aliases
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise AppError(
            f"{part} is not valid YAML: {problem}.", 422, [ErrorDetail(problem, part, line)]
        ) from None
    if not isinstance(data, list):
        raise AppError(
            f"{part} must be a list, as in content/{part}.yaml.",
            422,
            [ErrorDetail("must be a list", part)],
        )
    changed = copy.deepcopy(body)
    changed[part] = _unwrapped(data)
    return changed


def _unwrapped(value: Any) -> Any:
    """The loader's line-keeping dicts and lists as plain ones, for JSON."""
    if isinstance(value, dict):
        return {str(k): _unwrapped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrapped(v) for v in value]
    return value
