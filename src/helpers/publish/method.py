"""The product's method document (docs/METHOD.md), published as METHOD.html in every year's report folder.

Every report page links to it (a line in each notebook's introduction, `METHOD_LINK`); the runner writes it with
the other sidecars (summary.json, manifest.json), so a report folder sent to a reviewer carries its definitions.
"""

from __future__ import annotations

import html
from pathlib import Path

from helpers import config

METHOD_MD = config.ROOT / "docs" / "METHOD.md"
METHOD_PAGE = "METHOD.html"
# the line each notebook's introduction ends with (a test checks every notebook has it)
METHOD_LINK = f"計算方法與名詞定義 Method and definitions：[{METHOD_PAGE}]({METHOD_PAGE})（docs/METHOD.md）"


def method_html(source: Path | None = None) -> str:
    """docs/METHOD.md rendered as a standalone zh-TW HTML page (house fonts)."""
    from nbconvert.filters import markdown2html

    from helpers.publish.pages import HOUSE_CSS

    path = Path(source or METHOD_MD)
    if not path.exists():
        raise FileNotFoundError(f"{path}: the method document is missing; it ships with the workbench in docs/")
    text = path.read_text(encoding="utf-8")
    title = text.splitlines()[0].lstrip("# ").strip() if text.strip() else "Method"
    css = HOUSE_CSS + "td, th { border: 1px solid #dde3e8; padding: 0.25rem 0.6rem; } code { background: #f4f6f8; }"
    return (f'<!DOCTYPE html>\n<html lang="zh-Hant">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{html.escape(title)}</title>\n<style>{css}</style>\n</head>\n<body>\n<main>\n"
            f'<p><a href="index.html">← 本年度報告 This year\'s reports</a></p>\n'
            f"{markdown2html(text)}\n</main>\n</body>\n</html>\n")


def write_method(year: int, *, raw_dir: Path, processed_dir: Path, out_dir: Path, params: dict | None = None) -> Path:
    """Write <out_dir>/METHOD.html (a run sidecar: the signature is the runner's)."""
    path = Path(out_dir) / METHOD_PAGE
    path.write_text(method_html(), encoding="utf-8")
    return path
