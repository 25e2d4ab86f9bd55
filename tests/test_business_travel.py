"""Business travel (Scope 3 cat. 6): fare formula, distance fallbacks, rejects, long trips, pilot sample, notebook."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from helpers import config, privacy
from helpers import reference as reference_data
from helpers.business_travel import claims as bt, distances, export as bt_export, reference
from helpers.inventory import factors
from helpers.publish import travel_tables
from helpers.synthetic import travel_sample

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_business_travel.ipynb"
KEY = b"business-travel-test"
YEAR = 2025
FAC = factors.factors_by_mode(YEAR)
DAY = {"flagfall_ntd": 85, "flagfall_km": 1.25, "step_ntd": 5, "step_m": 200, "night_surcharge_ntd": 20}
HEADERS = list(travel_sample.HEADERS)


@pytest.fixture(autouse=True)
def _pseudonym_key(monkeypatch):
    """Never touch the user's key file: every pseudonym in these tests uses a test key."""
    monkeypatch.setenv(privacy.KEY_ENV, KEY.decode())


def claim(modes="計程車", amount="185", trip="單程", date="114/11/03", time="10:00", no=None, emp="E90001",
          origin="本所", dest="交通部", o_st="", d_st="", note="") -> dict:
    """One export row with the expense system's zh-TW headers."""
    return {"單據編號": no or "", "申請人員工編號": emp, "申請人": "範例人員01", "日期": date, "時間": time,
            "事由": "出席會議", "起點": origin, "迄點": dest, "起站": o_st, "迄站": d_st, "單程/來回": trip,
            "交通工具": modes, "金額": amount, "備註": note}


def write_claims(raw_year: Path, rows: list[dict], name: str = "claims.csv") -> Path:
    """Write rows as the export (UTF-8 with BOM) into raw_year/name."""
    raw_year.mkdir(parents=True, exist_ok=True)
    path = raw_year / name
    frame = pd.DataFrame(rows, columns=HEADERS)
    if name.endswith(".xlsx"):
        frame.to_excel(path, index=False)
    else:
        path.write_bytes(frame.to_csv(index=False).encode("utf-8-sig"))
    return path


def run(tmp_path: Path, rows: list[dict], long_rows: list[dict] | None = None, **kw) -> tuple[dict, dict]:
    """Ingest the rows (and long-trip rows) for 2025; returns (report, tables)."""
    raw_year, processed = tmp_path / "raw" / str(YEAR), tmp_path / "processed" / str(YEAR)
    write_claims(raw_year, rows)
    if long_rows is not None:
        frame = pd.DataFrame(long_rows, columns=list(travel_sample.LONG_HEADERS))
        (raw_year / "long_trips.csv").write_bytes(frame.to_csv(index=False).encode("utf-8-sig"))
    report = bt.ingest_claims(raw_year, processed, YEAR, key=KEY, **kw)
    return report, bt.load_tables(processed)


# ---------------------------------------------------------------------------------------------- fare formula

def test_day_fare_formula_matches_the_study():
    fares = pd.Series([85.0, 90.0, 185.0, 335.0])
    out = distances.taxi_km_from_fare(fares, False, DAY)
    expected = (fares - 85) / 5 * 0.2 + 1.25  # docs/METHOD.md §9
    assert np.allclose(out["km"], expected)
    assert np.allclose(out["km"], [1.25, 1.45, 5.25, 11.25])
    assert out["on_grid"].all() and not out["below_flagfall"].any()


def test_night_surcharge_is_removed_before_converting():
    fares = pd.Series([105.0, 105.0, 205.0])
    out = distances.taxi_km_from_fare(fares, pd.Series([True, False, True]), DAY)
    assert np.allclose(out["km"], [1.25, 2.05, 5.25])  # night 105 = flag-fall ride; day 105 = 4 steps
    assert out["on_grid"].all()


