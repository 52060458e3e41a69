"""Small, valid content folders that a test can break one field at a time."""

import copy
from pathlib import Path
from typing import Any

import yaml

ROLES = ["customs", "licensing", "police"]


def item(item_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": item_id,
        "action": f"Check the licence for shipment {item_id}.",
        "why": "A shipment without a licence may be *illicit trafficking*.",
        "refs": [{"source": "fp", "at": "Art. 10(3)"}],
        "regimes": ["fp"],
        **fields,
    }


def practice(practice_id: str, title: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": practice_id,
        "title": title,
        "summary": f"What {title.lower()} means at the frontline.",
        "regimes": {"fp": "Serves the Protocol.", "att": "Serves the ATT.", "1540": "Serves 1540."},
        "checklists": {
            role: [
                item(f"{role}-{practice_id}-licence"),
                item(
                    f"{role}-{practice_id}-embargo",
                    action=f"Check arms embargoes before release ({role}, {practice_id}).",
                    refs=[{"source": "att", "at": "Art. 6(1)"}, {"source": "wco-stce"}],
                    regimes=["att", "1540"],
                    red_flag=True,
                    terms=["brokering"],
                ),
            ]
            for role in ROLES
        },
        **fields,
    }


def guidance() -> dict[str, Any]:
    return {
        "roles.yaml": [
            {"id": "customs", "name": "Customs and border", "summary": "Officers at the border."},
            {"id": "licensing", "name": "Licensing", "summary": "The licensing authority."},
            {"id": "police", "name": "Police", "summary": "Investigators."},
        ],
        "regimes.yaml": [
            {
                "id": "fp",
                "short": "FP",
                "name": "Firearms Protocol",
                "title": "UN Firearms Protocol",
            },
            {"id": "att", "short": "ATT", "name": "ATT", "title": "Arms Trade Treaty"},
            {
                "id": "1540",
                "short": "1540",
                "name": "UNSCR 1540",
                "title": "Security Council resolution 1540",
            },
        ],
        "sources.yaml": [
            {
                "id": "fp",
                "short": "FP",
                "title": "Firearms Protocol",
                "year": "2001",
                "url": "https://www.unodc.org/",
                "kind": "instrument",
                "regimes": ["fp"],
            },
            {
                "id": "att",
                "short": "ATT",
                "title": "Arms Trade Treaty",
                "year": "2013",
                "url": "https://thearmstradetreaty.org/",
                "kind": "instrument",
                "regimes": ["att"],
                "caveat": "Article numbers not yet checked.",
            },
            {
                "id": "wco-stce",
                "short": "WCO STCE",
                "title": "WCO Strategic Trade Control Enforcement Implementation Guide",
                "year": "2014; revised 2023",
                "url": "https://www.wcoomd.org/",
                "kind": "guidance",
                "regimes": ["fp", "att", "1540"],
            },
        ],
        "glossary.yaml": [
            {"id": "brokering", "term": "Brokering", "definition": "Arranging a transfer."},
            {
                "id": "diversion",
                "term": "Diversion",
                "definition": "Goods reaching the wrong hands.",
            },
        ],
        "about.md": "# How the practices were derived\n\nFrom the three instruments.\n",
        "practices/01-legal-framework.yaml": practice("legal-framework", "Legal framework"),
        "practices/02-control-lists.yaml": practice("control-lists", "Control lists"),
    }


def write_content(directory: Path, files: dict[str, Any] | None = None) -> Path:
    """Write a content folder; a value of None leaves that file out."""
    files = copy.deepcopy(guidance() if files is None else files)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if data is None:
            continue
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            path.write_text(data, encoding="utf-8")
        else:
            path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
    return directory
