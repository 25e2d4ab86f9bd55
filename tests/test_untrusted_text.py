"""Text typed by respondents is hostile: a full run on a copy of the sample with markup, formulas and personal data in
every free-text field (tests/hostile.py) renders it as text, never as markup, keeps every table's rows, and shows
no pseudonym in a report."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from hostile import MARKUP, parse_html

from helpers import privacy
from helpers.publish import tables, travel_tables

PAGES = ("01_ingest", "02_emissions", "04_attitudes", "06_business_travel")
SAFE_ATTRIBUTE = re.compile(r"XSS\d")


def _html_pages(out: Path) -> list[Path]:
    return sorted(out.rglob("*.html"))


# ------------------------------------------------------------------ 1. markup is shown, never run
def test_show_escapes_cells_headers_and_caption():
    frame = pd.DataFrame({"單位 <b>": [MARKUP["XSS1"], MARKUP["XSS4"]], "n": [1, 2]})
    page = tables.show(frame, caption="<i>x</i>").to_html()
    assert "<script>" not in page and "<h1>" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;" in page and "&lt;/table&gt;&lt;h1&gt;XSS4" in page
    assert page.count("<tr>") == 3  # header + 2 rows


def test_md_makes_markdown_inert():
    """Rendered as nbconvert renders a notebook's Markdown output: the text shows as typed, nothing becomes markup."""
    from nbconvert.filters.markdown import markdown2html_mistune

    for text in [*MARKUP.values(), "# 標題 *粗體* `code`\n- item", "<https://evil.example>"]:
        out = markdown2html_mistune("- " + tables.md(text))
        assert re.fullmatch(r"<ul>\s*<li>[^<]*</li>\s*</ul>\s*", out), out  # one list item of plain text
        assert html.unescape(out.split("<li>")[1].split("</li>")[0]) == " ".join(text.split())


@pytest.fixture(scope="module")
def rendered(hostile_run) -> dict[str, object]:
    year_dir = hostile_run.out_dir / "2025"
    return {name: parse_html(year_dir / f"{name}.html") for name in PAGES}


def test_every_page_of_a_hostile_run_is_free_of_data_markup(hostile_run):
    pages = _html_pages(hostile_run.out_dir)
    assert len(pages) >= 15
    for path in pages:
        source = path.read_text(encoding="utf-8")
        for marker, payload in MARKUP.items():
            assert "<" not in payload or payload not in source, f"{path.name}: {marker} copied raw"
        page = parse_html(path)
        for tag, attrs in page.tags:
            assert tag != "iframe", f"{path.name}: an iframe"
            for name, value in attrs.items():
                assert not SAFE_ATTRIBUTE.search(f"{name}={value}"), f"{path.name}: <{tag} {name}={value!r}>"
                assert not (value or "").strip().lower().startswith("javascript:"), f"{path.name}: <{tag} {name}>"
        assert not any(SAFE_ATTRIBUTE.search(s) for s in page.scripts), f"{path.name}: data inside a <script>"
        for text, stack in page.texts:
            if SAFE_ATTRIBUTE.search(text):
                assert not {"h1", "h2", "a", "script", "iframe"} & set(stack), f"{path.name}: {text!r} in {stack}"


def test_the_hostile_text_is_shown_as_typed(rendered):
    """Each page shows the payloads that reach it, as text (escaping, not dropping)."""
    expected = {"01_ingest": ("XSS2", "XSS4"), "02_emissions": ("XSS1", "XSS2", "XSS4"),
                "04_attitudes": ("XSS1", "XSS2", "XSS3", "XSS4", "XSS5"), "06_business_travel": ("XSS2", "XSS3")}
    for name, markers in expected.items():
        text = rendered[name].text()
        for marker in markers:
            assert marker in text, f"{name}: {marker} not shown as text"
    assert MARKUP["XSS1"] in rendered["02_emissions"].text() and MARKUP["XSS4"] in rendered["04_attitudes"].text()


def test_tables_keep_their_rows(hostile_run, rendered):
    processed = hostile_run.processed_dir / "2025"
    rejects = pd.read_parquet(processed / "rejects.parquet")
    listing = rendered["01_ingest"].table("退件明細")
    assert len(listing["rows"]) == 1 + min(200, len(rejects))
    bt_rejects = pd.read_parquet(processed / "business_travel" / "rejects.parquet")
    assert len(rendered["06_business_travel"].table("剔除資料")["rows"]) == 1 + len(bt_rejects)
    shown = rendered["02_emissions"].table("各單位人數與年排放量")["rows"][1:]
    assert {row[0] for row in shown} >= {MARKUP[m] for m in ("XSS1", "XSS2", "XSS4")}  # XSS5: pooled (3 persons)


@pytest.mark.skipif(shutil.which("chromium") is None, reason="headless Chromium not installed")
def test_no_script_from_the_data_runs_in_chromium(hostile_run):
    for name in PAGES:
        page = hostile_run.out_dir / "2025" / f"{name}.html"
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000",
                              "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
        assert "</html>" in dom, f"{name}: Chromium gave no DOM"
        assert "data-pwned" not in dom, f"{name}: a script from the data ran"
        assert "<h1>XSS4</h1>" not in dom


# ------------------------------------------------------------------ 5. no pseudonyms in reports
def test_report_sequence_replaces_pseudonyms():
    ids = pd.Series(["a" * 16, "b" * 16, "a" * 16, None])
    assert privacy.report_sequence(ids, "申請人").tolist()[:3] == ["申請人 1", "申請人 2", "申請人 1"]
    mixed = pd.Series(["0123456789abcdef", "3.5 km", None])
    shown = privacy.hide_pseudonyms(mixed)
    assert shown.iloc[0] == "填答者 1" and shown.iloc[1] == "3.5 km" and pd.isna(shown.iloc[2])


