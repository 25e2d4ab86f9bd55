"""Short-trip claims -> rides -> kgCO2e: parse and check every row, split claims into rides, estimate each ride's
distance (station table, taxi tariff, fare band, spend-based) with its method and data-quality flag; save
<processed_year_dir>/business_travel/ (claims, rides, long_trips, rejects, report.json); the year's summary.

Long trips were not part of the pilot's 69.63 kgCO2e: they are reported under their own key and kept out of
`total_kgco2e` (short-trip claims only)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy
from helpers.business_travel.distances import taxi_km, fare_from_km, km_from_fare
from helpers.business_travel.export import (check_employee_and_date, find_input, map_headers, parse_amounts,
                                            parse_times, read_export, split_misshapen)
from helpers.business_travel.long_trips import ingest_long_trips
from helpers.business_travel.reference import (MAPPING_FILE, Reference, TARIFF_FILE, display_path, normalise_one_label,
                                               load_reference, normalise_label, normalise_station)
from helpers.business_travel.schemas import (CLAIMS, EXCLUDE, FAMILIES, FLAG_LABELS, LONG_TRIPS, METHOD_QUALITY,
                                             METHODS, OUTPUT_FILES, QUALITY_LEVELS, RIDES, SUBDIR)
from helpers.inventory import factors
from helpers import rejects as rejects_
from helpers.rejects import FIRST_DATA_ROW, Rejects, one_of
from helpers.schemas import REJECTS, atomic_write_bytes, read_table, write_table
from helpers.survey import ingest


APPLICANT_PREFIX = "申請人"  # reports number applicants per table (申請人 1, 2, ...); pseudonyms stay in data/processed


# ---------------------------------------------------------------------------------------------- short trips

def parse_claims(raw: pd.DataFrame, cols: dict, ref: Reference, year: int, file: str, rejects: Rejects
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check and parse the export's rows -> (claims: one row per accepted row, parts: one row per claim and mode);
    the other rows go to `rejects`. parts.row_index refers to the index of claims."""
    spec = ref.mapping["claims"]
    rows = raw["_row"]
    get = lambda field: raw[cols[field]] if field in cols else pd.Series(pd.NA, index=raw.index, dtype="string")  # noqa: E731
    add = lambda *args: rejects.add(file, *args)  # noqa: E731
    employee, dates = check_employee_and_date(raw, cols, rejects, file, year)

    time_text = get("time")
    times = parse_times(time_text)
    bad = time_text.notna() & times.isna()
    add(rows[bad], cols.get("time"), time_text[bad], "bad_time", "應為 24 小時制 HH:MM，例：09:30")

    trip_labels = {normalise_one_label(k): v for k, v in spec["trip_types"].items()}
    trip_text = get("trip_type")
    trip_type = normalise_label(trip_text).map(trip_labels).astype("string")
    add(rows[trip_text.isna()], cols["trip_type"], None, "missing_value", one_of(spec["trip_types"]))
    bad = trip_text.notna() & trip_type.isna()
    add(rows[bad], cols["trip_type"], trip_text[bad], "unknown_trip_type", one_of(spec["trip_types"]))

    amount_text = get("amount_ntd")
    amount = parse_amounts(amount_text)
    add(rows[amount_text.isna()], cols["amount_ntd"], None, "missing_amount", "應填報支金額（元），例：245")
    bad = amount_text.notna() & amount.isna()
    add(rows[bad], cols["amount_ntd"], amount_text[bad], "bad_amount", "應為新臺幣元之數字，例：245")
    bad = amount.notna() & (amount <= 0)
    add(rows[bad], cols["amount_ntd"], amount_text[bad], "non_positive_amount",
        "應大於 0 元（更正與退款不是行程）")

    # modes: split the cell, map each label; unknown labels and empty cells are rejects
    mode_text = get("modes")
    add(rows[mode_text.isna()], cols["modes"], None, "missing_value", "應填交通工具，例：計程車")
    separators = "[" + "".join("\\" + c if c in "\\^]-[" else c for c in spec["mode_separators"]) + "]"
    labels = normalise_label(mode_text).str.split(separators, regex=True)
    parts = pd.DataFrame({"_idx": raw.index, "label": labels}).explode("label")
    parts["label"] = normalise_label(parts["label"])
    parts = parts.dropna(subset=["label"])
    label_map = {normalise_one_label(k): v for k, v in spec["modes"].items()}
    parts["mode_id"] = parts["label"].map(label_map).astype("string")
    unknown = parts[parts["mode_id"].isna()]
    known_labels = [k for k, v in spec["modes"].items() if v != EXCLUDE]
    add(rows.loc[unknown["_idx"]], cols["modes"], unknown["label"], "unknown_mode",
        f"{one_of(known_labels)}（新名稱請加入 {MAPPING_FILE}）")
    # the note may say the taxi was electric
    note = normalise_label(get("note")).fillna("")
    markers = "|".join(normalise_one_label(m) for m in spec.get("electric_taxi_markers") or []) or "(?!)"
    electric = note.str.contains(markers, regex=True)
    to_electric = (parts["mode_id"] == "taxi_petrol") & electric.loc[parts["_idx"]].to_numpy()
    parts.loc[to_electric, "mode_id"] = "taxi_electric"
    parts = parts.dropna(subset=["mode_id"]).drop_duplicates(["_idx", "mode_id"])
    excluded = parts["mode_id"] == EXCLUDE  # an agency car next to a taxi in one claim: the car part is dropped
    only_excluded = excluded.groupby(parts["_idx"]).all()
    only_excluded = only_excluded[only_excluded].index
    add(rows.loc[only_excluded], cols["modes"], mode_text.loc[only_excluded], "out_of_boundary",
        "機關車輛屬範疇一／二，不計入")
    parts = parts[~excluded].copy()
    family_of = {**{m: "taxi" for m in ref.taxi_modes}, **dict(zip(ref.rules["mode_id"], ref.rules["family"]))}
    parts["family"] = parts["mode_id"].map(family_of)
    same = parts.duplicated(["_idx", "family"], keep=False)
    same_idx = parts.loc[same, "_idx"].unique()
    add(rows.loc[same_idx], cols["modes"], mode_text.loc[same_idx], "same_family_modes",
        "每件申報計程車、捷運、公車各至多一種；請拆成兩件申報")

    claim_no = get("claim_no")
    if "claim_no" in cols:
        dup = claim_no.notna() & claim_no.duplicated(keep="first")
        add(rows[dup], cols["claim_no"], claim_no[dup], "duplicate_claim_no", "較前之列已用此編號；剔除較後之列")

    found = rejects.frame()
    accepted = ~rows.isin(found.loc[found["file"] == file, "row"].astype("int64"))
    parts = parts[parts["_idx"].isin(raw.index[accepted])]
    parts["part_no"] = parts.groupby("_idx").cumcount() + 1
    modes_joined = parts.groupby("_idx")["mode_id"].agg("+".join)
    fams = pd.crosstab(parts["_idx"], parts["family"]).reindex(columns=list(FAMILIES), fill_value=0) > 0

    claims = pd.DataFrame({
        # the id numbers the export's data rows (the first data row, spreadsheet row 2, is 00001)
        "claim_id": (f"{year}-" + (rows - (FIRST_DATA_ROW - 1)).astype("string").str.zfill(5)),
        "year": year, "source_row": rows, "claim_no": claim_no.astype("string"),
        "employee_no": employee, "date": dates, "time": times,
        "origin": get("origin").astype("string"), "destination": get("destination").astype("string"),
        "origin_station": get("origin_station").astype("string"),
        "destination_station": get("destination_station").astype("string"),
        "city": get("city").astype("string"),
        "trip_type": trip_type, "amount_ntd": amount,
    })[accepted]
    claims["rides"] = np.where(claims["trip_type"] == "return", 2, 1).astype("int64")
    claims["modes"] = modes_joined.reindex(claims.index).astype("string")
    claims["n_modes"] = parts.groupby("_idx").size().reindex(claims.index).astype("int64")
    for family in FAMILIES:
        claims[f"includes_{family}"] = fams[family].reindex(claims.index).astype(bool)
    parts = parts.rename(columns={"_idx": "row_index"})[["row_index", "part_no", "mode_id", "family"]]
    return claims, parts.reset_index(drop=True)


