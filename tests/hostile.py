"""A hostile copy of the sample: markup, spreadsheet formulas and personal data typed into every free-text field.

`make_hostile_raw(src, dst)` copies data/raw/sample and plants the corpus below into department names, barrier and
incentive "other" answers, survey mode and distance cells, claim origin/destination/station/mode/amount cells and
long-trip stations. Each markup payload carries a marker (XSS1...) that a page shows as text when it is escaped
and that turns up in a tag, an attribute or a script when it is not. `parse_html` gives what a browser would
build from a page: tags with attributes, script texts, text with its enclosing tags, and the tables.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

# markup: each runs script or changes the page when a report copies it raw
MARKUP = {
    "XSS1": "<script>document.body.dataset.pwned='XSS1'</script>",
    "XSS2": "<img src=x onerror=\"document.body.dataset.pwned='XSS2'\">",
    "XSS3": "<iframe src=\"javascript:parent.document.body.dataset.pwned='XSS3'\"></iframe>",
    "XSS4": "</table><h1>XSS4</h1>",
    "XSS5": "[XSS5](javascript:alert('XSS5'))",
}
# spreadsheet formulas (OWASP CSV injection): = + - @ tab CR at the start of a cell
FORMULAS = ["=cmd|' /C calc'!A0", "+HYPERLINK(\"http://evil.example\")", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]
# personal data a respondent may type (besides the staff's own numbers and names, taken from the sample)
EMAIL = "bob.lin@example.com"
PHONES = ["0912-345-678", "(02)2345-6789", "+886 912 345 678"]
ADDRESS = "臺北市中正區忠孝西路一段49號"
SMALL_UNITS = {"一人單位": 1}  # a department of 1 person (small-cell suppression; units of 2: test_suppression)


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    # every cell quoted: a carriage return inside a cell stays inside it
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_ALL).encode("utf-8-sig"))


def staff_identifiers(raw: Path) -> tuple[list[str], list[str]]:
    """(employee numbers, names) of the 2025 personnel file (roster or attendance), to be typed into answers."""
    book = next(raw / "2025" / name for name in ("roster.xlsx", "attendance.xlsx") if (raw / "2025" / name).exists())
    sheet = pd.read_excel(book, dtype=str, engine="openpyxl")
    return sheet["員工編號"].tolist(), sheet["姓名"].tolist()


def typed_personal_data(raw: Path) -> dict[str, list[str]]:
    """What the hostile copy has respondents type, by kind (for the identifier scan)."""
    emp, names = staff_identifiers(raw)
    return {"email": [EMAIL], "phone": PHONES, "employee_no": [emp[0], emp[1]], "name": [names[0], names[1]],
            "address": [ADDRESS]}


def make_hostile_raw(src: Path, dst: Path) -> Path:
    """Copy the raw sample from src to dst and plant the hostile corpus in it; returns dst."""
    shutil.copytree(src, dst)
    emp, names = staff_identifiers(dst)
    path = dst / "2025" / "survey.csv"
    survey = _read_csv(path)
    route, dept = survey.columns[4], "單位"
    barrier, incentive = survey.columns[-2], survey.columns[-1]
    route_a = survey.index[survey[route].str.startswith("A")].tolist()
    route_c = survey.index[survey[route].str.startswith("C")].tolist()
    # departments: markup names of 4 persons (shown) and of 3 (pooled with the unit of 1 person)
    rows = iter(route_a)
    for name, size in ((MARKUP["XSS1"], 4), (MARKUP["XSS2"], 4), (MARKUP["XSS4"], 4), (MARKUP["XSS5"], 3)):
        for _ in range(size):
            survey.loc[next(rows), dept] = name
    for name, size in SMALL_UNITS.items():
        for _ in range(size):
            survey.loc[next(rows), dept] = name
    # "other" answers: markup, formulas and personal data, one per respondent
    texts = (list(MARKUP.values()) + FORMULAS[:4] + [f"要接送小孩 {EMAIL}", f"請打 {PHONES[0]}", f"電話 {PHONES[1]}",
             f"手機 {PHONES[2]}", f"請問 {emp[0]} 的意見", f"同事{names[0]}也這麼想", f"我住{ADDRESS}"])
    for text in texts:
        row = next(rows)
        survey.loc[row, incentive] = ", ".join(filter(None, [survey.loc[row, incentive], text]))
    with_barrier = survey.index[(survey[barrier] != "")].tolist()
    for i, row in enumerate(with_barrier):
        extra = texts[i % len(texts)]
        survey.loc[row, barrier] = f"{survey.loc[row, barrier]}, {extra}" if survey.loc[row, barrier] else extra
    # commute cells of new staff: a markup mode, formulas / an employee number / a phone as distances
    mode_1, km_1 = "【通勤方式一】第1段運具", "【通勤方式一】第1段單程距離（公里）"
    cells = [(mode_1, MARKUP["XSS2"]), (km_1, MARKUP["XSS4"]), (km_1, emp[1]), (km_1, PHONES[0])]
    cells += [(km_1, formula) for formula in FORMULAS]
    for row, (column, value) in zip(route_c, cells):
        survey.loc[row, column] = value
    _write_csv(survey, path)

    path = dst / "2025" / "claims.csv"
    claims = _read_csv(path)
    claims.loc[0, "起點"] = ADDRESS
    claims.loc[1, "迄點"] = MARKUP["XSS1"]
    claims.loc[2, "交通工具"] = MARKUP["XSS2"]
    claims.loc[3, "起站"], claims.loc[3, "迄站"] = MARKUP["XSS4"], MARKUP["XSS5"]
    claims.loc[4, "金額"] = FORMULAS[0]
    claims.loc[5, "迄點"] = f"{names[1]}家"
    _write_csv(claims, path)

    path = dst / "2025" / "long_trips.csv"
    legs = _read_csv(path)
    legs.loc[6, "起站"] = MARKUP["XSS3"]
    legs.loc[7, "迄站"] = f"{names[0]}家 {PHONES[1]}"
    _write_csv(legs, path)
    return dst


# ------------------------------------------------------------------------------------------------ HTML
@dataclass
class Page:
    """What a browser builds from an HTML page (as far as the checks need)."""

    tags: list[tuple[str, dict]] = field(default_factory=list)        # every start tag with its attributes
    scripts: list[str] = field(default_factory=list)                  # text of each <script>
    texts: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # text and its enclosing tags
    tables: list[dict] = field(default_factory=list)                  # {"caption": str, "rows": [[cell text]]}

    def text(self) -> str:
        return "".join(t for t, _ in self.texts)

    def table(self, caption_start: str) -> dict:
        found = [t for t in self.tables if t["caption"].startswith(caption_start)]
        assert len(found) == 1, (caption_start, [t["caption"] for t in self.tables])
        return found[0]


class _Parser(HTMLParser):
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.page, self.stack, self.open_tables = Page(), [], []

    def handle_starttag(self, tag, attrs):
        self.page.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.open_tables.append({"caption": "", "rows": []})
        elif tag == "tr" and self.open_tables:
            self.open_tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.open_tables and self.open_tables[-1]["rows"]:
            self.open_tables[-1]["rows"][-1].append("")
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass
        if tag == "table" and self.open_tables:
            self.page.tables.append(self.open_tables.pop())

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "script":
            self.page.scripts.append(data)
            return
        self.page.texts.append((data, tuple(self.stack)))
        if self.open_tables:
            table = self.open_tables[-1]
            if "caption" in self.stack:
                table["caption"] += data
            elif table["rows"] and table["rows"][-1] and {"td", "th"} & set(self.stack):
                table["rows"][-1][-1] += data


def parse_html(path: Path) -> Page:
    parser = _Parser()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    parser.close()
    return parser.page