def test_below_flagfall_and_off_grid_fares_are_flagged():
    out = distances.taxi_km_from_fare(pd.Series([70.0, 87.0, 100.0]), False, DAY)
    assert out["below_flagfall"].tolist() == [True, False, False]
    assert out["on_grid"].tolist() == [False, False, True]
    assert out.loc[0, "km"] == pytest.approx(1.25)  # below the flag-fall: the flag-fall distance
    assert out.loc[1, "km"] == pytest.approx(1.25 + 2 / 5 * 0.2)  # off grid: the formula, flagged


def test_night_window_by_boarding_time(tmp_path):
    times = ["22:59", "23:00", "02:30", "05:59", "06:00", ""]
    rows = [claim(amount="105", time=t, no=f"N{i}") for i, t in enumerate(times)]
    _, tables = run(tmp_path, rows)
    claims = tables["claims"].sort_values("source_row")
    assert claims["night"].tolist() == [False, True, True, True, False, False]
    km = tables["rides"].set_index("claim_id").loc[claims["claim_id"], "distance_km"].tolist()
    assert km == pytest.approx([2.05, 1.25, 1.25, 1.25, 2.05, 2.05])
    flagged = claims.set_index("source_row")["flags"]  # rows as a spreadsheet shows them: header row 1, claims 2-7
    assert flagged[7] == "time_missing" and flagged.drop(7).isna().all()


def test_return_claim_is_two_rides_with_half_the_amount(tmp_path):
    report, tables = run(tmp_path, [claim(amount="250", trip="來回"), claim(amount="250", trip="來回", time="23:30")])
    rides = tables["rides"]
    assert len(rides) == 4 and set(rides["direction"]) == {"outbound", "return"}
    assert rides["fare_ntd"].tolist() == [125.0] * 4
    day, night = (rides[rides["claim_id"] == cid] for cid in tables["claims"]["claim_id"])
    assert day["distance_km"].tolist() == pytest.approx([2.85, 2.85])   # (125 - 85) / 5 x 0.2 + 1.25
    assert night["distance_km"].tolist() == pytest.approx([2.05, 2.05])  # (125 - 20 - 85) / 5 x 0.2 + 1.25
    assert tables["claims"]["emission_kgco2e"].sum() == pytest.approx((2 * 2.85 + 2 * 2.05) * FAC["taxi_petrol"])
    assert report["amount_ntd"]["accepted"] == report["amount_ntd"]["allocated_to_rides"] == 500


def test_off_grid_and_below_flagfall_claims_need_review(tmp_path):
    _, tables = run(tmp_path, [claim(amount="186", no="A"), claim(amount="60", no="B"), claim(amount="185", no="C")])
    by_no = tables["claims"].set_index("claim_no")
    assert by_no.loc["A", "flags"] == "taxi_off_grid" and by_no.loc["A", "quality"] == "low"
    assert by_no.loc["B", "flags"] == "taxi_below_flagfall" and by_no.loc["B", "distance_km"] == pytest.approx(1.25)
    assert by_no.loc["C", "quality"] == "medium" and pd.isna(by_no.loc["C", "flags"])
    assert by_no["needs_review"].tolist() == [True, True, False]
    assert set(travel_tables.review_list(tables["claims"])["claim_id"]) == set(by_no.loc[["A", "B"], "claim_id"])


def test_taxi_is_petrol_unless_the_claim_says_electric(tmp_path):
    rows = [claim(no="P"), claim(modes="電動計程車", no="E1"), claim(note="搭乘電動計程車", no="E2")]
    _, tables = run(tmp_path, rows)
    modes = tables["claims"].set_index("claim_no")["modes"]
    assert modes.to_dict() == {"P": "taxi_petrol", "E1": "taxi_electric", "E2": "taxi_electric"}
    rides = tables["rides"].set_index("mode_id")
    assert rides.loc["taxi_electric", "factor_kgco2e_per_pkm"].tolist() == [FAC["taxi_electric"]] * 2


# ------------------------------------------------------------------------------------------ MRT / bus fallbacks

