"""Compare two output trees of the workbench: the same results, apart from what a run stamps on them.

    python tools/compare_outputs.py BEFORE AFTER      # exit 0: identical; 1: the differences are listed

Used to prove that a refactor changes no output (see tools/reference_outputs.py, which writes such a tree).
Every file of both trees is compared by kind:

- `.parquet`: decoded; same columns, dtypes and values (exact, NaN equal to NaN);
- `.json` / `.jsonl`: parsed; keys that stamp a run (`generated_at`, `git`, `when`, `by`) left out, and the
  hash and size of `.xlsx` files listed in them (a workbook's bytes include the time it was written; the
  cells of the workbooks in the tree are compared);
- `.csv`, `.txt`, `.md`: text;
- `.html`: the text of every table, cell by cell, the visible text outside tables, and the embedded images;
  markup, CSS and the random ids pandas' Styler gives each table are not compared;
- `.ipynb` (executed notebooks): the outputs of each code cell (text, tables, images), not the cell sources
  (imports move in a refactor) nor papermill's timings;
- `.xlsx`: the cells of every sheet;
- anything else: bytes.

In all text, the tree's own absolute path becomes `<TREE>`, other temporary folders `<TMP>`, ISO
timestamps `<TIME>`, and object reprs (`<helpers.x.Table at 0x7f...>`) keep only their class name, so that two runs into different folders at different times compare equal.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

IGNORED_KEYS = {"generated_at", "git", "when", "by"}  # run stamps: time, commit and dirty flag, operator
IGNORED_NAMES = {".lock"}  # suffixes of files that are bookkeeping, not results
IGNORED_FILES = {".run-id"}  # a run's random identifier (publish/runguard)
TMP_PATH = re.compile(r"(/tmp|/var/folders/[^\s\"'<>]*?)/[^\s\"'<>/]*(?:workbench|tmp|pytest)[^\s\"'<>/]*")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
# repr of an object, e.g. <helpers.publish.tables.ReportTable at 0x7f...>: its address and the module path of its
# class (a refactor moves classes between modules) are not results
ADDRESS = re.compile(r"<(?:[A-Za-z_][\w]*\.)*([A-Za-z_]\w*)(?: object)? at 0x[0-9a-f]+>")
STYLER_ID = re.compile(r"T_[0-9a-f]{5}(?:_row\d+_col\d+|_level\d+_col\d+|_level\d+_row\d+)?")
MAX_SHOWN = 5  # differences shown per file


class Tree:
    """One output tree: its root and the normalisation of its text."""

    def __init__(self, root: Path):
        self.root = Path(root).resolve()

    def norm(self, text: str) -> str:
        """Text with the tree's path, temporary folders and timestamps replaced by placeholders."""
        text = text.replace(str(self.root), "<TREE>")
        text = TMP_PATH.sub("<TMP>", text)
        text = ISO_TIME.sub("<TIME>", text)
        text = ADDRESS.sub(r"<\1 at 0x<ADDRESS>>", text)
        return STYLER_ID.sub("T_<ID>", text)

    def files(self) -> dict[str, Path]:
        """Relative path -> file, for every file of the tree (bookkeeping files left out)."""
        return {p.relative_to(self.root).as_posix(): p for p in sorted(self.root.rglob("*"))
                if p.is_file() and p.suffix not in IGNORED_NAMES and p.name not in IGNORED_FILES}


# ------------------------------------------------------------------------------------------------ decoders

def _json_clean(value, tree: Tree):
    """A parsed JSON value without the run-stamp keys, its strings normalised."""
    if isinstance(value, dict):
        stamped = str(value.get("path", "")).endswith(".xlsx")  # a workbook's bytes include the time it was written
        return {k: _json_clean(v, tree) for k, v in value.items()
                if k not in IGNORED_KEYS and not (stamped and k in ("sha256", "bytes"))}
    if isinstance(value, list):
        return [_json_clean(v, tree) for v in value]
    if isinstance(value, str):
        return tree.norm(value)
    return value