def _assign_tariffs(claims: pd.DataFrame, ref: Reference) -> pd.DataFrame:
    """Per claim: taxi tariff group (city column, else origin text, else default) and version valid on its date."""
    group = pd.Series(pd.NA, index=claims.index, dtype="string")
    city = normalise_label(claims["city"])
    origin = normalise_label(claims["origin"]).fillna("")
    for g, sub in ref.tariff_cities.groupby("group", sort=False):
        names = sub["city"].tolist()
        short = [n[:-1] if n.endswith(("市", "縣")) and len(n) > 2 else n for n in names]
        by_city = city.isin(names + short)
        by_origin = origin.str.contains("|".join(names), regex=True)
        group = group.mask(group.isna() & city.notna() & by_city, g)
        group = group.mask(group.isna() & city.isna() & by_origin, g)
    group = group.fillna(ref.default_group)
    left = claims[["date"]].assign(group=group, _order=np.arange(len(claims))).sort_values("date")
    left["date"] = left["date"].astype("datetime64[ns]")
    right = ref.tariffs.sort_values("valid_from").astype({"valid_from": "datetime64[ns]", "group": "string"})
    merged = pd.merge_asof(left, right, left_on="date", right_on="valid_from", by="group", direction="backward")
    merged = merged.sort_values("_order").set_index(claims.index)
    holiday = pd.Series(0.0, index=claims.index)
    for _, window in ref.holidays.iterrows():  # a handful of windows, not claims
        hit = (merged["group"] == window["group"]) & claims["date"].between(window["from"], window["to"])
        holiday = holiday + np.where(hit, window["ntd"], 0.0)
    merged["holiday_ntd"] = holiday
    return merged.drop(columns=["date", "_order"])