def test_mrt_station_table_then_fare_estimate_then_spend_based(tmp_path):
    rows = [claim(modes="捷運", amount="20", o_st="南京復興站", d_st="臺北車站", no="S"),  # both stations known
            claim(modes="捷運", amount="25", no="F"),                                      # fare band 5-8 km
            claim(modes="捷運", amount="23", no="X"),                                      # not a fare of the rule
            claim(modes="捷運", amount="30", o_st="南京復興", d_st="不存在站", no="U")]      # pair not in the table
    _, tables = run(tmp_path, rows)
    rides = tables["rides"].merge(tables["claims"][["claim_id", "claim_no"]]).set_index("claim_no")
    assert rides.loc["S", ["method", "quality"]].tolist() == ["station_table", "high"]
    assert rides.loc["S", "distance_km"] == pytest.approx(3.6)
    assert rides.loc["F", ["method", "quality"]].tolist() == ["fare_estimate", "low"]
    assert rides.loc["F", "distance_km"] == pytest.approx(6.5)  # middle of (5, 8] km
    assert rides.loc["X", ["method", "quality", "flags"]].tolist() == ["spend_based", "lowest", "fare_off_grid"]
    assert rides.loc["X", "distance_km"] == pytest.approx(23 / 2.5)
    assert rides.loc["U", ["method", "flags"]].tolist() == ["fare_estimate", "station_pair_unknown"]
    assert rides.loc["U", "distance_km"] == pytest.approx(9.5)
    assert (rides["emission_kgco2e"] == rides["distance_km"] * FAC["mrt_taipei"]).all()


def test_bus_station_table_then_fare_estimate_then_spend_based(tmp_path):
    ref_dir = tmp_path / "ref"
    shutil.copytree(reference.REFERENCE_DIR, ref_dir)
    with (ref_dir / reference.STATION_DISTANCES_FILE).open("a", encoding="utf-8") as fh:
        fh.write("taipei_bus,甲站,乙站,3.3,test pair,test\n")
    rows = [claim(modes="公車", amount="15", o_st="甲站", d_st="乙站", no="S"),
            claim(modes="公車", amount="30", no="F"),
            claim(modes="市區公車", amount="20", no="X")]
    _, tables = run(tmp_path, rows, reference_dir=ref_dir)
    rides = tables["rides"].merge(tables["claims"][["claim_id", "claim_no"]]).set_index("claim_no")
    assert rides.loc["S", ["method", "distance_km"]].tolist() == ["station_table", 3.3]
    assert rides.loc["F", ["method", "distance_km"]].tolist() == ["fare_estimate", 10.0]  # 2 segments x 5 km
    assert rides.loc["X", "method"] == "spend_based" and rides.loc["X", "distance_km"] == pytest.approx(20 / 3)
    assert set(rides["mode_id"]) == {"bus_city_diesel"}


def test_multi_mode_claims_split_the_amount_and_count_in_each_mode(tmp_path):
    rows = [claim(modes="計程車、捷運", amount="205", no="TM"), claim(modes="捷運, 公車", amount="45", no="MB"),
            claim(modes="計程車／公車", amount="180", no="TB")]
    report, tables = run(tmp_path, rows)
    rides = tables["rides"].merge(tables["claims"][["claim_id", "claim_no"]]).set_index(["claim_no", "mode_id"])
    assert rides.loc[("TM", "mrt_taipei"), "fare_ntd"] == 20 and rides.loc[("TM", "taxi_petrol"), "fare_ntd"] == 185
    assert rides.loc[("MB", "bus_city_diesel"), "fare_ntd"] == 15 and rides.loc[("MB", "mrt_taipei"), "fare_ntd"] == 30
    assert rides.loc[("TB", "taxi_petrol"), "distance_km"] == pytest.approx(4.45)
    assert rides["flags"].str.contains("amount_split").all()
    assert (rides.loc[(slice(None), "taxi_petrol"), "quality"] == "low").all()
    summary = bt.business_summary(tmp_path / "processed" / str(YEAR))
    assert (summary["claims"], summary["taxi_claims"], summary["mrt_claims"], summary["bus_claims"]) == (3, 2, 2, 2)
    assert report["amount_ntd"]["allocated_to_rides"] == 430


# ---------------------------------------------------------------------------------------- rejects, reconciliation