def _json_lines(path: Path, tree: Tree) -> list:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [_json_clean(json.loads(line), tree) for line in text.splitlines() if line.strip()]
    return [_json_clean(json.loads(text), tree)]


class _HtmlText(HTMLParser):
    """Tables (rows of cell texts), the visible text outside tables, and the images' content digests."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.text: list[str] = []
        self.images: list[str] = []
        self._skip = 0
        self._depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script", "title"):
            self._skip += 1
        elif tag == "table":
            self._depth += 1
            if self._depth == 1:
                self.tables.append([])
        elif tag == "tr" and self._depth:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            src = dict(attrs).get("src") or ""
            data = src.split(",", 1)[1] if src.startswith("data:") and "," in src else src
            self.images.append(hashlib.sha256(data.encode()).hexdigest()[:16])

    def handle_endtag(self, tag):
        if tag in ("style", "script", "title"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._depth:
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif not self._depth and data.strip():
            self.text.append(" ".join(data.split()))


def _html(path: Path, tree: Tree) -> dict:
    parser = _HtmlText()
    parser.feed(tree.norm(path.read_text(encoding="utf-8")))
    return {"tables": parser.tables, "text": parser.text, "images": parser.images}


def _notebook_outputs(path: Path, tree: Tree) -> list:
    """Per code cell: its outputs (stream text, data by MIME type; images as digests), in order."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        outs = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                outs.append({"stream": out.get("name"), "text": tree.norm("".join(out.get("text", "")))})
            elif "data" in out:
                data = {}
                for mime, value in out["data"].items():
                    value = "".join(value) if isinstance(value, list) else value
                    if mime.startswith("image/"):
                        data[mime] = hashlib.sha256(str(value).encode()).hexdigest()[:16]
                    elif mime == "text/html":
                        parser = _HtmlText()
                        parser.feed(tree.norm(value))
                        data[mime] = {"tables": parser.tables, "text": parser.text}
                    else:
                        data[mime] = tree.norm(value if isinstance(value, str) else json.dumps(value, sort_keys=True))
                outs.append({"data": data})
            elif out.get("output_type") == "error":
                outs.append({"error": out.get("ename"), "value": tree.norm(str(out.get("evalue")))})
        cells.append(outs)
    return cells


def _xlsx(path: Path, tree: Tree) -> dict:
    sheets = pd.read_excel(path, sheet_name=None, dtype=str, header=None, engine="openpyxl")
    return {name: frame.fillna("").map(tree.norm).to_numpy().tolist() for name, frame in sheets.items()}


# ----------------------------------------------------------------------------------------------- compare

def _diff_lists(a: list, b: list, label: str) -> list[str]:
    """Where two lists first differ (and their lengths when they differ)."""
    out = []
    if len(a) != len(b):
        out.append(f"{label}: {len(a)} vs {len(b)} items")
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            out.append(f"{label} [{i}]: {str(x)[:300]!r} vs {str(y)[:300]!r}")
            if len(out) >= MAX_SHOWN:
                break
    return out