def _night(times: pd.Series, start_min: pd.Series, end_min: pd.Series) -> pd.Series:
    """Boarding time within the night window [start, end) that may span midnight; False when time is missing."""
    minutes = (pd.to_numeric(times.str.slice(0, 2), errors="coerce") * 60
               + pd.to_numeric(times.str.slice(3, 5), errors="coerce"))
    spans = start_min > end_min
    inside = np.where(spans, (minutes >= start_min) | (minutes < end_min), (minutes >= start_min) & (minutes < end_min))
    return pd.Series(inside & minutes.notna().to_numpy(), index=times.index).astype(bool)


def _join_flags(frame: pd.DataFrame, names: list[str]) -> pd.Series:
    """';'-joined names of the True boolean columns `names` (NA when none)."""
    out = pd.Series("", index=frame.index, dtype="string")
    for name in names:
        out = out + np.where(frame[name].to_numpy(dtype=bool), name + ";", "")
    out = out.str.rstrip(";")
    return out.mask(out == "")


def compute_rides(claims: pd.DataFrame, parts: pd.DataFrame, ref: Reference, fac: dict[str, float],
                  has_time_column: bool) -> pd.DataFrame:
    """One row per ride and mode: allocated fare, distance (km), method, quality, flags, factor and kgCO2e.

    `claims` carries its taxi tariff columns (_assign_tariffs) and `night`; `parts` one row per claim and mode.
    """
    p = parts.reset_index(drop=True).join(claims[[
        "claim_id", "rides", "amount_ntd", "n_modes", "time", "night", "origin", "destination", "origin_station",
        "destination_station", "flagfall_ntd", "flagfall_km", "step_ntd", "step_m", "night_surcharge_ntd",
        "holiday_ntd"]], on="row_index")
    p = p.merge(ref.rules.drop(columns=["family"]), on="mode_id", how="left").set_index(p.index)

    # station lookup (MRT/bus): the station columns, else origin/destination themselves
    use_st = p["origin_station"].notna() & p["destination_station"].notna()
    a = normalise_station(p["origin_station"].where(use_st, p["origin"]))
    b = normalise_station(p["destination_station"].where(use_st, p["destination"]))
    looked = pd.DataFrame({"network": p["network"], "a": a, "b": b}).merge(
        ref.station_distances, on=["network", "a", "b"], how="left")
    p["station_km"] = looked["distance_km"].to_numpy()
    matched = p["station_km"].notna() & (p["family"] != "taxi")
    claim_matched = matched.groupby(p["claim_id"]).transform("any")

    # which part takes the rest of the amount: taxi, else an MRT without stations, else a bus without stations
    rank = np.select([p["family"] == "taxi", matched, p["family"] == "mrt"], [0, 3, 1], default=2)
    p["_rank"] = rank
    first = p.sort_values(["claim_id", "_rank", "part_no"]).groupby("claim_id").head(1).index
    p["residual"] = p.index.isin(first)
    per_ride = p["amount_ntd"] / p["rides"]
    reserve = pd.Series(np.where(matched, fare_from_km(p["station_km"].fillna(0.0), p), p["split_reserve_ntd"]),
                        index=p.index).where(~p["residual"], 0.0)
    reserved_in_claim = reserve.groupby(p["claim_id"]).transform("sum")
    p["fare_ntd"] = np.where(p["residual"], per_ride - reserved_in_claim, reserve)

    # taxi: tariff formula, surcharges removed
    surcharge = np.where(p["night"], p["night_surcharge_ntd"], 0.0) + p["holiday_ntd"].fillna(0.0)
    taxi = taxi_km(p["fare_ntd"], surcharge, p["flagfall_ntd"], p["flagfall_km"], p["step_ntd"], p["step_m"])
    # MRT / bus: fare band, else spend-based
    band = km_from_fare(p["fare_ntd"], p)
    spend_km = p["fare_ntd"].clip(lower=0) / p["spend_ntd_per_km"]
    is_taxi = p["family"] == "taxi"
    p["method"] = np.select([is_taxi, matched, band["on_grid"]], ["taxi_tariff", "station_table", "fare_estimate"],
                            default="spend_based")
    p["distance_km"] = np.select([is_taxi, matched, band["on_grid"]], [taxi["km"], p["station_km"], band["km"]],
                                 default=spend_km)

    split = p["n_modes"] > 1
    flags = pd.DataFrame({
        "taxi_off_grid": is_taxi & ~taxi["on_grid"] & ~taxi["below_flagfall"],
        "taxi_below_flagfall": is_taxi & taxi["below_flagfall"],
        "time_missing": is_taxi & p["time"].isna() & has_time_column,
        "amount_split": split,
        "amount_too_small": p["residual"] & split & (p["fare_ntd"] <= 0),
        "station_pair_unknown": ~is_taxi & use_st & ~claim_matched,
        "station_fare_mismatch": matched & ~split & (np.abs(per_ride - fare_from_km(p["station_km"].fillna(0.0), p)) > 1e-9),
        "max_fare_band": (p["method"] == "fare_estimate") & band["top_band"],
        "fare_off_grid": p["method"] == "spend_based",
    }, index=p.index)
    p["flags"] = _join_flags(flags, list(flags.columns))
    quality = p["method"].map(METHOD_QUALITY)
    taxi_doubt = flags["taxi_off_grid"] | flags["taxi_below_flagfall"] | (is_taxi & split)
    quality = quality.mask(taxi_doubt & (quality == "medium"), "low")
    p["quality"] = quality

    missing = sorted(set(p["mode_id"]) - set(fac))
    if missing:
        raise ValueError(f"no emission factor for mode(s) {missing} in the factor set; see data/reference/factors/")
    p["factor_kgco2e_per_pkm"] = p["mode_id"].map(fac).astype("float64")

    # one row per ride: a return claim is two rides with the same fare each
    rides = p.loc[p.index.repeat(p["rides"])].copy()
    rides["ride_no"] = rides.groupby(["claim_id", "part_no"]).cumcount() + 1
    rides["direction"] = np.where(rides["ride_no"] == 1, "outbound", "return")
    rides["emission_kgco2e"] = rides["distance_km"] * rides["factor_kgco2e_per_pkm"]
    rides = rides.sort_values(["claim_id", "ride_no", "part_no"]).reset_index(drop=True)
    return rides[RIDES.names]