def test_bad_claims_end_as_rejects_naming_file_row_column_value(tmp_path):
    rows = [claim(no="OK"), claim(amount="-150", no="NEG"), claim(amount="", no="MISS"),
            claim(modes="飛天魔毯", no="MODE"), claim(date="114/13/45", no="DATE"), claim(amount="abc", no="NAN"),
            claim(modes="公務車", no="CAR"), claim(date="113/12/31", no="YEAR"), claim(trip="來來回回", no="TRIP"),
            claim(time="25:61", no="TIME"), claim(no="OK"), claim(modes="計程車、電動計程車", no="TWO")]
    report, tables = run(tmp_path, rows)
    rejects = tables["rejects"].set_index("row")
    # rows as a spreadsheet shows them (header = row 1, the first claim row 2), as the survey's rejects
    expect = {3: ("金額", "-150", "non_positive_amount"), 4: ("金額", None, "missing_amount"),
              5: ("交通工具", "飛天魔毯", "unknown_mode"), 6: ("日期", "114/13/45", "bad_date"),
              7: ("金額", "abc", "bad_amount"), 8: ("交通工具", "公務車", "out_of_boundary"),
              9: ("日期", "113/12/31", "date_outside_year"), 10: ("單程/來回", "來來回回", "unknown_trip_type"),
              11: ("時間", "25:61", "bad_time"), 12: ("單據編號", "OK", "duplicate_claim_no"),
              13: ("交通工具", "計程車、電動計程車", "same_family_modes")}
    assert sorted(rejects.index) == sorted(expect)
    labels = reference_data.labels("reject_reason")
    for row, (column, value, code) in expect.items():
        rec = rejects.loc[row]
        assert (rec["file"], rec["column"], rec["reason_code"]) == ("2025/claims.csv", column, code)
        assert (pd.isna(rec["value"]) if value is None else rec["value"] == value)
        assert rec["reason"] == labels[code]  # zh-TW, one wording with the survey's rejects
    assert rejects.loc[10, "detail"].startswith("應為「單程」")  # what was expected stays, as a short detail
    assert "飛天魔毯" not in rejects.loc[5, "detail"] and "計程車" in rejects.loc[5, "detail"]
    c = report["claims"]
    assert (c["raw_rows"], c["accepted_rows"], c["rejected_rows"]) == (12, 1, 11)
    assert c["reconciled"] and c["raw_rows"] == c["accepted_rows"] + c["rejected_rows"]
    assert len(tables["claims"]) == 1


def test_rejects_keep_every_reason_of_a_row_and_reconcile(tmp_path):
    report, tables = run(tmp_path, [claim(amount="", modes="魔毯", date="x"), claim()])
    assert sorted(tables["rejects"]["reason_code"]) == ["bad_date", "missing_amount", "unknown_mode"]
    assert report["claims"]["reject_records"] == 3 and report["claims"]["rejected_rows"] == 1
    assert report["claims"]["raw_rows"] == 2 == report["claims"]["accepted_rows"] + report["claims"]["rejected_rows"]


