"""Regenerate the bad-input corpus (tests/corpus/*.csv) from the survey form mappings.

Run from the repository root: `PYTHONPATH=src python tests/corpus/make_corpus.py`. Each file is a small survey
export in the form's real layout (data/reference/survey/<year>.yaml) with one defect; README.md lists the cases
and tests/test_ingest.py the expected outcome of each. The people are synthetic (T9000x, example.org).
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from helpers.survey import ingest
from helpers.synthetic import sample

HERE = Path(__file__).resolve().parent
MODES = {  # the same modes under each year's labels
    2024: {"car": "汽車（汽油）", "walk": "步行", "mrt": "捷運（臺北）", "moto": "機車（汽油）"},
    2025: {"car": "汽車（汽油）", "walk": "步行", "mrt": "臺北捷運", "moto": "機車（燃油）"},
}
ROUTES = {"A": "A. 同意沿用去年資料，且通勤方式沒有改變", "B": "B. 同意沿用去年資料，但通勤方式已改變（重新填寫通勤資料）",
          "C": "C. 今年新進同仁（填寫全部問題）", "D": "D. 不同意，請刪除我的資料"}


def person(year: int, n: int, **cells: str) -> dict:
    """A valid answer of synthetic person T9000n (field names as in ingest.expected_columns), with overrides."""
    m = MODES[year]
    commutes = {
        1: {"days_1": "5", "mode_1_1": m["car"], "km_1_1": "12.5"},
        2: {"days_1": "5", "mode_1_1": m["walk"], "km_1_1": "0.8", "mode_1_2": m["mrt"], "km_1_2": "6"},
        3: {"days_1": "3", "mode_1_1": m["moto"], "km_1_1": "7.2",
            "days_2": "2", "mode_2_1": m["car"], "km_2_1": "7.5"},
    }
    row = {"timestamp": f"{year}/3/{n} 上午 9:0{n}:00", "email": f"e9000{n}@example.org",
           "employee_no": f"T9000{n}", "department": "運輸計畫組", **commutes.get(n, commutes[1])}
    row.update(cells)
    return row


def table(year: int, rows: list[dict | None], header_map=None) -> list[list[str]]:
    """Header + rows as lists of cells in the form's column order; None is a blank line."""
    mapping = ingest.load_mapping(year)
    cols = ingest.expected_columns(mapping)
    headers = sample.survey_headers(mapping)
    field_of = {head: field for field, head in cols.items()}
    shown = [header_map(h) if header_map else h for h in headers]
    out = [shown]
    for row in rows:
        out.append([] if row is None else [row.get(field_of.get(ingest.norm_header(h), ""), "") for h in headers])
    return out


def csv_text(cells: list[list[str]], end: str = "\n") -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=end).writerows(cells)
    return buf.getvalue()


def base(year: int = 2024) -> list[dict]:
    return [person(year, 1), person(year, 2), person(year, 3)]


def with_row3(year: int = 2024, **cells: str) -> list[dict]:
    """The three people, the third (spreadsheet row 4) with the given cells."""
    return [person(year, 1), person(year, 2), person(year, 3, **cells)]


