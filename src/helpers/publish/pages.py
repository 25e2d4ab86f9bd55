"""Report pages: an executed notebook rendered to HTML (code and parameter cells hidden, house style), and the
index pages of a year and of all years. The style sheets and page shells are files in publish/templates/."""

from __future__ import annotations

import html
import re
import string
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import nbformat

from helpers import config, reference


YEAR_DIR_PATTERN = re.compile(r"^\d{4}$")
PARAMETER_TAGS = {"parameters", "injected-parameters"}
READ_FIRST_LABEL = "請先閱讀 Read first"
TEMPLATES = Path(__file__).resolve().parent / "templates"  # style sheets and page shells


def _template(name: str) -> str:
    """A file of publish/templates/ as text."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


# Printing (reviewers print): A4, each section (h2) on a new page except the first, charts and table rows never
# split, table headers repeated, link targets written after the link text.
HOUSE_CSS = _template("house.css")  # the reports' house style: CJK font stack, accent colour, print rules
INDEX_CSS = HOUSE_CSS + _template("index.css")  # the index pages


@dataclass(frozen=True)
class Notebook:
    """A numbered source notebook (notebooks/NN_name.ipynb)."""

    number: int
    path: Path

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def is_summary(self) -> bool:
        return "summary" in self.name.lower()


def notebook_title(nb: nbformat.NotebookNode, default: str = "") -> str:
    """Text of the first markdown heading of a notebook (without the #s), or `default`."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            if line.lstrip().startswith("#"):
                return line.strip().lstrip("#").strip() or default
    return default


# ---------------------------------------------------------------------------------------------------- render

@lru_cache(maxsize=1)
def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    exporter.language_code = "zh"  # nbconvert accepts ISO 639-1 only; made zh-Hant below
    return exporter


_render_lock = threading.Lock()


def render_html(executed_path: Path | str, html_path: Path | str) -> Path:
    """Render an executed notebook to HTML: code and parameter cells hidden, stderr dropped; returns html_path."""
    executed_path, html_path = Path(executed_path), Path(html_path)
    nb = nbformat.read(executed_path, as_version=4)
    # parameter cells show nothing with code hidden, and papermill gives its injected one a random id
    nb.cells = [cell for cell in nb.cells if not PARAMETER_TAGS & set(cell.get("metadata", {}).get("tags", []))]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [out for out in cell.outputs
                            if not (out.output_type == "stream" and out.get("name") == "stderr")]
    nb.metadata["title"] = notebook_title(nb, default=executed_path.stem)
    with _render_lock:  # one exporter per process; its Jinja state is not meant for concurrent use
        body, _ = _exporter().from_notebook_node(nb)
    body = body.replace('<html lang="zh">', '<html lang="zh-Hant">', 1)
    body = body.replace("</head>", f'<style type="text/css">{HOUSE_CSS}</style>\n</head>', 1)
    html_path.write_text(body, encoding="utf-8")
    return html_path


# ----------------------------------------------------------------------------------------------------- index

def _page(title: str, body: str) -> str:
    """An index page: templates/page.html with its title, the index style and the body."""
    return string.Template(_template("page.html")).substitute(title=html.escape(title), css=INDEX_CSS,
                                                          body=body)


PATH_PARAMETERS = ("raw_dir", "processed_dir", "out_dir")


def _shown_value(name: str, value) -> str:
    """A run parameter as a page shows it: folders relative to the project, never the machine's absolute path."""
    if name not in PATH_PARAMETERS:
        return str(value)
    path = Path(value).resolve()
    root = Path(config.ROOT).resolve()
    if path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return "…/" + "/".join(path.parts[-2:])


def write_year_index(year_dir: Path, year: int, notebooks: list[Notebook], params: dict) -> Path:
    """Write <year_dir>/index.html linking the year's reports, the summary first ('請先閱讀 Read first')."""
    ordered = [nb for nb in notebooks if nb.is_summary] + [nb for nb in notebooks if not nb.is_summary]
    items = []
    for nb in ordered:
        title = notebook_title(nbformat.read(nb.path, as_version=4), default=nb.name)
        badge = f'<span class="badge">{READ_FIRST_LABEL}</span>' if nb.is_summary else ""
        css_class = ' class="first"' if nb.is_summary else ""
        items.append(f'<li{css_class}>{badge}'
                     f'<a href="{html.escape(nb.name)}.html">{html.escape(title)}</a>'
                     f'<span class="file">{html.escape(nb.name)}.html · '
                     f'<a href="executed/{html.escape(nb.path.name)}">ipynb</a></span></li>')
    data_files = sorted(p.name for p in year_dir.iterdir() if p.is_file() and p.suffix != ".html")
    data = ""
    if data_files:
        described = reference.labels("report_file")
        data = ("<h2>資料檔</h2>\n<p class=\"subtitle\">Data files</p>\n<ul>"
                + "".join(f'<li><a href="{html.escape(n)}">{html.escape(n)}</a>'
                          + (f'<span class="file">{html.escape(described[n])}</span>' if n in described else "")
                          + "</li>" for n in data_files)
                + "</ul>")
    names = reference.labels("run_parameter")
    rows = "".join(f"<tr><th>{html.escape(names.get(k, k))}</th><td>{html.escape(_shown_value(k, v))}</td></tr>"
                   for k, v in params.items() if k != "out_dir")
    label = config.year_label(year)
    body = (f'<p><a href="../index.html">← 所有年度 All years</a></p>\n'
            f"<h1>{html.escape(label)}員工通勤碳盤查報告</h1>\n"
            f'<p class="subtitle">Staff commuting carbon inventory reports, {year}</p>\n'
            f'<ul class="reports">{"".join(items)}</ul>\n{data}\n'
            f'<h2>執行參數</h2>\n<p class="subtitle">Run parameters</p>\n<table class="params">{rows}</table>\n')
    path = year_dir / "index.html"
    path.write_text(_page(f"{label} 報告 Reports", body), encoding="utf-8")
    return path


def write_top_index(out: Path | str) -> Path:
    """(Re)write <out>/index.html linking every year folder present in <out>, newest first."""
    out = Path(out)
    years = sorted((int(p.name) for p in out.iterdir()
                    if p.is_dir() and YEAR_DIR_PATTERN.match(p.name) and (p / "index.html").exists()),
                   reverse=True)
    items = "".join(f'<li><a href="{y}/index.html">{html.escape(config.year_label(y))}</a></li>' for y in years)
    body = ("<h1>員工通勤碳盤查報告</h1>\n"
            '<p class="subtitle">Staff commuting carbon inventory reports</p>\n'
            + (f'<ul class="reports">{items}</ul>' if years else "<p>尚無報告 No reports yet.</p>"))
    path = out / "index.html"
    path.write_text(_page("員工通勤碳盤查報告 Reports", body), encoding="utf-8")
    return path