def test_identical_claims_are_kept_but_flagged_as_possible_duplicates(tmp_path):
    _, tables = run(tmp_path, [claim(), claim(), claim(time="15:00")])
    flags = tables["claims"].sort_values("source_row")["flags"].tolist()
    assert flags[:2] == ["possible_duplicate"] * 2 and pd.isna(flags[2])


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_reject_rows_are_the_rows_excel_shows(tmp_path, kind):
    """Bad first and last rows, a blank line and a formula: each reject names the row a user sees in Excel."""
    rows = [claim(amount="abc", no="FIRST"), claim(no="OK1"), None, claim(amount='=HYPERLINK("http://x","1")', no="F"),
            claim(no="OK2"), claim(modes="飛天魔毯", no="LAST")]
    raw_year, processed = tmp_path / "raw" / str(YEAR), tmp_path / "processed" / str(YEAR)
    raw_year.mkdir(parents=True)
    cells = [[r[h] for h in HEADERS] if r else [None] * len(HEADERS) for r in rows]
    if kind == "csv":  # a truly blank line, as Excel writes none but people's editors do
        lines = pd.DataFrame(cells, columns=HEADERS).to_csv(index=False, lineterminator="\r\n").split("\r\n")
        lines[3] = ""
        (raw_year / "claims.csv").write_bytes("\r\n".join(lines).encode("utf-8-sig"))
    else:
        pd.DataFrame(cells, columns=HEADERS).to_excel(raw_year / "claims.xlsx", index=False)
    report = bt.ingest_claims(raw_year, processed, YEAR, key=KEY)
    tables = bt.load_tables(processed)
    # header = row 1: FIRST row 2, OK1 row 3, blank row 4, the formula row 5, OK2 row 6, LAST row 7
    got = tables["rejects"][["row", "column", "reason_code"]].values.tolist()
    formula = "bad_amount" if kind == "csv" else "missing_amount"  # xlsx: a formula without a cached result is empty
    assert got == [[2, "金額", "bad_amount"], [5, "金額", formula], [7, "交通工具", "unknown_mode"]]
    assert tables["claims"]["source_row"].tolist() == [3, 6]
    c = report["claims"]
    assert (c["raw_rows"], c["accepted_rows"], c["rejected_rows"], c["reconciled"]) == (5, 2, 3, True)
    written = pd.read_csv(processed / "business_travel" / "rejects.csv", dtype=str, keep_default_na=False,
                          encoding="utf-8-sig")
    assert written["row"].tolist() == ["2", "5", "7"]
    if kind == "csv":  # the formula reaches the rejects file inert
        assert written.loc[1, "value"] == '\'=HYPERLINK("http://x","1")'


def test_all_rows_rejected_still_writes_consistent_tables(tmp_path):
    report, tables = run(tmp_path, [claim(amount="-1")])
    assert report["claims"]["accepted_rows"] == 0 and tables["claims"].empty and tables["rides"].empty
    summary = bt.business_summary(tmp_path / "processed" / str(YEAR))
    assert summary["claims"] == 0 and summary["total_kgco2e"] == 0.0


def test_missing_required_header_names_file_and_headers(tmp_path):
    raw_year = tmp_path / "raw" / str(YEAR)
    raw_year.mkdir(parents=True)
    (raw_year / "claims.csv").write_bytes("日期,金額\n114/11/03,185\n".encode("utf-8-sig"))
    with pytest.raises(ValueError, match=r"claims\.csv: required column\(s\) missing: employee_no"):
        bt.ingest_claims(raw_year, tmp_path / "processed" / str(YEAR), YEAR, key=KEY)


def test_xlsx_export_and_gregorian_dates_are_accepted(tmp_path):
    raw_year = tmp_path / "raw" / str(YEAR)
    write_claims(raw_year, [claim(date="2025-11-03"), claim(date="2025/12/01", amount="1,245")], "claims.xlsx")
    report = bt.ingest_claims(raw_year, tmp_path / "processed" / str(YEAR), YEAR, key=KEY)
    assert report["claims"]["accepted_rows"] == 2 and report["claims"]["encoding"] == "xlsx"
    assert report["amount_ntd"]["accepted"] == 185 + 1245


def test_xlsx_with_real_date_and_time_cells(tmp_path):
    raw_year = tmp_path / "raw" / str(YEAR)
    raw_year.mkdir(parents=True)
    row = claim(amount="205")
    row.update({"日期": pd.Timestamp("2025-11-03"), "時間": pd.Timestamp("2025-11-03 23:30").time(), "金額": 205})
    pd.DataFrame([row], columns=HEADERS).to_excel(raw_year / "claims.xlsx", index=False)
    bt.ingest_claims(raw_year, tmp_path / "processed" / str(YEAR), YEAR, key=KEY)
    claims = bt.load_tables(tmp_path / "processed" / str(YEAR))["claims"]
    assert claims.loc[0, "date"] == pd.Timestamp("2025-11-03") and claims.loc[0, "time"] == "23:30"
    assert claims.loc[0, "night"] and claims.loc[0, "distance_km"] == pytest.approx(5.25)


def test_no_claims_file_returns_none_and_writes_nothing(tmp_path):
    (tmp_path / "raw" / "2024").mkdir(parents=True)
    processed = tmp_path / "processed" / "2024"
    assert bt.ingest_claims(tmp_path / "raw" / "2024", processed, 2024, key=KEY) is None
    assert not processed.exists()
    assert bt.business_summary(processed) is None


