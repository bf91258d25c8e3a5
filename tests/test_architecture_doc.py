"""docs/architecture.md stays current: it names every module, and names no module that is gone."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "architecture.md"
PACKAGES = ("perimeter", "sim", "services")


def modules() -> set[str]:
    return {str(path.relative_to(REPO)) for package in PACKAGES
            for path in (REPO / package).rglob("*.py")
            if path.name not in {"__init__.py", "__main__.py"}}


def test_every_module_is_in_the_architecture_doc() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(m for m in modules() if f"`{m}`" not in text)
    assert missing == [], "add them to docs/architecture.md"


def test_the_architecture_doc_names_no_missing_file() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:perimeter|sim|services)/[\w/]+\.py)`", text))
    assert sorted(n for n in named if not (REPO / n).is_file()) == []
