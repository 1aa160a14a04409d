"""The README's "Layout": rooms in the order data flows, imports pointing down, no cycles."""

import ast
import re
from pathlib import Path

import wx_pipeline

PACKAGE = Path(wx_pipeline.__file__).parent
README = PACKAGE.parent / "README.md"
#: Bottom to top: a room imports only rooms before it in this list.
ROOMS = [
    "registry",
    "core",
    "wechat",
    "runtime",
    "simulator",
    "warehouse",
    "marts",
    "pipeline",
    "report",
    "bi",
    "receiver",
    "defs",
    "definitions",
    "cli",
]


def _room(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "wx_pipeline" else None


def _imports(path: Path) -> set[str]:
    """The wx_pipeline modules a file imports (wherever in the file, lazy imports too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "wx_pipeline":
                found.update(f"wx_pipeline.{a.name}" for a in node.names)
            else:
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("wx_pipeline.")}


def test_every_room_is_placed() -> None:
    rooms = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    rooms |= {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert rooms == set(ROOMS)


def test_imports_point_down() -> None:
    upward = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.name == "__init__.py" and len(rel.parts) == 1:
            continue
        here = rel.parts[0].removesuffix(".py")
        for module in _imports(path):
            there = _room(module)
            if there in ROOMS and there != here and ROOMS.index(there) > ROOMS.index(here):
                upward.append(f"{rel} imports {module}")
    assert upward == []


def test_the_readme_names_every_room_in_order() -> None:
    text = README.read_text(encoding="utf-8")
    layout = text[text.index("## Layout") :]
    layout = layout[: layout.index("\n## ", 1)]
    named = [m for m in re.findall(r"wx_pipeline/(\w+)", layout) if m in ROOMS]
    order = list(dict.fromkeys(named))
    assert order == ROOMS