def test_parse_dates_accepts_gregorian_and_roc():
    values = pd.Series(["2025-11-03", "2025/11/3", "20251103", "114/11/03", "1141103", "114年11月3日",
                        "2025-11-03 00:00:00", "114/02/30", "soon", None])
    got = bt_export.parse_dates(values)
    assert (got.iloc[:7] == pd.Timestamp("2025-11-03")).all() and got.iloc[7:].isna().all()


# --------------------------------------------------------------------------------------------- privacy

def test_pseudonym_never_equals_the_employee_number_and_numbers_never_reach_processed(tmp_path):
    long_rows = [{"出差單號": "T1", "申請人員工編號": "E90002", "申請人": "範例人員02", "方向": "去程", "段次": "1",
                  "日期": "114/11/12", "交通工具": "高鐵", "起站": "台北", "迄站": "台中"}]
    rows = [claim(emp="E90001"), claim(emp="Ｅ90001"), claim(emp="E90003", amount="-5")]
    _, tables = run(tmp_path, rows, long_rows)
    ids = tables["claims"]["applicant_id"]
    assert ids.nunique() == 1  # full-width and ASCII spellings are one person
    assert ids.iloc[0] == privacy.pseudonymise(pd.Series(["E90001"]), key=KEY).iloc[0]
    assert "E90001" not in set(ids) and tables["long_trips"]["applicant_id"].iloc[0] != "E90002"
    for path in (tmp_path / "processed").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in ("E90001", "E90002", "E90003", "範例人員", "出席會議"):
                assert secret.encode() not in data, f"{path.name} holds {secret}"


# ------------------------------------------------------------------------------------------------ long trips

LONG = [("T1", "去程", "高鐵", "台北", "台中"), ("T1", "回程", "高鐵", "台中站", "高鐵台北"),
        ("T2", "去程", "高鐵", "台北", "嘉義"), ("T3", "去程", "國內線", "台北松山", "金門"),
        ("T4", "去程", "臺鐵", "台北", "月球站"), ("T5", "去程", "客運", "台北", "台中")]


def long_rows() -> list[dict]:
    return [{"出差單號": t, "申請人員工編號": "E90009", "申請人": "範例人員09", "方向": d, "段次": "",
             "日期": "114/11/20", "交通工具": m, "起站": a, "迄站": b} for t, d, m, a, b in LONG]


def test_long_trips_table_lookup_and_great_circle_fallback(tmp_path):
    report, tables = run(tmp_path, [claim()], long_rows())
    legs = tables["long_trips"].set_index(["trip_no", "direction"])
    assert legs.loc[("T1", "outbound"), ["distance_km", "method", "quality"]].tolist() == [160.0, "distance_table", "high"]
    assert legs.loc[("T1", "return"), "distance_km"] == 160.0  # either direction, station aliases
    assert legs.loc[("T3", "outbound"), ["mode_id", "distance_km"]].tolist() == ["flight_domestic", 357.0]
    gc = legs.loc[("T2", "outbound")]
    assert (gc["method"], gc["quality"], gc["flags"]) == ("great_circle", "low", "great_circle")
    lat1, lon1, lat2, lon2 = map(math.radians, (25.0478, 121.5170, 23.4592, 120.3232))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    assert gc["distance_km"] == pytest.approx(2 * distances.EARTH_RADIUS_KM * math.asin(math.sqrt(h)) * 1.18)
    assert legs.loc[("T1", "outbound"), "emission_kgco2e"] == pytest.approx(160 * FAC["thsr"])
    rejects = tables["rejects"][tables["rejects"]["file"] == "2025/long_trips.csv"].set_index("reason_code")
    assert rejects.loc["unknown_station", ["row", "column", "value"]].tolist() == [6, "迄站", "月球站"]
    assert rejects.loc["unknown_mode", ["row", "value"]].tolist() == [7, "客運"]
    lt = report["long_trips"]
    assert (lt["raw_rows"], lt["accepted_rows"], lt["rejected_rows"], lt["reconciled"]) == (6, 4, 2, True)
    summary = bt.business_summary(tmp_path / "processed" / str(YEAR))
    assert summary["long_trips_kgco2e"] == pytest.approx(tables["long_trips"]["emission_kgco2e"].sum())
    assert summary["total_kgco2e"] == pytest.approx(tables["rides"]["emission_kgco2e"].sum())  # long trips apart