def summarise_claims(claims: pd.DataFrame, rides: pd.DataFrame) -> pd.DataFrame:
    """Claim-level table: ride totals (km, kgCO2e), methods used, worst quality, all flags, needs_review."""
    by = rides.groupby("claim_id", sort=False)
    totals = by[["distance_km", "emission_kgco2e"]].sum()
    has_method = pd.crosstab(rides["claim_id"], rides["method"]).reindex(columns=list(METHODS), fill_value=0) > 0
    methods = _join_flags(has_method, list(METHODS)).str.replace(";", "+", regex=False)
    qrank = rides["quality"].map({q: i for i, q in enumerate(QUALITY_LEVELS)})
    quality = qrank.groupby(rides["claim_id"]).max().map(dict(enumerate(QUALITY_LEVELS)))
    flag_long = rides[["claim_id", "flags"]].dropna().assign(flag=lambda f: f["flags"].str.split(";")).explode("flag")
    has_flag = pd.crosstab(flag_long["claim_id"], flag_long["flag"]).reindex(
        index=totals.index, columns=list(FLAG_LABELS), fill_value=0) > 0
    out = claims.set_index("claim_id")
    dup_cols = ["employee_no", "date", "time", "origin", "destination", "modes", "amount_ntd", "trip_type"]
    has_flag["possible_duplicate"] = out[dup_cols].duplicated(keep=False).reindex(has_flag.index).to_numpy()
    flags = _join_flags(has_flag, list(FLAG_LABELS))
    out = out.join(totals).assign(methods=methods, quality=quality, flags=flags)
    out["needs_review"] = out["quality"].isin(("low", "lowest")) | out["flags"].notna()
    return out.reset_index()