def cases() -> dict[str, bytes]:
    """file name -> bytes of every corpus file."""
    u8 = lambda text: text.encode("utf-8")  # noqa: E731
    bom = lambda text: text.encode("utf-8-sig")  # noqa: E731
    out: dict[str, bytes] = {}
    put = lambda name, rows, year=2024, enc=bom: out.__setitem__(name, enc(csv_text(table(year, rows))))  # noqa: E731
    # ---- accepted, with the input's quirks normalised
    put("valid_2024.csv", base())
    put("utf8_no_bom.csv", base(), enc=u8)
    put("big5_cp950.csv", base(), enc=lambda t: t.encode("cp950"))
    out["crlf_line_endings.csv"] = bom(csv_text(table(2024, base()), end="\r\n"))
    put("fullwidth_digits.csv", with_row3(employee_no="Ｔ９０００３", days_1="３", km_1_1="７．２"))
    put("km_units.csv", [person(2024, 1, km_1_1="5公里"), person(2024, 2, km_1_2="5 km"), person(2024, 3, km_1_1="5KM")])
    put("decimal_comma.csv", with_row3(km_1_1="7,2"))
    put("days_with_unit.csv", with_row3(days_1="3天", days_2="2 天"))
    out["header_variants.csv"] = bom(csv_text(table(2024, base(), header_map=lambda h: h.replace("（", "(")
                                                       .replace("）", ")") + " ")))
    gap = person(2024, 2, mode_1_2="", km_1_2="", mode_1_3=MODES[2024]["mrt"], km_1_3="6")
    put("leg_gap.csv", [person(2024, 1), gap, person(2024, 3)])
    extra = table(2024, base())
    extra[0].append("備註")
    for line in extra[1:]:
        line.append("無")
    out["extra_column.csv"] = bom(csv_text(extra))
    put("excel_timestamp.csv", with_row3(timestamp="2024/3/3 14:31"))
    out["no_trailing_newline.csv"] = bom(csv_text(table(2024, base())).rstrip("\n"))
    put("multiline_cell.csv", [person(2024, 1, department="運輸計畫組\n第二科"), person(2024, 2), person(2024, 3, km_1_1="-3")])
    # ---- rejected rows, each with its reason
    put("blank_rows.csv", [person(2024, 1), None, {}, person(2024, 2), person(2024, 3)])
    put("duplicate_rows.csv", [person(2024, 1, km_1_1="15.5", timestamp="2024/3/1 上午 8:00:00"), person(2024, 2),
                               person(2024, 3), person(2024, 1), person(2024, 2)])
    put("unknown_mode.csv", with_row3(mode_1_1="飛機"))
    put("negative_distance.csv", with_row3(km_1_1="-3"))
    put("zero_distance.csv", with_row3(km_1_1="0"))
    put("absurd_distance.csv", with_row3(km_1_1="350"))
    put("thousands_separator.csv", with_row3(km_1_1="1,234"))
    put("distance_not_a_number.csv", with_row3(km_1_1="約五公里"))
    put("distance_range.csv", with_row3(km_1_1="5-10"))
    put("days_zero.csv", with_row3(days_1="0"))
    put("days_over_7.csv", with_row3(days_1="8"))
    put("days_total_over_7.csv", with_row3(days_1="5", days_2="4"))
    put("days_not_a_number.csv", with_row3(days_1="每天"))
    put("leg_without_distance.csv", with_row3(km_1_1=""))
    put("distance_without_mode.csv", with_row3(mode_1_1=""))
    put("pattern_without_legs.csv", with_row3(mode_2_1="", km_2_1=""))
    put("legs_without_days.csv", with_row3(days_2=""))
    put("no_employee_no.csv", with_row3(employee_no=""))
    put("bad_timestamp.csv", with_row3(timestamp="昨天"))
    put("no_commute.csv", with_row3(days_1="", mode_1_1="", km_1_1="", days_2="", mode_2_1="", km_2_1=""))
    lines = csv_text(table(2024, base())).splitlines()
    lines[3] = lines[3].replace("運輸計畫組", "運輸計畫組,第二科")  # an unquoted comma: one cell too many
    out["row_too_many_cells.csv"] = bom("\n".join(lines) + "\n")
    lines = csv_text(table(2024, base())).splitlines()
    lines[2] = ",".join(lines[2].split(",")[:10])  # a row cut short in the middle of the file
    out["row_too_few_cells.csv"] = bom("\n".join(lines) + "\n")
    # ---- 2025 form: routes (read after valid_2024.csv was ingested as 2024)
    put("routes_abcd.csv", [
        {"timestamp": "2025/3/1 上午 9:01:00", "email": "e90001@example.org", "employee_no": "T90001",
         "department": "運輸計畫組", "route": ROUTES["A"]},
        person(2025, 2, route=ROUTES["B"], days_1="5", mode_1_1=MODES[2025]["mrt"], km_1_1="9", mode_1_2="", km_1_2=""),
        {"timestamp": "2025/3/3 上午 9:03:00", "email": "e90003@example.org", "employee_no": "T90003",
         "department": "運輸計畫組", "route": ROUTES["D"]},
        person(2025, 4, route=ROUTES["C"]),
    ], year=2025)
    put("unknown_route.csv", [person(2025, 2, route=ROUTES["B"]), person(2025, 4, route="E. 其他")], year=2025)
    put("route_a_no_previous.csv", [
        person(2025, 2, route=ROUTES["B"]),
        {"timestamp": "2025/3/9 上午 9:09:00", "email": "e90009@example.org", "employee_no": "T90009",
         "department": "運輸計畫組", "route": ROUTES["A"]}], year=2025)
    # ---- the run stops before writing anything
    text = csv_text(table(2024, with_row3(department="運輸計畫組")))
    out["truncated_in_quotes.csv"] = bom(text[: text.rindex("運輸計畫組")].rsplit(",", 1)[0] + ',"運輸計')
    out["truncated_mid_row.csv"] = bom(text[: text.rindex("機車")])
    out["empty.csv"] = b""
    out["header_only.csv"] = bom(csv_text(table(2024, [])))
    missing = table(2024, base())
    k = missing[0].index("員工代號")
    out["missing_column.csv"] = bom(csv_text([line[:k] + line[k + 1:] for line in missing]))
    out["title_row_above_header.csv"] = bom("2024 員工通勤調查（匯出）\n" + csv_text(table(2024, base())))
    out["semicolon_delimited.csv"] = bom(csv_text(table(2024, base())).replace(",", ";"))
    out["utf16.csv"] = csv_text(table(2024, base())).encode("utf-16")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("xl/workbook.xml", date_time=(2025, 1, 1, 0, 0, 0)), "<workbook/>")
    out["xlsx_renamed.csv"] = buf.getvalue()
    out["not_text.csv"] = b"\x80\x81\xff\xfe\x00\x01" * 20
    dup = table(2024, base())
    dup[0].append("員工代號")  # a second question with the same title as a mapped one
    for line in dup[1:]:
        line.append("T99999")
    out["duplicate_header.csv"] = bom(csv_text(dup))
    return out


def main() -> None:
    files = cases()
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(files)} files to {HERE}")


if __name__ == "__main__":
    main()
