"""Packaging hygiene: environment.yml matches pyproject.toml; `make help` documents every target."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
CONDA_ONLY = {"python", "pip"}  # the interpreter and installer, not project dependencies
TARGET_LINE = re.compile(r"^([A-Za-z0-9_.-]+):[^=#]*##\s*(.+)$")


def _normalise(spec: str) -> tuple[str, str]:
    """(canonical name, sorted specifier) of a requirement like 'PyYAML >= 6.0'."""
    requirement = Requirement(spec)
    return canonicalize_name(requirement.name), ",".join(sorted(str(s) for s in requirement.specifier))


def pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = [*project["dependencies"], *project.get("optional-dependencies", {}).get("dev", [])]
    return dict(_normalise(spec) for spec in specs)


def environment_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    specs: list[str] = []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            specs += [spec for spec in entry.get("pip", []) if not spec.strip().startswith("-e")]
        else:
            specs.append(str(entry))
    pairs = dict(_normalise(spec) for spec in specs if re.split(r"[=<>!~ ]", spec, maxsplit=1)[0] not in CONDA_ONLY)
    return pairs


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    expected, actual = pyproject_requirements(), environment_requirements()
    assert set(actual) == set(expected), (
        f"only in environment.yml: {sorted(set(actual) - set(expected))}; "
        f"only in pyproject.toml: {sorted(set(expected) - set(actual))}")
    differing = {name: (actual[name], expected[name]) for name in expected if actual[name] != expected[name]}
    assert not differing, f"version specifiers differ (environment.yml, pyproject.toml): {differing}"


def test_environment_yml_installs_the_project_itself():
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(entry["pip"] for entry in environment["dependencies"] if isinstance(entry, dict))
    assert "-e ." in pip_section


def documented_targets() -> dict[str, str]:
    lines = (ROOT / "Makefile").read_text(encoding="utf-8").splitlines()
    return {match.group(1): match.group(2) for line in lines if (match := TARGET_LINE.match(line))}


def test_every_phony_target_is_documented():
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    phony = {name for line in text.splitlines() if line.startswith(".PHONY:") for name in line.split(":")[1].split()}
    assert phony, "Makefile declares no .PHONY targets"
    assert phony <= set(documented_targets()), f"targets without a ## comment: {sorted(phony - set(documented_targets()))}"


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_help_lists_every_documented_target():
    targets = documented_targets()
    assert {"help", "setup", "report", "test", "lab", "bench", "clean"} <= set(targets)
    for argv in (["make", "--no-print-directory", "help"], ["make", "--no-print-directory"]):
        listing = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=True).stdout
        for target, comment in targets.items():
            assert re.search(rf"\b{re.escape(target)}\b.*{re.escape(comment.strip())}", listing), (
                f"`{' '.join(argv)}` does not list target {target!r} with its comment")


def test_the_product_documents_itself_and_never_points_to_shared():
    """Users' clones have no ../shared: README and every tracked file point to docs/METHOD.md instead."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    pointing = [name for name in tracked if name.endswith((".py", ".md", ".yaml", ".yml", ".ipynb", ".toml", "Makefile"))
                and name != "tests/test_packaging.py"  # this test names what it looks for
                and re.search(r"shared/DOMAIN|\.\./shared|DOMAIN\.md", (ROOT / name).read_text(encoding="utf-8"))]
    assert pointing == []
    method = (ROOT / "docs" / "METHOD.md").read_text(encoding="utf-8")
    for term in ("分箱距離 binned distance", "主要型態 main pattern", "主運具規則 main-mode rule", "tie priority",
                 "electric-coach proxy", "walking rule", "每日排放 daily emission", "年排放 annual emission",
                 "平均排放強度 mean intensity", "運具次數 leg-count share", "旅次主運具 trip main-mode share",
                 "printed derivation", "0.084", "0.0863", "0.069", "0.068"):
        assert term in method, term
    assert "docs/METHOD.md" in (ROOT / "README.md").read_text(encoding="utf-8")