def _diff_values(a, b, label: str) -> list[str]:
    """Differences between two parsed JSON values, by key path."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{label}.{k}: only in {'before' if k in a else 'after'}" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += _diff_values(a[k], b[k], f"{label}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff_values(x, y, f"{label}[{i}]")]
    return [] if a == b else [f"{label}: {str(a)[:300]!r} vs {str(b)[:300]!r}"]


def compare_parquet(a: Path, b: Path, ta: Tree, tb: Tree) -> list[str]:
    """Columns, dtypes and values of two parquet files (exact; NaN equals NaN)."""
    fa, fb = pd.read_parquet(a), pd.read_parquet(b)
    if list(fa.columns) != list(fb.columns):
        return [f"columns {list(fa.columns)} vs {list(fb.columns)}"]
    dtypes = [f"dtype of {c}: {fa[c].dtype} vs {fb[c].dtype}" for c in fa.columns if fa[c].dtype != fb[c].dtype]
    if dtypes or len(fa) != len(fb):
        return dtypes + ([f"{len(fa)} vs {len(fb)} rows"] if len(fa) != len(fb) else [])
    out = []
    for c in fa.columns:
        x, y = fa[c].reset_index(drop=True), fb[c].reset_index(drop=True)
        if x.dtype == object or str(x.dtype) == "string":
            x, y = x.map(lambda v: ta.norm(v) if isinstance(v, str) else v), y.map(
                lambda v: tb.norm(v) if isinstance(v, str) else v)
        same = (x == y).fillna(False).to_numpy(dtype=bool) | (x.isna() & y.isna()).to_numpy(dtype=bool)
        if not same.all():
            i = int((~same).nonzero()[0][0])
            out.append(f"column {c}: {int((~same).sum())} row(s) differ, first row {i}: {x.iloc[i]!r} vs {y.iloc[i]!r}")
    return out


def compare_file(rel: str, a: Path, b: Path, ta: Tree, tb: Tree) -> list[str]:
    """The differences between two versions of one output file ([] when they are the same)."""
    suffix = a.suffix.lower()
    if suffix == ".parquet":
        return compare_parquet(a, b, ta, tb)
    if suffix in (".json", ".jsonl"):
        return _diff_values(_json_lines(a, ta), _json_lines(b, tb), "")
    if suffix == ".html":
        ha, hb = _html(a, ta), _html(b, tb)
        out = []
        if len(ha["tables"]) != len(hb["tables"]):
            out.append(f"{len(ha['tables'])} vs {len(hb['tables'])} tables")
        for i, (x, y) in enumerate(zip(ha["tables"], hb["tables"])):
            out += _diff_lists(x, y, f"table {i + 1}")
        return out + _diff_lists(ha["text"], hb["text"], "text") + _diff_lists(ha["images"], hb["images"], "image")
    if suffix == ".ipynb":
        na, nb = _notebook_outputs(a, ta), _notebook_outputs(b, tb)
        return _diff_values(na, nb, "code cell")
    if suffix == ".xlsx":
        return _diff_values(_xlsx(a, ta), _xlsx(b, tb), "")
    if suffix in (".csv", ".txt", ".md", ".log"):
        la = ta.norm(a.read_text(encoding="utf-8-sig")).splitlines()
        lb = tb.norm(b.read_text(encoding="utf-8-sig")).splitlines()
        return _diff_lists(la, lb, "line")
    return [] if a.read_bytes() == b.read_bytes() else [f"bytes differ ({a.stat().st_size} vs {b.stat().st_size})"]


def compare_trees(before: Path, after: Path) -> dict[str, list[str]]:
    """Relative path -> its differences, for every file that differs or exists on one side only."""
    ta, tb = Tree(before), Tree(after)
    fa, fb = ta.files(), tb.files()
    out: dict[str, list[str]] = {}
    for rel in sorted(set(fa) | set(fb)):
        if rel not in fb:
            out[rel] = ["only in before"]
        elif rel not in fa:
            out[rel] = ["only in after"]
        else:
            try:
                diffs = compare_file(rel, fa[rel], fb[rel], ta, tb)
            except Exception as exc:  # an unreadable file is a difference to look at, not a crash
                diffs = [f"could not compare: {type(exc).__name__}: {exc}"]
            if diffs:
                out[rel] = diffs
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    for folder in (args.before, args.after):
        if not folder.is_dir():
            print(f"error: {folder} is not a folder", file=sys.stderr)
            return 2
    differences = compare_trees(args.before, args.after)
    n = len(Tree(args.before).files().keys() | Tree(args.after).files().keys())
    for rel, diffs in differences.items():
        print(f"DIFFERS {rel}")
        for line in diffs[:MAX_SHOWN]:
            print(f"    {line}")
        if len(diffs) > MAX_SHOWN:
            print(f"    ... {len(diffs) - MAX_SHOWN} more")
    print(f"{n} files compared: {'identical' if not differences else f'{len(differences)} differ'}")
    return 0 if not differences else 1


if __name__ == "__main__":
    sys.exit(main())
