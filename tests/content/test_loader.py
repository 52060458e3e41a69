from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import main
from app.content import loader
from app.errors import InvalidContent
from tests.factories import guidance, item, write_content


def problems(directory: Path) -> list[str]:
    with pytest.raises(InvalidContent) as raised:
        loader.load(directory)
    return [str(error) for error in raised.value.errors]


def test_load_accepts_valid_content(tmp_path: Path) -> None:
    loaded = loader.load(write_content(tmp_path))

    assert [role.id for role in loaded.roles] == ["customs", "licensing", "police"]
    assert [practice.id for practice in loaded.practices] == ["legal-framework", "control-lists"]
    assert loaded.practices[0].checklists["customs"][1].red_flag is True


def test_practice_order_follows_file_names(tmp_path: Path) -> None:
    files = guidance()
    files["practices/00-control-lists.yaml"] = files.pop("practices/02-control-lists.yaml")

    loaded = loader.load(write_content(tmp_path, files))

    assert [practice.id for practice in loaded.practices] == ["control-lists", "legal-framework"]


def test_check_reports_duplicate_item_id_with_file_and_line(tmp_path: Path) -> None:
    files = guidance()
    files["practices/02-control-lists.yaml"]["checklists"]["police"][0]["id"] = (
        "customs-legal-framework-licence"
    )

    found = problems(write_content(tmp_path, files))

    assert any(
        p.startswith("practices/02-control-lists.yaml:")
        and "checklists.police[0].id: duplicate item id 'customs-legal-framework-licence'" in p
        for p in found
    ), found
    assert any(p.startswith("practices/01-legal-framework.yaml:") for p in found), found


def test_check_reports_unknown_source_reference(tmp_path: Path) -> None:
    files = guidance()
    files["practices/01-legal-framework.yaml"]["checklists"]["licensing"][0]["refs"] = [
        {"source": "atx", "at": "Art. 1"}
    ]

    found = problems(write_content(tmp_path, files))

    line = _line_of(tmp_path / "practices/01-legal-framework.yaml", "source: atx")
    assert (
        f"practices/01-legal-framework.yaml:{line}: "
        "checklists.licensing[0].refs[0].source: unknown source 'atx'"
    ) in found


def test_check_reports_yaml_syntax_error_with_line(tmp_path: Path) -> None:
    write_content(tmp_path)
    (tmp_path / "glossary.yaml").write_text(
        "- id: brokering\n  term: Brokering\n  definition: [unclosed\n", "utf-8"
    )

    found = problems(tmp_path)

    assert len(found) == 1
    assert found[0].startswith("glossary.yaml:4: YAML syntax:"), found


def test_check_reports_practice_missing_a_role_checklist(tmp_path: Path) -> None:
    files = guidance()
    del files["practices/02-control-lists.yaml"]["checklists"]["police"]

    found = problems(write_content(tmp_path, files))

    line = _line_of(tmp_path / "practices/02-control-lists.yaml", "checklists:")
    assert found == [
        f"practices/02-control-lists.yaml:{line}: checklists: no checklist for role 'police'"
    ]


def test_check_reports_missing_required_field(tmp_path: Path) -> None:
    files = guidance()
    del files["practices/01-legal-framework.yaml"]["checklists"]["customs"][0]["why"]

    found = problems(write_content(tmp_path, files))

    line = _line_of(
        tmp_path / "practices/01-legal-framework.yaml", "id: customs-legal-framework-licence"
    )
    assert found == [
        f"practices/01-legal-framework.yaml:{line}: checklists.customs[0].why: Field required"
    ]


def test_check_reports_action_longer_than_200_characters(tmp_path: Path) -> None:
    files = guidance()
    files["practices/01-legal-framework.yaml"]["checklists"]["customs"][0]["action"] = "x" * 201

    found = problems(write_content(tmp_path, files))

    assert len(found) == 1
    assert "checklists.customs[0].action: String should have at most 200 characters" in found[0]