# -------------------------------------------------------------------------------------------- the pilot sample

def test_sample_reproduces_the_pilot_end_to_end(tmp_path):
    raw_year = tmp_path / "raw" / "2025"
    travel_sample.write_sample_claims(raw_year)
    first = (raw_year / "claims.csv").read_bytes()
    assert first.startswith("\ufeff".encode()) and "單程/來回".encode() in first
    travel_sample.write_sample_claims(raw_year)
    assert (raw_year / "claims.csv").read_bytes() == first  # deterministic
    report = bt.ingest_claims(raw_year, tmp_path / "processed" / "2025", 2025, key=KEY)
    summary = bt.business_summary(tmp_path / "processed" / "2025")
    assert (summary["claims"], summary["taxi_claims"], summary["mrt_claims"], summary["bus_claims"]) == (47, 42, 3, 5)
    assert round(summary["total_kgco2e"], 2) == 69.63
    assert abs(summary["total_kgco2e"] - 69.63) < 0.0005  # the centre, not the edge of the rounding
    assert report["claims"]["reconciled"] and report["claims"]["rejected_rows"] == 3
    assert summary["long_trips_kgco2e"] > 0 and summary["long_trips_in_total"] is False
    assert set(summary["by_method_kgco2e"]) == {"taxi_tariff", "station_table", "fare_estimate", "spend_based"}
    assert sum(summary["quality_share_of_kgco2e"].values()) == pytest.approx(1.0)
    json.dumps(summary)  # goes into summary.json as is
    assert travel_tables.pilot_comparison(summary, 2025)["一致 Match"].eq("✓").all()


def test_bundled_sample_is_the_generator_output(tmp_path):
    travel_sample.write_sample_claims(tmp_path)
    for name in ("claims.csv", "long_trips.csv"):
        bundled = config.RAW / config.DEFAULT_DATASET / "2025" / name
        assert bundled.read_bytes() == (tmp_path / name).read_bytes(), f"re-run the sample generator for {name}"


# ------------------------------------------------------------------------------------------------- notebook

def test_notebook_has_no_function_definitions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# 公務差旅排放（範疇三類別6）")
    assert "parameters" in nb.cells[2].metadata.get("tags", [])
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "def " not in cell.source and "lambda" not in cell.source


@pytest.mark.parametrize("year", [2025, 2024])
def test_notebook_runs_on_a_copy_of_the_sample(tmp_path, monkeypatch, year):
    papermill = pytest.importorskip("papermill")
    # the kernel imports helpers from this checkout, installed or not
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    raw = tmp_path / "raw"
    travel_sample.write_sample_claims(raw / "2025")
    (raw / "2024").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    executed = out / "06.ipynb"
    # in a run, 01_ingest ingests the claims (None for a year without any); notebook 06 reads the tables
    bt.ingest_claims(raw / str(year), tmp_path / "processed" / str(year), year)
    papermill.execute_notebook(
        str(NOTEBOOK), str(executed), kernel_name="python3", progress_bar=False, cwd=str(NOTEBOOK.parent),
        parameters={"year": year, "processed_dir": str(tmp_path / "processed"), "out_dir": str(out), "min_cell": 3})
    text = "\n".join(json.dumps(cell.get("outputs", []), ensure_ascii=False)
                     for cell in nbformat.read(executed, as_version=4).cells)
    if year == 2025:
        assert "69.63" in text and "✗" not in text and "d_st" not in text
        assert (out / "business_travel_review.csv").exists()
        assert "E900" not in text and "E900" not in (out / "business_travel_review.csv").read_text(encoding="utf-8-sig")
    else:
        assert "無公出報支資料" in text
        assert not (tmp_path / "processed" / "2024" / "business_travel").exists()
