"""Committed notebooks are clean sources: no outputs, one typed `parameters` cell with a help comment per line."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SIMPLE_TYPES = {"int": int, "float": (int, float), "str": str, "bool": bool}


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _parameters_cells(nb: nbformat.NotebookNode) -> list:
    return [cell for cell in nb.cells if "parameters" in cell.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path):
    for index, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code":
            continue
        assert not cell.outputs, f"{path.name}: cell {index} has outputs; clear them before committing"
        assert cell.execution_count is None, f"{path.name}: cell {index} has an execution count; clear outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_of_typed_literals(path: Path):
    cells = _parameters_cells(_read(path))
    assert len(cells) == 1, f"{path.name}: {len(cells)} cells tagged `parameters`; expected exactly one"
    source = cells[0].source
    assert cells[0].cell_type == "code", f"{path.name}: the `parameters` cell must be a code cell"
    statements = ast.parse(source).body
    assert statements, f"{path.name}: the `parameters` cell is empty"
    statement_lines = set()
    for statement in statements:
        where = f"{path.name}, parameters line {statement.lineno}"
        assert isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name), (
            f"{where}: expected `name: type = literal  # help`, got {ast.unparse(statement)!r}")
        assert statement.value is not None, f"{where}: {statement.target.id} has no default value"
        try:
            value = ast.literal_eval(statement.value)
        except ValueError:
            pytest.fail(f"{where}: the default of {statement.target.id} is not a literal: "
                        f"{ast.unparse(statement.value)!r} (derived values go in the next cell)")
        expected = SIMPLE_TYPES.get(ast.unparse(statement.annotation))
        if expected is not None:
            assert isinstance(value, expected) and not (isinstance(value, bool) and expected is int), (
                f"{where}: {statement.target.id} is annotated {ast.unparse(statement.annotation)} "
                f"but its default is {value!r}")
        assert statement.end_lineno == statement.lineno, f"{where}: keep each parameter on one line"
        statement_lines.add(statement.lineno)
    commented = {token.start[0] for token in tokenize.generate_tokens(io.StringIO(source).readline)
                 if token.type == tokenize.COMMENT}
    for number, line in enumerate(source.splitlines(), start=1):
        if not line.strip():
            continue
        assert number in statement_lines, (
            f"{path.name}, parameters line {number}: {line.strip()!r} is not a parameter (no commented-out defaults)")
        assert number in commented, f"{path.name}, parameters line {number}: add a `# help` comment: {line.strip()!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_introduction_links_the_method_page(path: Path):
    from helpers.publish.method import METHOD_LINK

    intro = _read(path).cells[0]
    assert intro.cell_type == "markdown" and intro.source.rstrip().endswith(METHOD_LINK), (
        f"{path.name}: the first cell must end with the method link line {METHOD_LINK!r}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter(path: Path):
    """papermill's own parser (which the runner uses to pass parameters) must read every line: e.g. an '=' in a help
    comment makes it skip the parameter, and the runner would then silently not pass it."""
    import papermill

    declared = {p.target.id for p in ast.parse(_parameters_cells(_read(path))[0].source).body}
    assert set(papermill.inspect_notebook(str(path))) == declared