def test_check_reports_unknown_glossary_term(tmp_path: Path) -> None:
    files = guidance()
    files["practices/01-legal-framework.yaml"]["checklists"]["police"][1]["terms"] = ["nope"]

    found = problems(write_content(tmp_path, files))

    assert len(found) == 1
    assert found[0].endswith("checklists.police[1].terms: unknown glossary term 'nope'")


def test_check_reports_regimes_that_disagree_with_references(tmp_path: Path) -> None:
    files = guidance()
    checklist = files["practices/01-legal-framework.yaml"]["checklists"]["customs"]
    checklist[0] = item("customs-a", regimes=["att"])  # cites FP (an instrument), claims ATT

    found = problems(write_content(tmp_path, files))

    assert [p.split(": ", 1)[1] for p in found] == [
        "checklists.customs[0].regimes: cites an instrument of 'fp' but does not list it",
        "checklists.customs[0].regimes: lists 'att' but cites no source of it",
    ]


def test_check_refuses_yaml_aliases(tmp_path: Path) -> None:
    write_content(tmp_path)
    (tmp_path / "roles.yaml").write_text(
        "- &a {id: customs, name: Customs, summary: Border.}\n- *a\n", "utf-8"
    )

    assert problems(tmp_path) == ["roles.yaml:2: YAML syntax: aliases (*name) are not allowed"]


def test_check_refuses_duplicate_keys(tmp_path: Path) -> None:
    write_content(tmp_path)
    (tmp_path / "roles.yaml").write_text(
        "- id: customs\n  name: Customs\n  name: Border\n  summary: x\n", "utf-8"
    )

    assert problems(tmp_path) == ["roles.yaml:3: YAML syntax: duplicate key 'name'"]


def test_check_refuses_text_that_is_not_utf8(tmp_path: Path) -> None:
    write_content(tmp_path)
    (tmp_path / "about.md").write_bytes("caf\xe9".encode("latin-1"))

    assert problems(tmp_path) == ["about.md: text is not UTF-8 (byte 3)"]


def test_check_refuses_unsafe_markdown_links(tmp_path: Path) -> None:
    files = guidance()
    files["glossary.yaml"][0]["definition"] = "See [this](javascript:alert(1))."

    found = problems(write_content(tmp_path, files))

    assert found == [
        "glossary.yaml:3: [0].definition: link 'javascript:alert(1)' is not allowed "
        "(only http, https, mailto or relative)"
    ]


def test_check_refuses_a_role_named_like_a_page(tmp_path: Path) -> None:
    files = guidance()
    files["roles.yaml"][0]["id"] = "glossary"

    found = problems(write_content(tmp_path, files))

    assert "roles.yaml:1: [0].id: 'glossary' is the name of a page" in found


def test_check_reports_every_problem_at_once(tmp_path: Path) -> None:
    files = guidance()
    files["sources.yaml"] = None
    files["practices/02-control-lists.yaml"] = "id: [broken\n"

    found = problems(write_content(tmp_path, files))

    assert "sources.yaml: file is missing" in found
    assert any(p.startswith("practices/02-control-lists.yaml:2: YAML syntax") for p in found)


def test_cli_check_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    files = guidance()
    files["practices/01-legal-framework.yaml"]["checklists"]["customs"][0]["refs"] = [
        {"source": "nope"}
    ]
    del files["practices/02-control-lists.yaml"]["checklists"]["licensing"]
    write_content(tmp_path, files)

    result = CliRunner().invoke(main, ["content", "check", str(tmp_path)])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[0].endswith("checklists.customs[0].refs[0].source: unknown source 'nope'")
    assert lines[0].startswith("practices/01-legal-framework.yaml:")
    line = _line_of(tmp_path / "practices/02-control-lists.yaml", "checklists:")
    assert lines[1] == (
        f"practices/02-control-lists.yaml:{line}: checklists: no checklist for role 'licensing'"
    )
    assert lines[2] == "The content has 2 problems."


def test_cli_check_passes_on_valid_content(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["content", "check", str(write_content(tmp_path))])

    assert result.exit_code == 0
    assert result.output.endswith(
        "ok: 2 practices, 3 roles, 12 items, 2 glossary terms, 3 sources\n"
    )


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