def test_review_list_numbers_applicants():
    claims = pd.DataFrame({"claim_id": ["c1", "c2", "c3"], "source_row": [1, 2, 3],
                           "applicant_id": ["f" * 16, "e" * 16, "f" * 16], "needs_review": True,
                           "date": pd.to_datetime(["2025-11-03"] * 3), "trip_type": "single", "modes": "taxi_petrol",
                           "amount_ntd": 100.0, "distance_km": 1.0, "emission_kgco2e": 0.1,
                           "methods": "taxi_tariff", "quality": "medium", "flags": ""})
    review = travel_tables.review_list(claims)
    assert review["applicant"].tolist() == ["申請人 1", "申請人 2", "申請人 1"]
    assert "applicant_id" not in review.columns


def test_reports_show_no_pseudonyms(pipeline_run):
    processed = pipeline_run.processed_dir
    ids = set()
    for year in ("2024", "2025"):
        ids |= set(pd.read_parquet(processed / year / "respondents.parquet")["respondent_id"])
    for name in ("claims", "long_trips"):
        ids |= set(pd.read_parquet(processed / "2025" / "business_travel" / f"{name}.parquet")["applicant_id"])
    assert len(ids) > 150
    pattern = re.compile(r"(?<![0-9a-f])([0-9a-f]{16})(?![0-9a-f])")
    hits = []
    for path in sorted(pipeline_run.out_dir.rglob("*")):
        if path.is_file() and path.suffix in (".html", ".ipynb", ".json", ".csv"):
            found = set(pattern.findall(path.read_text(encoding="utf-8", errors="replace"))) & ids
            hits += [f"{path.relative_to(pipeline_run.out_dir)}: {v}" for v in sorted(found)[:3]]
    assert hits == [], hits[:20]


# ------------------------------------------------------------------ 2. personal data masked at ingestion
def test_mask_personal_keeps_the_rest_readable():
    known = ["T10037", "高文芬", "staff001@example.org"]
    cases = {
        "要接送小孩 bob.lin@example.com": "要接送小孩 [已遮蔽]",
        "請打 0912-345-678": "請打 [已遮蔽]", "電話 (02)2345-6789": "電話 [已遮蔽]", "手機 +886 912 345 678": "手機 [已遮蔽]",
        "請問 T10074 的意見": "請問 [已遮蔽] 的意見", "ｔ１００３７ 說": "[已遮蔽] 說",
        "同事高文芬也這麼想": "同事[已遮蔽]也這麼想", "文芬也是": "[已遮蔽]也是",
        "臺北市中正區忠孝西路一段49號": "臺北市中正區[已遮蔽]", "長安東路二段100巷3弄5號4樓": "[已遮蔽]",
        # left alone: distances, times, labels, station exits, form options
        "12.5 km": "12.5 km", "2025/3/5 下午 2:31:07": "2025/3/5 下午 2:31:07", "TPASS通勤月票補助": "TPASS通勤月票補助",
        "捷運2號出口": "捷運2號出口", "還要接小孩": "還要接小孩",
    }
    masked = privacy.mask_personal(pd.Series(list(cases) + [None]), known)
    assert masked.tolist()[:-1] == list(cases.values())
    assert pd.isna(masked.iloc[-1])


# ------------------------------------------------------------------ 3. formulas neutralised in CSV/XLSX
def test_write_csv_neutralises_formulas(tmp_path):
    from helpers.schemas import write_csv

    frame = pd.DataFrame({"value": ["=1+1", "+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "12.5", None],
                          "n": [1, 2, 3, 4, 5, 6, 7, 8]})
    text = write_csv(frame, tmp_path / "x.csv").read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'+1", "'-2+3", "'@SUM(A1)", "'\t=1", "'\r=1", "12.5", ""]
    assert [r[1] for r in rows[1:]] == [str(i) for i in range(1, 9)]


def test_no_formula_in_any_csv_or_xlsx_of_a_hostile_run(hostile_run):
    from helpers.schemas import FORMULA_PREFIXES

    written = [p for folder in (hostile_run.processed_dir, hostile_run.out_dir) for p in folder.rglob("*")
               if p.suffix in (".csv", ".xlsx")]
    assert any(p.name == "rejects.csv" for p in written) and any(p.suffix == ".xlsx" for p in written)
    cells = []
    for path in written:
        if path.suffix == ".csv":
            text = path.read_bytes().decode("utf-8-sig")
            cells += [(path.name, c) for row in csv.reader(io.StringIO(text, newline="")) for c in row]
        else:
            import openpyxl

            book = openpyxl.load_workbook(path)
            for sheet in book.worksheets:
                for row in sheet.iter_rows():
                    for cell in row:
                        assert cell.data_type != "f", f"{path.name}!{sheet.title}{cell.coordinate}: a formula"
                        cells += [(path.name, cell.value)] if isinstance(cell.value, str) else []
    bad = [(name, c) for name, c in cells if c.startswith(FORMULA_PREFIXES)]
    assert bad == [], bad[:10]
    shown = {c for name, c in cells if name == "rejects.csv"}
    assert "'=cmd|' /C calc'!A0" in shown and "'@SUM(1+1)*cmd|' /C calc'!A0" in shown  # kept, neutralised