def ingest_claims(raw_year_dir: Path, processed_year_dir: Path, year: int,
                  reference_dir: Path | None = None, key: bytes | None = None) -> dict | None:
    """Ingest a year's expense export (+ long trips) into <processed_year_dir>/business_travel/; None if no claims file."""
    raw_year_dir, out_dir = Path(raw_year_dir), Path(processed_year_dir) / SUBDIR
    year = config.to_gregorian(year)
    ref = load_reference(reference_dir)
    path = find_input(raw_year_dir, ref.mapping["claims"]["files"])
    if path is None:
        for name in OUTPUT_FILES:  # derived from a raw file that is gone: stale
            (out_dir / name).unlink(missing_ok=True)
        return None
    file = f"{raw_year_dir.name}/{path.name}"
    raw, encoding = read_export(path)
    raw_rows = len(raw)
    rejects = Rejects()
    raw = split_misshapen(raw, file, rejects)
    cols = map_headers(list(raw.columns), ref.mapping["claims"]["fields"], path)
    claims, parts = parse_claims(raw, cols, ref, year, file, rejects)
    fac = factors.factors_by_mode(year)

    # taxi tariff of each claim; a taxi claim dated before every tariff version cannot be converted: reject it
    claims = claims.join(_assign_tariffs(claims, ref))
    no_tariff = claims["includes_taxi"] & claims["flagfall_ntd"].isna()
    if no_tariff.any():
        rejects.add(file, claims.loc[no_tariff, "source_row"], cols["date"],
                    claims.loc[no_tariff, "date"].dt.strftime("%Y-%m-%d"), "no_tariff",
                    f"日期早於 {TARIFF_FILE} 最早之計程車費率；請加入較舊之費率")
        claims = claims[~no_tariff]
        parts = parts[parts["row_index"].isin(claims.index)]
    claims["night"] = _night(claims["time"], claims["night_start_min"], claims["night_end_min"])
    claims["applicant_id"] = privacy.pseudonymise(claims["employee_no"], key=key)

    if len(claims):
        rides = compute_rides(claims, parts, ref, fac, "time" in cols)
        table = summarise_claims(claims, rides)[CLAIMS.names]
    else:
        rides, table = RIDES.empty(), CLAIMS.empty()

    claim_rejects = rejects.frame()
    long_trips, long_report = ingest_long_trips(raw_year_dir, year, ref, fac, rejects, key=key)
    all_rejects = rejects.frame()

    rejected_rows = rejects_.rows_rejected(claim_rejects)
    report = {
        "year": year,
        "claims": {
            "file": file, "sha256": privacy.file_sha256(path), "encoding": encoding,
            "columns_used": {field: header for field, header in cols.items()
                             if not ref.mapping["claims"]["fields"][field].get("drop")},
            "time_column": "time" in cols,
            "raw_rows": raw_rows, "accepted_rows": int(len(table)), "rejected_rows": rejected_rows,
            "reject_records": int(len(claim_rejects)),
            "rejects_by_reason": {str(k): int(v)
                                  for k, v in claim_rejects["reason_code"].value_counts().sort_index().items()},
            "reconciled": raw_rows == len(table) + rejected_rows,
        },
        "amount_ntd": {"accepted": float(table["amount_ntd"].sum()), "allocated_to_rides": float(rides["fare_ntd"].sum())},
        "rides": int(len(rides)),
        "rides_by_method": {str(k): int(v) for k, v in rides["method"].value_counts().sort_index().items()},
        "claims_needing_review": int(table["needs_review"].sum()),
        "total_kgco2e": float(rides["emission_kgco2e"].sum()),
        "long_trips": long_report,
        "factor_set_year": factors.factor_set_year(year),
        "reference": {"folder": display_path(ref.folder), "files_sha256_12": ref.versions},
    }
    sanity_check_outputs(table, rides, long_trips, report)

    # personal data typed into the export (addresses, phone numbers, colleagues' names and numbers) is masked
    # before anything is written (a reject's detail is the product's own text, its value the export's)
    masker = privacy.Masker(ingest.year_identifiers(raw_year_dir, _survey_mapping(year)))
    for frame, columns in ((table, ("origin", "destination", "origin_station", "destination_station")),
                           (long_trips, ("origin_station", "destination_station")), (all_rejects, ("value",))):
        for column in columns:
            frame[column] = masker.mask(frame[column])

    write_table(table, CLAIMS, out_dir / "claims.parquet")
    write_table(rides, RIDES, out_dir / "rides.parquet")
    write_table(long_trips, LONG_TRIPS, out_dir / "long_trips.parquet")
    rejects_.save(all_rejects, out_dir)
    atomic_write_bytes(out_dir / "report.json",
                       (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return report


def _survey_mapping(year: int) -> dict | None:
    """The survey form mapping of the year (for the identifiers its files hold), or None when there is none."""
    try:
        return ingest.load_mapping(year)
    except FileNotFoundError:
        return None


def sanity_check_outputs(claims: pd.DataFrame, rides: pd.DataFrame, long_trips: pd.DataFrame, report: dict) -> None:
    """Plain asserts: rows reconcile, amounts and emissions add up, every ride has a method and quality."""
    c = report["claims"]
    assert c["raw_rows"] == c["accepted_rows"] + c["rejected_rows"], f"rows do not reconcile: {c}"
    assert math.isclose(report["amount_ntd"]["accepted"], report["amount_ntd"]["allocated_to_rides"],
                        rel_tol=1e-12, abs_tol=1e-6), f"allocated fares do not add up: {report['amount_ntd']}"
    assert set(rides["claim_id"]) == set(claims["claim_id"]), "every claim has rides and every ride a claim"
    assert (rides.groupby("claim_id").size() == (claims.set_index("claim_id")["rides"]
                                                 * claims.set_index("claim_id")["n_modes"])).all()
    assert math.isclose(claims["emission_kgco2e"].sum(), rides["emission_kgco2e"].sum(), rel_tol=1e-12, abs_tol=1e-9)
    assert rides["method"].isin(METHODS).all() and rides["quality"].isin(QUALITY_LEVELS).all()
    assert np.allclose(rides["emission_kgco2e"], rides["distance_km"] * rides["factor_kgco2e_per_pkm"])
    if len(long_trips):
        assert np.allclose(long_trips["emission_kgco2e"], long_trips["distance_km"] * long_trips["factor_kgco2e_per_pkm"])


# ------------------------------------------------------------------------------------------ reading results

def load_tables(processed_year_dir: Path) -> dict[str, pd.DataFrame] | None:
    """The processed business-travel tables of a year (claims, rides, long_trips, rejects) or None if absent."""
    folder = Path(processed_year_dir) / SUBDIR
    if not (folder / "claims.parquet").exists():
        return None
    return {"claims": read_table(CLAIMS, folder / "claims.parquet"),
            "rides": read_table(RIDES, folder / "rides.parquet"),
            "long_trips": read_table(LONG_TRIPS, folder / "long_trips.parquet"),
            "rejects": read_table(REJECTS, folder / "rejects.parquet")}


def load_report(processed_year_dir: Path) -> dict | None:
    """The business-travel ingest report of a year (report.json), or None if that year has none."""
    path = Path(processed_year_dir) / SUBDIR / "report.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def business_summary(processed_year_dir: Path) -> dict | None:
    """summary.json's business_travel block: claim counts and kgCO2e (short trips; long trips separately)."""
    tables = load_tables(processed_year_dir)
    if tables is None:
        return None
    claims, rides, legs = tables["claims"], tables["rides"], tables["long_trips"]
    report = load_report(processed_year_dir) or {}
    share = lambda s: {str(k): float(v) for k, v in s.items()}  # noqa: E731
    total = float(rides["emission_kgco2e"].sum())
    by_quality = rides.groupby("quality")["emission_kgco2e"].sum().reindex(list(QUALITY_LEVELS), fill_value=0.0)
    return {
        "claims": int(len(claims)),
        "taxi_claims": int(claims["includes_taxi"].sum()),
        "mrt_claims": int(claims["includes_mrt"].sum()),
        "bus_claims": int(claims["includes_bus"].sum()),
        "total_kgco2e": total,
        "rides": int(len(rides)),
        "distance_km": float(rides["distance_km"].sum()),
        "amount_ntd": float(claims["amount_ntd"].sum()),
        "period": ([claims["date"].min().strftime("%Y-%m-%d"), claims["date"].max().strftime("%Y-%m-%d")]
                   if len(claims) else None),
        "by_mode_kgco2e": share(rides.groupby("mode_id")["emission_kgco2e"].sum()),
        "by_method_kgco2e": share(rides.groupby("method")["emission_kgco2e"].sum()),
        "quality_share_of_kgco2e": share(by_quality / total if total else by_quality),
        "claims_needing_review": int(claims["needs_review"].sum()),
        "rejected_rows": int(report.get("claims", {}).get("rejected_rows", 0)),
        "long_trips_legs": int(len(legs)),
        "long_trips_kgco2e": float(legs["emission_kgco2e"].sum()),
        "long_trips_in_total": False,
    }
