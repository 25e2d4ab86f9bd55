"""The package's rooms and their import directions (docs/ARCHITECTURE.md): publish -> survey / inventory /
business_travel -> reference, config, privacy, schemas, rejects; synthetic and cli on top; no import-by-name
indirection, no import of another module's private names, one reject collector."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "helpers"
BASE = ("helpers.config", "helpers.reference", "helpers.privacy", "helpers.schemas", "helpers.rejects")
STAGES = ("helpers.survey", "helpers.inventory", "helpers.business_travel")
TOP = ("helpers.synthetic", "helpers.cli", "helpers.__main__")
FORBIDDEN = {  # room -> what it must not import
    **{base: ("helpers.survey", "helpers.inventory", "helpers.business_travel", "helpers.publish", *TOP)
       for base in BASE},
    **{stage: ("helpers.publish", *TOP) for stage in STAGES},
    "helpers.publish": TOP,
}


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out.append((".".join(parts[:-1] if parts[-1] == "__init__" else parts), path))
    return out


def imports(path: Path) -> set[str]:
    """Every helpers module a file imports (at the top or inside a function)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("helpers")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return found


def room(module: str) -> str | None:
    return next((r for r in sorted(FORBIDDEN, key=len, reverse=True) if module == r or module.startswith(r + ".")),
                None)


@pytest.mark.parametrize("module, path", modules(), ids=[m for m, _ in modules()])
def test_imports_point_one_way(module, path):
    rules = FORBIDDEN.get(room(module) or "", ())
    wrong = sorted(i for i in imports(path) if any(i == r or i.startswith(r + ".") for r in rules))
    assert not wrong, f"{module} ({room(module)}) must not import {wrong} (docs/ARCHITECTURE.md)"


def test_every_subpackage_says_what_it_owns_and_may_import():
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "Owns:" in doc and "import" in doc, f"{init}: docstring must say what it owns and may import"


def test_no_module_is_looked_up_by_name():
    for module, path in modules():
        text = path.read_text(encoding="utf-8")
        assert "find_spec" not in text and "import_module(" not in text, f"{module} imports a module by name"


def test_no_module_imports_another_modules_private_names():
    """A name another module needs is public: `from helpers.x import _y` means _y is part of x's interface."""
    wrong = []
    for module, path in modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
                wrong += [f"{module}: from {node.module} import {a.name}" for a in node.names if a.name.startswith("_")]
        # nor reaches into one: `ingest._norm_header` where `ingest` is a helpers module it imported
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and (node.module or "").startswith("helpers") for a in node.names}
        wrong += [f"{module}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id in imported and node.attr.startswith("_") and not node.attr.startswith("__")]
    assert not wrong, wrong


def test_one_reject_collector():
    """Survey, attendance, roster, claims and long trips all collect rejects with helpers.rejects.Rejects."""
    classes = [f"{module}.{node.name}" for module, path in modules()
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
               if isinstance(node, ast.ClassDef) and "reject" in node.name.lower()]
    assert classes == ["helpers.rejects.Rejects"], classes
