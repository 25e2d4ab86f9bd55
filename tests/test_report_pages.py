"""Rendered pages as a reviewer reads them: every category on the summary, zh-TW labels, no codes, no machine paths."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from helpers import reference
from helpers.publish import tables


class _Text(HTMLParser):
    """The visible text of a page (no style or script), and the link targets."""

    def __init__(self):
        super().__init__()
        self.parts, self.hrefs, self._skip = [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "script"):
            self._skip += 1
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)

    def handle_endtag(self, tag):
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def page_text(path) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return " ".join(parser.parts), parser.hrefs


def _pages(pipeline_run):
    pages = sorted(pipeline_run.out_dir.glob("**/*.html"))
    assert len(pages) >= 15
    return pages


# codes of the workbench that must never reach a reader (their zh-TW labels are in data/reference/labels.yaml)
CODE_WORDS = sorted({*reference.labels("reject_reason"), *reference.labels("flag"), "total_kgco2e", "min_cell",
                     "long_trips_kgco2e", "annual_total_kgco2e", "base_year", "main_mode_rule", "raw_dir",
                     "processed_dir"}, key=len, reverse=True)
CODE_PATTERN = re.compile(r"(?<![\w.])(" + "|".join(map(re.escape, CODE_WORDS)) + r")(?![\w])")


def test_no_codes_or_english_reject_reasons_on_any_page(pipeline_run):
    found = {}
    for path in _pages(pipeline_run):
        text, _ = page_text(path)
        hits = sorted(set(CODE_PATTERN.findall(text)))
        if "<k" in text:
            hits.append("<k")
        if hits:
            found[str(path.relative_to(pipeline_run.out_dir))] = hits
    assert not found, f"codes shown to readers: {found}"


def test_no_absolute_paths_on_any_page(pipeline_run):
    machine = [str(p) for p in (pipeline_run.raw_dir, pipeline_run.processed_dir, pipeline_run.out_dir)]
    absolute = re.compile(r"(?<![\w.:/])/(?:tmp|home|work|root|Users|var|opt|srv|mnt)/")
    for path in _pages(pipeline_run):
        text, hrefs = page_text(path)
        for where in (text, " ".join(hrefs)):
            assert not [m for m in machine if m in where], path
            assert not absolute.search(where), (path, absolute.search(where).group(0))


def test_summary_lists_every_category_with_its_figure(pipeline_run):
    folder = pipeline_run.out_dir / "2025"
    text, hrefs = page_text(folder / "07_summary.html")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    bt = summary["business_travel"]
    for label, figure in (("員工通勤", summary["annual_total_kgco2e"]), ("短程公出", bt["total_kgco2e"]),
                          ("長程出差", bt["long_trips_kgco2e"])):
        assert label in text and tables.fmt_kg(figure) in text, (label, figure)
    assert "208.62" in text and "69.63" in text and "44,950.43" in text  # the study's sample figures
    total = summary["annual_total_kgco2e"] + bt["total_kgco2e"] + bt["long_trips_kgco2e"]
    assert tables.fmt_kg(total) in text  # category 3 in all
    assert "inventory.xlsx" in hrefs


def test_pages_with_nothing_to_show_say_why_in_one_line(pipeline_run):
    folder = pipeline_run.out_dir / "2024"
    expectations = {"04_attitudes.html": "2024 年問卷未含態度題", "05_year_on_year.html": "首次調查年度，無前一年度可比較",
                    "06_business_travel.html": "本年度無公出報支資料"}
    for page, line in expectations.items():
        text, _ = page_text(folder / page)
        assert line in text, page
        assert "--year 2023" not in text
    for page in ("04_attitudes.html", "06_business_travel.html"):  # no empty section headings under the title
        html_text = (folder / page).read_text(encoding="utf-8")
        assert len(re.findall(r"<h2", html_text)) == 0, page


@pytest.mark.parametrize("year", ("2024", "2025"))
def test_year_index_names_parameters_in_chinese(pipeline_run, year):
    text, _ = page_text(pipeline_run.out_dir / year / "index.html")
    for name in ("盤查年度", "比較年度", "原始資料夾", "處理後資料夾", "主運具判定規則"):
        assert name in text
