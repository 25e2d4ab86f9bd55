"""Business travel (GHG Protocol Scope 3 cat. 6; ISO 14064-1 cat. 3): expense claims and long trips -> kgCO2e.

Load: the expense system's export of short local trips, data/raw/<dataset>/<year>/claims.csv (or .xlsx), and
optionally long_trips.csv (one row per leg and direction), mapped by data/reference/business_travel/
claims_mapping.yaml. Process: check every row (a bad row becomes a reject naming file, row, column, value and
what was expected), pseudonymise the applicant, split each claim into rides (a return claim is two rides, each
half the amount; a multi-mode claim is split by standard fares), estimate each ride's distance - taxi: from
the fare through the tariff; MRT/bus: station table -> fare band -> spend-based; long trips: standard distance
table -> great-circle x detour factor - and multiply by the year's emission factor. Every ride carries its
method and data-quality flag. Save: claims, rides, long_trips and rejects (parquet, schemas below) and
report.json under <processed_year_dir>/business_travel/.

Long trips were not part of the pilot's 69.63 kgCO2e: they are reported under their own key and kept out of
`total_kgco2e` (short-trip claims only).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy, reference
from helpers.inventory import factors
from helpers.publish import tables
from helpers.schemas import Column, REJECTS, Schema, atomic_write_bytes, read_table, write_csv, write_table
from helpers.survey import ingest

# ----------------------------------------------------------------------------------------------- constants

SUBDIR = "business_travel"  # <processed_year_dir>/business_travel/
REFERENCE_DIR = config.REFERENCE / "business_travel"
MAPPING_FILE = "claims_mapping.yaml"
TARIFF_FILE = "taxi_tariffs.yaml"
FARE_RULES_FILE = "fare_rules.yaml"
STATION_DISTANCES_FILE = "station_distances.csv"
LONG_MODES_FILE = "long_trip_modes.yaml"
LONG_DISTANCES_FILE = "long_trip_distances.csv"
LONG_STATIONS_FILE = "long_trip_stations.csv"
OUTPUT_FILES = ("claims.parquet", "rides.parquet", "long_trips.parquet", "rejects.parquet", "report.json")

FAMILIES = ("taxi", "mrt", "bus")
EXCLUDE = "exclude"  # mapping value for modes outside category 6 (agency-owned vehicles: scope 1/2)
METERS_PER_KM = 1000.0
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), for great-circle distances

# Distance methods, best first, with the data-quality flag each gives (GHG Protocol: distance-based > spend-based).
METHODS = ("station_table", "distance_table", "taxi_tariff", "fare_estimate", "great_circle", "spend_based")
QUALITY_LEVELS = ("high", "medium", "low", "lowest")
METHOD_QUALITY = {"station_table": "high", "distance_table": "high", "taxi_tariff": "medium",
                  "fare_estimate": "low", "great_circle": "low", "spend_based": "lowest"}
# Display labels: code -> (zh-TW, English), one family each in data/reference/labels.yaml.
METHOD_LABELS = reference.label_pairs("distance_method")
QUALITY_LABELS = reference.label_pairs("distance_quality")
FAMILY_LABELS = reference.label_pairs("claim_family")
DIRECTION_LABELS = reference.label_pairs("direction")
TRIP_TYPE_LABELS = reference.label_pairs("trip_type")
# Flags: each asks for a look; a claim with any flag or a low/lowest quality ride needs review.
FLAG_LABELS = reference.label_pairs("flag")
REASON_LABELS = reference.label_pairs("reject_reason")


def zh(labels: dict[str, tuple[str, str]]) -> dict[str, str]:
    """code -> zh-TW label of a label table."""
    return {code: pair[0] for code, pair in labels.items()}


def legend(labels: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """A label table as rows for readers: 說明 (zh-TW, as the tables show it) and its English gloss; no codes."""
    return pd.DataFrame([(z, e) for z, e in labels.values()], columns=["說明", "English"])


# Display names for the tables the notebook shows (English identifiers -> zh-TW headers).
COLUMN_LABELS = {
    "mode_id": "運具代碼", "mode": "運具", "family": "類別", "method": "推估方法", "quality": "資料品質",
    "claims": "申報件數", "rides": "趟次", "distance_km": "距離（公里）", "emission_kgco2e": "排放量（kgCO2e）",
    "share": "排放占比", "claims_share": "件數占比", "month": "月份", "claim_id": "申報編號",
    "source_row": "原始資料列", "applicant": "申請人（本表編號）", "date": "日期", "time": "時間",
    "trip_type": "單程/來回", "modes": "交通工具", "amount_ntd": "金額（元）", "flags": "註記",
    "trip_no": "出差單號", "direction": "方向", "leg_no": "段次", "origin_station": "起站",
    "destination_station": "迄站", "applicants": "申請人數", "file": "檔案", "row": "列",
    "column": "欄位", "value": "內容", "reason_code": "原因", "reason": "說明", "rides_share": "趟次占比",
    "factor_kgco2e_per_pkm": "係數（kgCO2e/人公里）", "taxi_claims": "計程車件數", "mrt_claims": "含捷運件數",
    "bus_claims": "含公車件數",
}

APPLICANT_PREFIX = "申請人"  # reports number applicants per table (申請人 1, 2, ...); pseudonyms stay in data/processed

PILOT_YEAR = 2025
SAMPLE_SEED = 20251030
# The study's pilot, 2025-10-30..2025-12-31 (docs/METHOD.md §9, §11; its conclusion chapter quotes 74.22 kgCO2e,
# its results chapter 69.63): the sample reproduces these figures.
PILOT_2025 = {"claims": 47, "taxi_claims": 42, "mrt_claims": 3, "bus_claims": 5, "total_kgco2e": 69.63}


# ------------------------------------------------------------------------------------------------- schemas

def _in(values: tuple[str, ...]):
    return lambda s: s.isin(values)


def _nonneg(s: pd.Series) -> pd.Series:
    return s >= 0


def _hex16(s: pd.Series) -> pd.Series:
    return s.str.fullmatch(r"[0-9a-f]{16}")


CLAIMS = Schema(
    "business_travel_claims",
    (
        Column("claim_id", "string", expect="<year>-<row>"),
        Column("year", "int64"),
        Column("source_row", "int64", expect="the export's data row (1 = first data row)", check=lambda s: s >= 1),
        Column("claim_no", "string", nullable=True),
        Column("applicant_id", "string", expect="16 hex digits (keyed pseudonym)", check=_hex16),
        Column("date", "datetime64[ns]"),
        Column("time", "string", nullable=True, expect="HH:MM", check=lambda s: s.str.fullmatch(r"\d{2}:\d{2}")),
        Column("night", "bool"),
        Column("origin", "string", nullable=True),
        Column("destination", "string", nullable=True),
        Column("origin_station", "string", nullable=True),
        Column("destination_station", "string", nullable=True),
        Column("trip_type", "string", expect="single | return", check=_in(("single", "return"))),
        Column("rides", "int64", expect="1 or 2", check=_in((1, 2))),
        Column("modes", "string", expect="mode ids joined by '+'"),
        Column("n_modes", "int64", check=lambda s: s >= 1),
        Column("includes_taxi", "bool"),
        Column("includes_mrt", "bool"),
        Column("includes_bus", "bool"),
        Column("amount_ntd", "float64", expect="> 0", check=lambda s: s > 0, unit="NTD"),
        Column("distance_km", "float64", expect=">= 0", check=_nonneg, unit="km, all rides"),
        Column("emission_kgco2e", "float64", expect=">= 0", check=_nonneg, unit="kgCO2e"),
        Column("methods", "string"),
        Column("quality", "string", expect=f"one of {QUALITY_LEVELS}", check=_in(QUALITY_LEVELS)),
        Column("flags", "string", nullable=True),
        Column("needs_review", "bool"),
    ),
    key=("claim_id",),
)

RIDES = Schema(
    "business_travel_rides",
    (
        Column("claim_id", "string"),
        Column("ride_no", "int64", expect="1 (outbound) or 2 (return)", check=_in((1, 2))),
        Column("part_no", "int64", expect="position of the mode in the claim's mode cell", check=lambda s: s >= 1),
        Column("direction", "string", check=_in(("outbound", "return"))),
        Column("mode_id", "string"),
        Column("family", "string", check=_in(FAMILIES)),
        Column("fare_ntd", "float64", unit="NTD, this ride and mode"),
        Column("night", "bool"),
        Column("distance_km", "float64", expect=">= 0", check=_nonneg, unit="km"),
        Column("method", "string", expect=f"one of {METHODS}", check=_in(METHODS)),
        Column("quality", "string", expect=f"one of {QUALITY_LEVELS}", check=_in(QUALITY_LEVELS)),
        Column("flags", "string", nullable=True),
        Column("factor_kgco2e_per_pkm", "float64", check=_nonneg, unit="kgCO2e/pkm"),
        Column("emission_kgco2e", "float64", check=_nonneg, unit="kgCO2e"),
    ),
    key=("claim_id", "ride_no", "part_no"),
)

LONG_TRIPS = Schema(
    "business_travel_long_trips",
    (
        Column("trip_no", "string"),
        Column("source_row", "int64", check=lambda s: s >= 1),
        Column("applicant_id", "string", expect="16 hex digits (keyed pseudonym)", check=_hex16),
        Column("direction", "string", check=_in(("outbound", "return"))),
        Column("leg_no", "int64", check=lambda s: s >= 1),
        Column("date", "datetime64[ns]"),
        Column("mode_id", "string"),
        Column("origin_station", "string"),
        Column("destination_station", "string"),
        Column("distance_km", "float64", check=_nonneg, unit="km"),
        Column("method", "string", check=_in(("distance_table", "great_circle"))),
        Column("quality", "string", check=_in(QUALITY_LEVELS)),
        Column("flags", "string", nullable=True),
        Column("factor_kgco2e_per_pkm", "float64", check=_nonneg, unit="kgCO2e/pkm"),
        Column("emission_kgco2e", "float64", check=_nonneg, unit="kgCO2e"),
    ),
    key=("trip_no", "direction", "leg_no"),
)


# ----------------------------------------------------------------------------------------------- reference

def normalise_label(values: pd.Series) -> pd.Series:
    """Labels for matching: NFKC (full-width -> ASCII), no spaces, 臺 -> 台; blanks -> NA."""
    text = values.astype("string").str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    text = text.str.replace("臺", "台", regex=False)
    return text.mask(text == "")


def normalise_station(values: pd.Series) -> pd.Series:
    """Station names for matching: normalise_label without a leading 捷運 or a trailing 站."""
    text = normalise_label(values).str.replace(r"^捷運", "", regex=True).str.replace(r"站$", "", regex=True)
    return text.mask(text == "")


def _norm1(label: str) -> str:
    return str(normalise_label(pd.Series([label])).iloc[0])


@dataclass(frozen=True)
class Reference:
    """The business-travel reference data of one folder, loaded and checked."""

    folder: Path
    mapping: dict
    tariffs: pd.DataFrame           # one row per (group, valid_from): flagfall_ntd, flagfall_km, step_ntd, step_m, ...
    tariff_cities: pd.DataFrame     # group, city (normalised)
    holidays: pd.DataFrame          # group, from, to, ntd
    default_group: str
    taxi_modes: tuple[str, ...]
    rules: pd.DataFrame             # one row per mode id of mrt/bus families with its rule's parameters
    station_distances: pd.DataFrame  # network, a, b, distance_km (both directions)
    long_modes: dict
    long_distances: pd.DataFrame    # mode_id, a, b, distance_km (both directions)
    long_stations: pd.DataFrame     # network, alias (normalised), station, lat, lon
    versions: dict


def _hhmm_to_minutes(text: str, where: str) -> int:
    try:
        hours, minutes = (int(part) for part in str(text).split(":"))
    except ValueError:
        raise ValueError(f"{where}: '{text}' is not a time; expected HH:MM") from None
    return hours * 60 + minutes


def _read_csv_reference(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        raise FileNotFoundError(f"{path}: reference table not found")
    frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False, comment=None)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: lacks column(s) {missing}; has {list(frame.columns)}")
    return frame


def _pairs_both_ways(frame: pd.DataFrame, key: str, path: Path) -> pd.DataFrame:
    """A distance table keyed (key, a, b) in both directions, distances checked positive."""
    km = pd.to_numeric(frame["distance_km"], errors="coerce")
    bad = km.isna() | (km <= 0)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"{path}: row {row + 1}, column 'distance_km': value {frame['distance_km'].iloc[row]!r}; "
                         f"expected a distance in km above 0")
    base = pd.DataFrame({key: frame[key].str.strip(), "a": normalise_station(frame["from_station"]),
                         "b": normalise_station(frame["to_station"]), "distance_km": km.astype("float64")})
    both = pd.concat([base, base.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
    return both.drop_duplicates([key, "a", "b"], keep="first").reset_index(drop=True)


def load_reference(reference_dir: Path | None = None) -> Reference:
    """Load and check the business-travel reference folder (mapping, tariffs, fare rules, distance tables)."""
    folder = Path(reference_dir or REFERENCE_DIR)
    mapping = reference.load_yaml(folder / MAPPING_FILE)
    tariff_doc = reference.load_yaml(folder / TARIFF_FILE)
    rules_doc = reference.load_yaml(folder / FARE_RULES_FILE)
    long_doc = reference.load_yaml(folder / LONG_MODES_FILE)
    known_modes = set(reference.modes()["mode_id"])

    # taxi tariffs
    tariff_rows, city_rows, holiday_rows = [], [], []
    for group, spec in (tariff_doc.get("groups") or {}).items():
        where = f"{folder / TARIFF_FILE}, group '{group}'"
        for city in spec.get("cities") or []:
            city_rows.append({"group": group, "city": _norm1(city)})
        for i, tariff in enumerate(spec.get("tariffs") or []):
            keys = ("valid_from", "flagfall_ntd", "flagfall_km", "step_ntd", "step_m", "night_surcharge_ntd",
                    "night_start", "night_end", "source")
            missing = [k for k in keys if tariff.get(k) in (None, "")]
            if missing:
                raise ValueError(f"{where}, tariff {i + 1}: lacks {missing}")
            tariff_rows.append({
                "group": group, "valid_from": pd.Timestamp(str(tariff["valid_from"])),
                **{k: float(tariff[k]) for k in ("flagfall_ntd", "flagfall_km", "step_ntd", "step_m",
                                                  "night_surcharge_ntd")},
                "night_start_min": _hhmm_to_minutes(tariff["night_start"], where),
                "night_end_min": _hhmm_to_minutes(tariff["night_end"], where),
            })
        for window in spec.get("holiday_surcharges") or []:
            holiday_rows.append({"group": group, "from": pd.Timestamp(str(window["from"])),
                                 "to": pd.Timestamp(str(window["to"])), "ntd": float(window["ntd"])})
    tariffs = pd.DataFrame(tariff_rows)
    if tariffs.empty:
        raise ValueError(f"{folder / TARIFF_FILE}: no taxi tariff defined")
    default_group = str(tariff_doc.get("default_group", ""))
    if default_group not in set(tariffs["group"]):
        raise ValueError(f"{folder / TARIFF_FILE}: default_group '{default_group}' is not one of the groups "
                         f"{sorted(set(tariffs['group']))}")
    taxi_modes = tuple(tariff_doc.get("modes") or ())

    # MRT / bus fare rules, one row per mode id
    rule_rows = []
    for name, spec in (rules_doc.get("rules") or {}).items():
        where = f"{folder / FARE_RULES_FILE}, rule '{name}'"
        kind = spec.get("kind")
        need = {"distance_bands": ("base_fare_ntd", "base_km", "step_fare_ntd", "step_km", "max_fare_ntd"),
                "segments": ("segment_fare_ntd", "max_segments", "km_per_segment")}.get(kind)
        if need is None:
            raise ValueError(f"{where}: kind {kind!r}; expected distance_bands or segments")
        missing = [k for k in (*need, "family", "modes", "network", "split_reserve_ntd", "spend_ntd_per_km", "source")
                   if spec.get(k) in (None, "")]
        if missing:
            raise ValueError(f"{where}: lacks {missing}")
        if spec["family"] not in FAMILIES[1:]:
            raise ValueError(f"{where}: family {spec['family']!r}; expected one of {FAMILIES[1:]}")
        for mode_id in spec["modes"]:
            rule_rows.append({"mode_id": mode_id, "rule": name, "family": spec["family"], "network": spec["network"],
                              "kind": kind, **{k: float(spec.get(k, np.nan) or np.nan) for k in (
                                  "base_fare_ntd", "base_km", "step_fare_ntd", "step_km", "max_fare_ntd",
                                  "segment_fare_ntd", "max_segments", "km_per_segment",
                                  "split_reserve_ntd", "spend_ntd_per_km")}})
    rules = pd.DataFrame(rule_rows)
    if rules["mode_id"].duplicated().any():
        raise ValueError(f"{folder / FARE_RULES_FILE}: a mode is in two rules: "
                         f"{sorted(rules.loc[rules['mode_id'].duplicated(), 'mode_id'])}")

    # every mapped short-trip mode must be known and have a distance method
    covered = set(taxi_modes) | set(rules["mode_id"])
    for label, mode_id in (mapping["claims"]["modes"] or {}).items():
        if mode_id == EXCLUDE:
            continue
        if mode_id not in known_modes:
            raise ValueError(f"{folder / MAPPING_FILE}: claims label '{label}' maps to '{mode_id}', "
                             f"which is not a mode of data/reference/modes.yaml")
        if mode_id not in covered:
            raise ValueError(f"{folder / MAPPING_FILE}: claims label '{label}' maps to '{mode_id}', which has no "
                             f"taxi tariff ({TARIFF_FILE}) nor fare rule ({FARE_RULES_FILE})")

    stations = _read_csv_reference(folder / STATION_DISTANCES_FILE,
                                   ("network", "from_station", "to_station", "distance_km", "source"))
    station_distances = _pairs_both_ways(stations, "network", folder / STATION_DISTANCES_FILE)

    long_modes = long_doc.get("modes") or {}
    for mode_id, spec in long_modes.items():
        where = f"{folder / LONG_MODES_FILE}, mode '{mode_id}'"
        if spec.get("factor") != "factor_set" and spec.get("factor_kgco2e_per_pkm") is None:
            raise ValueError(f"{where}: needs `factor: factor_set` or factor_kgco2e_per_pkm with factor_source")
        if not float(spec.get("detour_factor", 0)) >= 1:
            raise ValueError(f"{where}: detour_factor {spec.get('detour_factor')!r}; expected a number >= 1")
    for label, mode_id in (mapping["long_trips"]["modes"] or {}).items():
        if mode_id not in long_modes:
            raise ValueError(f"{folder / MAPPING_FILE}: long-trip label '{label}' maps to '{mode_id}', "
                             f"which is not in {LONG_MODES_FILE}")
    long_raw = _read_csv_reference(folder / LONG_DISTANCES_FILE,
                                   ("mode_id", "from_station", "to_station", "distance_km", "source"))
    long_distances = _pairs_both_ways(long_raw, "mode_id", folder / LONG_DISTANCES_FILE)
    coords = _read_csv_reference(folder / LONG_STATIONS_FILE, ("network", "station", "aliases", "lat", "lon", "source"))
    coords = coords.assign(lat=pd.to_numeric(coords["lat"], errors="coerce"),
                           lon=pd.to_numeric(coords["lon"], errors="coerce"))
    bad = coords["lat"].abs().gt(90) | coords["lon"].abs().gt(180) | coords[["lat", "lon"]].isna().any(axis=1)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise ValueError(f"{folder / LONG_STATIONS_FILE}: row {row + 1}: lat/lon not valid degrees")
    alias_lists = coords["station"] + "|" + coords["aliases"].fillna("")
    long_stations = (coords.assign(alias=alias_lists.str.split("|")).explode("alias")
                     .assign(alias=lambda f: normalise_station(f["alias"]),
                             station=lambda f: normalise_station(f["station"]))
                     .dropna(subset=["alias"]).drop_duplicates(["network", "alias"])
                     [["network", "alias", "station", "lat", "lon"]].reset_index(drop=True))

    versions = {name: privacy.file_sha256(folder / name)[:12] for name in (
        MAPPING_FILE, TARIFF_FILE, FARE_RULES_FILE, STATION_DISTANCES_FILE, LONG_MODES_FILE, LONG_DISTANCES_FILE,
        LONG_STATIONS_FILE)}
    return Reference(folder, mapping, tariffs, pd.DataFrame(city_rows, columns=["group", "city"]),
                     pd.DataFrame(holiday_rows, columns=["group", "from", "to", "ntd"]), default_group, taxi_modes,
                     rules, station_distances, long_modes, long_distances, long_stations, versions)


def _display_path(path: Path) -> str:
    """A path relative to the repository when inside it (reports should not carry machine paths)."""
    try:
        return str(Path(path).resolve().relative_to(config.ROOT.resolve()))
    except ValueError:
        return str(path)


# ------------------------------------------------------------------------------------------- fare formulas

def _taxi_km(fare_ntd, surcharge_ntd, flagfall_ntd, flagfall_km, step_ntd, step_m) -> pd.DataFrame:
    """Per ride: km from a fare after removing surcharges; all arguments Series or scalars (NTD, km, m)."""
    fare = pd.Series(fare_ntd, dtype="float64") if not isinstance(fare_ntd, pd.Series) else fare_ntd.astype("float64")
    metered = fare - surcharge_ntd
    steps = (metered - flagfall_ntd) / step_ntd
    below = metered < flagfall_ntd
    on_grid = ~below & (np.abs(steps - np.round(steps)) < 1e-9)
    km = (flagfall_km + steps * step_m / METERS_PER_KM).where(~below, flagfall_km)
    return pd.DataFrame({"km": km.astype("float64"), "on_grid": on_grid.astype(bool),
                         "below_flagfall": below.astype(bool)}, index=fare.index)


def taxi_km_from_fare(fare_ntd: pd.Series, night: pd.Series | bool, tariff: dict) -> pd.DataFrame:
    """Per ride: taxi km from the fare (NTD), night surcharge removed first -> DataFrame[km, on_grid, below_flagfall].

    km = flagfall_km + (fare - surcharge - flagfall_ntd) / step_ntd x step_m / 1000; a fare below the flag-fall
    gives flagfall_km (flagged below_flagfall); an off-grid fare keeps the formula's km (flagged by on_grid=False).
    """
    fare = pd.Series(fare_ntd, dtype="float64")
    night_mask = night.astype(bool) if isinstance(night, pd.Series) else bool(night)
    surcharge = night_mask * float(tariff["night_surcharge_ntd"])
    return _taxi_km(fare, surcharge, float(tariff["flagfall_ntd"]), float(tariff["flagfall_km"]),
                    float(tariff["step_ntd"]), float(tariff["step_m"]))


def fare_from_km(km: pd.Series, rule: pd.DataFrame | dict) -> pd.Series:
    """MRT/bus fare (NTD) that a distance (km) pays under a fare rule (distance bands or segments)."""
    r = pd.DataFrame(rule, index=km.index) if isinstance(rule, dict) else rule
    bands = r["base_fare_ntd"] + np.ceil(((km - r["base_km"]) / r["step_km"]).clip(lower=0) - 1e-9) * r["step_fare_ntd"]
    bands = bands.clip(upper=r["max_fare_ntd"])
    segments = np.minimum(np.ceil(km / r["km_per_segment"] - 1e-9).clip(lower=1), r["max_segments"]) * r["segment_fare_ntd"]
    return pd.Series(np.where(r["kind"] == "distance_bands", bands, segments), index=km.index, dtype="float64")


def km_from_fare(fare_ntd: pd.Series, rule: pd.DataFrame | dict) -> pd.DataFrame:
    """MRT/bus distance estimate (km) from a fare (NTD) -> DataFrame[km, on_grid, top_band].

    distance_bands: middle of the band the fare pays for (the top band: its lower bound + step_km / 2);
    segments: segments x km_per_segment. Off-grid fares give km NaN (the caller falls back to spend-based).
    """
    fare = fare_ntd.astype("float64")
    r = pd.DataFrame(rule, index=fare.index) if isinstance(rule, dict) else rule
    k = (fare - r["base_fare_ntd"]) / r["step_fare_ntd"]
    band_ok = (fare >= r["base_fare_ntd"]) & (fare <= r["max_fare_ntd"]) & (np.abs(k - np.round(k)) < 1e-9)
    upper = np.where(k <= 0, r["base_km"], r["base_km"] + np.round(k) * r["step_km"])
    lower = np.where(k <= 0, 0.0, upper - r["step_km"])
    band_km = (lower + upper) / 2
    n = fare / r["segment_fare_ntd"]
    seg_ok = (n >= 1 - 1e-9) & (n <= r["max_segments"] + 1e-9) & (np.abs(n - np.round(n)) < 1e-9)
    seg_km = np.round(n) * r["km_per_segment"]
    bands = r["kind"] == "distance_bands"
    on_grid = np.where(bands, band_ok, seg_ok).astype(bool)
    km = np.where(bands, band_km, seg_km)
    top = bands & band_ok & (fare >= r["max_fare_ntd"])
    return pd.DataFrame({"km": np.where(on_grid, km, np.nan), "on_grid": on_grid, "top_band": top.astype(bool)},
                        index=fare.index)


def great_circle_km(lat1: pd.Series, lon1: pd.Series, lat2: pd.Series, lon2: pd.Series) -> pd.Series:
    """Great-circle (haversine) distance in km between points given in degrees."""
    p1, p2 = np.radians(lat1.astype("float64")), np.radians(lat2.astype("float64"))
    dlat, dlon = p2 - p1, np.radians(lon2.astype("float64") - lon1.astype("float64"))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return pd.Series(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(h)), index=lat1.index, dtype="float64")


# --------------------------------------------------------------------------------------------- raw parsing

def parse_dates(values: pd.Series) -> pd.Series:
    """Dates from Gregorian (2025-11-03, 2025/11/03, 20251103) or ROC (114/11/03, 1141103, 114年11月3日) text."""
    text = normalise_label(values)
    patterns = (
        r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?:T?\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$",
        r"^(?P<y>\d{2,3})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$",
        r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$",
        r"^(?P<y>\d{3})(?P<m>\d{2})(?P<d>\d{2})$",
        r"^(?:民國)?(?P<y>\d{2,4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日$",
    )
    parts = pd.DataFrame(index=values.index, columns=["y", "m", "d"], dtype="float64")
    for pattern in patterns:
        found = text.str.extract(pattern).astype("float64")
        parts = parts.fillna(found)
    year = parts["y"].where(parts["y"] >= 1000, parts["y"] + config.ROC_OFFSET)
    dates = pd.to_datetime(pd.DataFrame({"year": year, "month": parts["m"], "day": parts["d"]}), errors="coerce")
    return dates.astype("datetime64[ns]")


def parse_times(values: pd.Series) -> pd.Series:
    """Clock times 'HH:MM' from '9:30', '09:30:00', '0930' (24-hour); NA when missing or unparseable."""
    text = normalise_label(values)
    found = text.str.extract(r"^(?P<h>\d{1,2}):?(?P<m>\d{2})(?::\d{2}(?:\.\d+)?)?$").astype("float64")
    ok = found["h"].between(0, 23) & found["m"].between(0, 59)
    hh = found["h"].where(ok).astype("Int64").astype("string").str.zfill(2)
    mm = found["m"].where(ok).astype("Int64").astype("string").str.zfill(2)
    return (hh + ":" + mm).astype("string")


def parse_amounts(values: pd.Series) -> pd.Series:
    """Amounts in NTD from text like '245', '1,245', 'NT$245', '245元'; NaN when not a number."""
    text = normalise_label(values).str.replace(r"(?i)NT\$|NTD|\$|元|,", "", regex=True)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def _find_input(year_dir: Path, names: list[str]) -> Path | None:
    found = [year_dir / name for name in names if (year_dir / name).exists()]
    if len(found) > 1:
        raise ValueError(f"{year_dir}: both {found[0].name} and {found[1].name} exist; keep only one export")
    return found[0] if found else None


def read_export(path: Path) -> tuple[pd.DataFrame, str]:
    """Raw export as text cells (NA for blanks), fully blank lines dropped; returns (frame, encoding used)."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        frame, encoding = pd.read_excel(path, dtype=str, keep_default_na=False, engine="openpyxl"), "xlsx"
        cells = None
    else:  # the survey's CSV reader: UTF-8/Big5, truncated files, structure errors named with file and row
        frame, encoding = ingest.read_export(path)
        cells, header_cells = frame.attrs.get("cells"), frame.attrs.get("header_cells")
        frame.attrs.clear()
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.apply(lambda col: col.astype("string").str.strip()).replace("", pd.NA)
    frame.insert(0, "_row", np.arange(1, len(frame) + 1, dtype="int64"))
    # a row with more or fewer cells than the header (an unquoted "1,245"): its cells are not in their columns
    misshapen = (pd.Series(cells != header_cells, index=frame.index) & (pd.Series(cells, index=frame.index) > 0)
                 if cells is not None else pd.Series(False, index=frame.index))
    blank = frame.drop(columns="_row").isna().all(axis=1) & ~misshapen
    frame["_cells"] = pd.Series(cells if cells is not None else 0, index=frame.index).astype("int64")
    frame.attrs["header_cells"] = header_cells if cells is not None else len(frame.columns) - 2
    frame = frame.loc[~blank].reset_index(drop=True)
    return frame, encoding


def _split_misshapen(raw: pd.DataFrame, file: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the rows, rejects of the CSV rows whose cell count differs from the header's), as the survey reader does:
    an unquoted "1,245" shifts every later cell, so such a row is rejected whole."""
    header_cells = raw.attrs.pop("header_cells", None)
    cells = raw.pop("_cells")
    bad = (cells > 0) & (cells != header_cells)
    shape = _Rejects(file)
    shape.add(raw.loc[bad, "_row"], None, cells[bad].astype("string") + " cells", "row_cells",
              f"expected the header's {header_cells} cells (a comma in an unquoted amount such as 1,245?)")
    return raw[~bad], shape.frame()


def map_headers(columns: list[str], fields: dict, path: Path) -> dict[str, str]:
    """field -> header of the file, from the mapping's accepted header texts; errors name file and headers."""
    by_norm = {}
    for column in columns:
        by_norm.setdefault(_norm1(column), column)
    found, missing = {}, []
    for field, spec in fields.items():
        hits = [by_norm[_norm1(h)] for h in spec["headers"] if _norm1(h) in by_norm]
        hits = list(dict.fromkeys(hits))
        if len(hits) > 1:
            raise ValueError(f"{path}: columns {hits} all map to field '{field}'; keep one or edit {MAPPING_FILE}")
        if hits:
            found[field] = hits[0]
        elif spec.get("required"):
            missing.append(f"{field} (one of {spec['headers']})")
    if missing:
        raise ValueError(f"{path}: required column(s) missing: {'; '.join(missing)}. Headers found: "
                         f"{[c for c in columns if c != '_row']}. Rename the header or add it to {MAPPING_FILE}")
    return found


class _Rejects:
    """Collects reject records; each names file, data row, column header, value and what was expected."""

    def __init__(self, file: str):
        self.file = file
        self.frames: list[pd.DataFrame] = []

    def add(self, rows: pd.Series, column: str | None, values: pd.Series | None, code: str, expected: str) -> None:
        """Record the rows (data row numbers) with their offending values and the expectation."""
        reference.require_label("reject_reason", code)
        if len(rows) == 0:
            return
        rows = rows.astype("int64").reset_index(drop=True)
        vals = (pd.Series(pd.NA, index=rows.index, dtype="string") if values is None
                else values.astype("string").reset_index(drop=True))
        shown = vals.fillna("(empty)")
        where = f"{self.file}, row " + rows.astype("string") + " (line " + (rows + 1).astype("string") + ")"
        if column is not None:
            where = where + f", column '{column}'"
        reason = where + ": value '" + shown + "': " + expected
        self.frames.append(pd.DataFrame({"file": self.file, "row": rows.astype("Int64"), "column": column,
                                         "value": vals, "reason_code": code, "reason": reason}))

    def frame(self) -> pd.DataFrame:
        """All records so far as a REJECTS table."""
        if not self.frames:
            return REJECTS.empty()
        return REJECTS.validate(pd.concat(self.frames, ignore_index=True).sort_values("row", kind="stable"))


def _check_common(raw: pd.DataFrame, cols: dict, rej: _Rejects, year: int, employee_field: str = "employee_no"):
    """Employee number and date checks shared by claims and long trips; returns (employee_no, date)."""
    rows = raw["_row"]
    employee = privacy.normalise_employee_no(raw[cols[employee_field]])
    rej.add(rows[employee.isna()], cols[employee_field], None, "missing_value",
            "expected the applicant's employee number")
    text = raw[cols["date"]]
    dates = parse_dates(text)
    rej.add(rows[text.isna()], cols["date"], None, "missing_value", "expected the date of the trip")
    bad = text.notna() & dates.isna()
    rej.add(rows[bad], cols["date"], text[bad], "bad_date",
            "expected a date such as 2025-11-03, 2025/11/03 or ROC 114/11/03")
    outside = dates.notna() & (dates.dt.year != year)
    rej.add(rows[outside], cols["date"], text[outside], "date_outside_year",
            f"expected a date in the inventory year {year}")
    return employee, dates


# ---------------------------------------------------------------------------------------------- short trips

def parse_claims(raw: pd.DataFrame, cols: dict, ref: Reference, year: int, file: str
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Check and parse the export's rows -> (claims: one row per accepted row, parts: one row per claim and mode,
    rejects). parts.row_index refers to the index of claims."""
    spec = ref.mapping["claims"]
    rej = _Rejects(file)
    rows = raw["_row"]
    get = lambda field: raw[cols[field]] if field in cols else pd.Series(pd.NA, index=raw.index, dtype="string")  # noqa: E731
    employee, dates = _check_common(raw, cols, rej, year)

    time_text = get("time")
    times = parse_times(time_text)
    bad = time_text.notna() & times.isna()
    rej.add(rows[bad], cols.get("time"), time_text[bad], "bad_time", "expected a 24-hour time HH:MM, e.g. 09:30")

    trip_labels = {_norm1(k): v for k, v in spec["trip_types"].items()}
    trip_text = get("trip_type")
    trip_type = normalise_label(trip_text).map(trip_labels).astype("string")
    rej.add(rows[trip_text.isna()], cols["trip_type"], None, "missing_value",
            f"expected one of {list(spec['trip_types'])}")
    bad = trip_text.notna() & trip_type.isna()
    rej.add(rows[bad], cols["trip_type"], trip_text[bad], "unknown_trip_type",
            f"expected one of {list(spec['trip_types'])}")

    amount_text = get("amount_ntd")
    amount = parse_amounts(amount_text)
    rej.add(rows[amount_text.isna()], cols["amount_ntd"], None, "missing_amount",
            "expected the claimed amount in NTD, e.g. 245")
    bad = amount_text.notna() & amount.isna()
    rej.add(rows[bad], cols["amount_ntd"], amount_text[bad], "bad_amount", "expected a number of NTD, e.g. 245")
    bad = amount.notna() & (amount <= 0)
    rej.add(rows[bad], cols["amount_ntd"], amount_text[bad], "non_positive_amount",
            "expected an amount above 0 NTD (corrections and refunds are not trips)")

    # modes: split the cell, map each label; unknown labels and empty cells are rejects
    mode_text = get("modes")
    rej.add(rows[mode_text.isna()], cols["modes"], None, "missing_value", "expected the mode(s), e.g. 計程車")
    separators = "[" + "".join("\\" + c if c in "\\^]-[" else c for c in spec["mode_separators"]) + "]"
    labels = normalise_label(mode_text).str.split(separators, regex=True)
    parts = pd.DataFrame({"_idx": raw.index, "label": labels}).explode("label")
    parts["label"] = normalise_label(parts["label"])
    parts = parts.dropna(subset=["label"])
    label_map = {_norm1(k): v for k, v in spec["modes"].items()}
    parts["mode_id"] = parts["label"].map(label_map).astype("string")
    unknown = parts[parts["mode_id"].isna()]
    known_labels = [k for k, v in spec["modes"].items() if v != EXCLUDE]
    rej.add(rows.loc[unknown["_idx"]], cols["modes"], unknown["label"], "unknown_mode",
            f"expected mode label(s) of {MAPPING_FILE}: {known_labels} (add a new label there)")
    # the note may say the taxi was electric
    note = normalise_label(get("note")).fillna("")
    markers = "|".join(_norm1(m) for m in spec.get("electric_taxi_markers") or []) or "(?!)"
    electric = note.str.contains(markers, regex=True)
    to_electric = (parts["mode_id"] == "taxi_petrol") & electric.loc[parts["_idx"]].to_numpy()
    parts.loc[to_electric, "mode_id"] = "taxi_electric"
    parts = parts.dropna(subset=["mode_id"]).drop_duplicates(["_idx", "mode_id"])
    excluded = parts["mode_id"] == EXCLUDE  # an agency car next to a taxi in one claim: the car part is dropped
    only_excluded = excluded.groupby(parts["_idx"]).all()
    only_excluded = only_excluded[only_excluded].index
    rej.add(rows.loc[only_excluded], cols["modes"], mode_text.loc[only_excluded], "out_of_boundary",
            "agency-owned vehicle: scope 1/2, outside category 6 (business travel); not counted")
    parts = parts[~excluded].copy()
    family_of = {**{m: "taxi" for m in ref.taxi_modes}, **dict(zip(ref.rules["mode_id"], ref.rules["family"]))}
    parts["family"] = parts["mode_id"].map(family_of)
    same = parts.duplicated(["_idx", "family"], keep=False)
    same_idx = parts.loc[same, "_idx"].unique()
    rej.add(rows.loc[same_idx], cols["modes"], mode_text.loc[same_idx], "same_family_modes",
            "expected at most one taxi, one MRT and one bus mode per claim; split the claim")

    claim_no = get("claim_no")
    if "claim_no" in cols:
        dup = claim_no.notna() & claim_no.duplicated(keep="first")
        rej.add(rows[dup], cols["claim_no"], claim_no[dup], "duplicate_claim_no",
                "expected a claim number not used by an earlier row (the later row is rejected)")

    rejects = rej.frame()
    accepted = ~rows.isin(rejects["row"].astype("int64"))
    parts = parts[parts["_idx"].isin(raw.index[accepted])]
    parts["part_no"] = parts.groupby("_idx").cumcount() + 1
    modes_joined = parts.groupby("_idx")["mode_id"].agg("+".join)
    fams = pd.crosstab(parts["_idx"], parts["family"]).reindex(columns=list(FAMILIES), fill_value=0) > 0

    claims = pd.DataFrame({
        "claim_id": (f"{year}-" + rows.astype("string").str.zfill(5)),
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
    return claims, parts.reset_index(drop=True), rejects


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
    taxi = _taxi_km(p["fare_ntd"], surcharge, p["flagfall_ntd"], p["flagfall_km"], p["step_ntd"], p["step_m"])
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
    path = _find_input(raw_year_dir, ref.mapping["claims"]["files"])
    if path is None:
        for name in OUTPUT_FILES:  # derived from a raw file that is gone: stale
            (out_dir / name).unlink(missing_ok=True)
        return None
    file = f"{raw_year_dir.name}/{path.name}"
    raw, encoding = read_export(path)
    raw_rows = len(raw)
    raw, misshapen = _split_misshapen(raw, file)
    cols = map_headers(list(raw.columns), ref.mapping["claims"]["fields"], path)
    claims, parts, rejects = parse_claims(raw, cols, ref, year, file)
    if len(misshapen):
        rejects = REJECTS.validate(pd.concat([rejects, misshapen], ignore_index=True))
    fac = factors.factors_by_mode(year)

    # taxi tariff of each claim; a taxi claim dated before every tariff version cannot be converted: reject it
    claims = claims.join(_assign_tariffs(claims, ref))
    no_tariff = claims["includes_taxi"] & claims["flagfall_ntd"].isna()
    if no_tariff.any():
        extra = _Rejects(file)
        extra.add(claims.loc[no_tariff, "source_row"], cols["date"],
                  claims.loc[no_tariff, "date"].dt.strftime("%Y-%m-%d"), "no_tariff",
                  f"expected a date on or after the earliest taxi tariff in {TARIFF_FILE}; add the older tariff")
        rejects = REJECTS.validate(pd.concat([rejects, extra.frame()], ignore_index=True))
        claims = claims[~no_tariff]
        parts = parts[parts["row_index"].isin(claims.index)]
    claims["night"] = _night(claims["time"], claims["night_start_min"], claims["night_end_min"])
    claims["applicant_id"] = privacy.pseudonymise(claims["employee_no"], key=key)

    if len(claims):
        rides = compute_rides(claims, parts, ref, fac, "time" in cols)
        table = summarise_claims(claims, rides)[CLAIMS.names]
    else:
        rides, table = RIDES.empty(), CLAIMS.empty()

    long_trips, long_rejects, long_report = ingest_long_trips(raw_year_dir, year, ref, fac, key=key)
    all_rejects = REJECTS.validate(pd.concat([rejects, long_rejects], ignore_index=True))

    rejected_rows = int(rejects["row"].nunique())
    report = {
        "year": year,
        "claims": {
            "file": file, "sha256": privacy.file_sha256(path), "encoding": encoding,
            "columns_used": {field: header for field, header in cols.items()
                             if not ref.mapping["claims"]["fields"][field].get("drop")},
            "time_column": "time" in cols,
            "raw_rows": raw_rows, "accepted_rows": int(len(table)), "rejected_rows": rejected_rows,
            "reject_records": int(len(rejects)),
            "rejects_by_reason": {str(k): int(v) for k, v in rejects["reason_code"].value_counts().sort_index().items()},
            "reconciled": raw_rows == len(table) + rejected_rows,
        },
        "amount_ntd": {"accepted": float(table["amount_ntd"].sum()), "allocated_to_rides": float(rides["fare_ntd"].sum())},
        "rides": int(len(rides)),
        "rides_by_method": {str(k): int(v) for k, v in rides["method"].value_counts().sort_index().items()},
        "claims_needing_review": int(table["needs_review"].sum()),
        "total_kgco2e": float(rides["emission_kgco2e"].sum()),
        "long_trips": long_report,
        "factor_set_year": factors.factor_set_year(year),
        "reference": {"folder": _display_path(ref.folder), "files_sha256_12": ref.versions},
    }
    sanity_check_outputs(table, rides, long_trips, report)

    # personal data typed into the export (addresses, phone numbers, colleagues' names and numbers) is masked
    # before anything is written
    masker = privacy.Masker(ingest.year_identifiers(raw_year_dir, _survey_mapping(year)))
    for frame, columns in ((table, ("origin", "destination", "origin_station", "destination_station")),
                           (long_trips, ("origin_station", "destination_station")), (all_rejects, ("value", "reason"))):
        for column in columns:
            frame[column] = masker.mask(frame[column])

    write_table(table, CLAIMS, out_dir / "claims.parquet")
    write_table(rides, RIDES, out_dir / "rides.parquet")
    write_table(long_trips, LONG_TRIPS, out_dir / "long_trips.parquet")
    write_table(all_rejects, REJECTS, out_dir / "rejects.parquet")
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


# ---------------------------------------------------------------------------------------------- long trips

def ingest_long_trips(raw_year_dir: Path, year: int, ref: Reference, fac: dict[str, float],
                      key: bytes | None = None) -> tuple[pd.DataFrame, pd.DataFrame, dict | None]:
    """Parse long_trips.csv (one row per leg and direction) -> (legs with km and kgCO2e, rejects, report part)."""
    spec = ref.mapping["long_trips"]
    path = _find_input(Path(raw_year_dir), spec["files"])
    if path is None:
        return LONG_TRIPS.empty(), REJECTS.empty(), None
    file = f"{Path(raw_year_dir).name}/{path.name}"
    raw, encoding = read_export(path)
    raw_rows = len(raw)
    raw, misshapen = _split_misshapen(raw, file)
    cols = map_headers(list(raw.columns), spec["fields"], path)
    rej = _Rejects(file)
    rej.frames.append(misshapen)
    rows = raw["_row"]
    employee, dates = _check_common(raw, cols, rej, year)
    trip_no = raw[cols["trip_no"]].astype("string")
    rej.add(rows[trip_no.isna()], cols["trip_no"], None, "missing_value", "expected the trip's number (出差單號)")
    dir_text = raw[cols["direction"]]
    direction = normalise_label(dir_text).map({_norm1(k): v for k, v in spec["directions"].items()}).astype("string")
    rej.add(rows[dir_text.isna()], cols["direction"], None, "missing_value",
            f"expected one of {list(spec['directions'])}")
    bad = dir_text.notna() & direction.isna()
    rej.add(rows[bad], cols["direction"], dir_text[bad], "unknown_direction", f"expected one of {list(spec['directions'])}")
    mode_text = raw[cols["mode"]]
    mode_id = normalise_label(mode_text).map({_norm1(k): v for k, v in spec["modes"].items()}).astype("string")
    rej.add(rows[mode_text.isna()], cols["mode"], None, "missing_value", f"expected one of {list(spec['modes'])}")
    bad = mode_text.notna() & mode_id.isna()
    rej.add(rows[bad], cols["mode"], mode_text[bad], "unknown_mode",
            f"expected one of {list(spec['modes'])} (add a new label to {MAPPING_FILE})")
    o_text, d_text = raw[cols["origin_station"]], raw[cols["destination_station"]]
    rej.add(rows[o_text.isna()], cols["origin_station"], None, "missing_value", "expected the origin station")
    rej.add(rows[d_text.isna()], cols["destination_station"], None, "missing_value", "expected the destination station")
    leg_text = raw[cols["leg_no"]] if "leg_no" in cols else pd.Series(pd.NA, index=raw.index, dtype="string")
    leg_no = pd.to_numeric(leg_text, errors="coerce")
    bad = leg_text.notna() & ~((leg_no >= 1) & (leg_no == np.floor(leg_no)))
    rej.add(rows[bad], cols.get("leg_no"), leg_text[bad], "bad_leg_no", "expected a leg number 1, 2, ...")
    keys = pd.DataFrame({"t": trip_no, "d": direction})
    leg_no = leg_no.fillna(keys.groupby(["t", "d"], dropna=False).cumcount() + 1)
    dup = keys.assign(l=leg_no).duplicated(keep="first") & trip_no.notna() & direction.notna()
    rej.add(rows[dup], cols["trip_no"], trip_no[dup], "duplicate_leg",
            "expected one row per trip, direction and leg (段次); the later row is rejected")

    legs = pd.DataFrame({"trip_no": trip_no, "source_row": rows, "employee_no": employee, "direction": direction,
                         "leg_no": leg_no, "date": dates, "mode_id": mode_id,
                         "origin_station": o_text, "destination_station": d_text})
    legs = legs[~rows.isin(rej.frame()["row"].astype("int64"))].copy()

    # canonical station names (aliases) in the mode's network, then the table, else great-circle x detour
    network = legs["mode_id"].map({m: s["network"] for m, s in ref.long_modes.items()})
    canon = ref.long_stations.set_index(["network", "alias"])["station"]
    xy = ref.long_stations.drop_duplicates(["network", "station"]).set_index(["network", "station"])[["lat", "lon"]]
    ends = {}
    for side in ("origin_station", "destination_station"):
        name = normalise_station(legs[side])
        found = canon.reindex(pd.MultiIndex.from_arrays([network, name])).to_numpy()
        name = pd.Series(found, index=legs.index, dtype="string").fillna(name)
        ends[side] = (name, xy.reindex(pd.MultiIndex.from_arrays([network, name])).set_index(legs.index))
    (a, pa), (b, pb) = ends["origin_station"], ends["destination_station"]
    looked = pd.DataFrame({"mode_id": legs["mode_id"], "a": a, "b": b}).merge(
        ref.long_distances, on=["mode_id", "a", "b"], how="left")
    table_km = pd.Series(looked["distance_km"].to_numpy(), index=legs.index)
    detour = legs["mode_id"].map({m: float(s["detour_factor"]) for m, s in ref.long_modes.items()})
    gc_km = great_circle_km(pa["lat"], pa["lon"], pb["lat"], pb["lon"]) * detour
    in_table = table_km.notna()
    unknown = ~in_table & gc_km.isna()
    for side, point in (("origin_station", pa), ("destination_station", pb)):
        bad = unknown & point["lat"].isna()
        rej.add(legs.loc[bad, "source_row"], cols[side], legs.loc[bad, side], "unknown_station",
                f"expected a station of {LONG_DISTANCES_FILE} or {LONG_STATIONS_FILE} for this mode "
                f"(add the pair or the station's coordinates)")
    legs = legs[~unknown].copy()
    in_table = in_table[~unknown]
    legs["distance_km"] = table_km[~unknown].where(in_table, gc_km[~unknown])
    legs["method"] = np.where(in_table, "distance_table", "great_circle")
    legs["quality"] = legs["method"].map(METHOD_QUALITY)
    legs["flags"] = pd.Series(np.where(in_table, None, "great_circle"), index=legs.index, dtype="string")
    own = {m: float(s["factor_kgco2e_per_pkm"]) for m, s in ref.long_modes.items() if s.get("factor") != "factor_set"}
    legs["factor_kgco2e_per_pkm"] = legs["mode_id"].map({**fac, **own}).astype("float64")
    missing = sorted(set(legs.loc[legs["factor_kgco2e_per_pkm"].isna(), "mode_id"]))
    if missing:
        raise ValueError(f"no emission factor for long-trip mode(s) {missing}; see {LONG_MODES_FILE}")
    legs["emission_kgco2e"] = legs["distance_km"] * legs["factor_kgco2e_per_pkm"]
    legs["applicant_id"] = privacy.pseudonymise(legs["employee_no"], key=key)
    legs["_dir"] = legs["direction"].map({"outbound": 0, "return": 1})
    legs = LONG_TRIPS.validate(legs.sort_values(["trip_no", "_dir", "leg_no"])[LONG_TRIPS.names])
    rejects = rej.frame()
    rejected_rows = int(rejects["row"].nunique())
    report = {"file": file, "sha256": privacy.file_sha256(path), "encoding": encoding, "raw_rows": int(raw_rows),
              "accepted_rows": int(len(legs)), "rejected_rows": rejected_rows,
              "rejects_by_reason": {str(k): int(v) for k, v in rejects["reason_code"].value_counts().sort_index().items()},
              "reconciled": int(raw_rows) == int(len(legs)) + rejected_rows,
              "trips": int(legs["trip_no"].nunique()), "legs_by_method": {str(k): int(v) for k, v in legs["method"].value_counts().sort_index().items()},
              "total_kgco2e": float(legs["emission_kgco2e"].sum())}
    assert report["reconciled"], f"long-trip rows do not reconcile: {report}"
    return legs, rejects, report


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


# ------------------------------------------------------------------------------- tables for the notebook

# Number formats for display: kg with 2 decimals, km with 1, NTD whole, shares as percentages.
FORMATS = {"distance_km": "{:,.1f}", "emission_kgco2e": "{:,.2f}", "share": "{:.1%}", "rides_share": "{:.1%}",
           "claims_share": "{:.1%}", "amount_ntd": "{:,.0f}", "claims": "{:,.0f}", "rides": "{:,.0f}",
           "factor_kgco2e_per_pkm": "{:.3f}", "taxi_claims": "{:,.0f}", "mrt_claims": "{:,.0f}",
           "bus_claims": "{:,.0f}"}


def show(frame: pd.DataFrame, caption: str | None = None):
    """A report table (tables.show): zh-TW headers, thousands separators, kg to 2 decimals, blanks for NA."""
    out = frame.copy()
    for col, fmt in FORMATS.items():
        if col in out.columns:
            numeric = pd.to_numeric(out[col], errors="coerce")
            out[col] = numeric.map(fmt.format, na_action="ignore").fillna(out[col].astype("string")).fillna("")
    return tables.show(out.rename(columns=COLUMN_LABELS).fillna(""), caption)


def _with_total(out: pd.DataFrame, rides: pd.DataFrame, label_col: str) -> pd.DataFrame:
    total = float(rides["emission_kgco2e"].sum())
    out["share"] = out["emission_kgco2e"] / total if total else 0.0
    row = {c: "" for c in out.columns}
    row.update({label_col: "合計", "claims": rides["claim_id"].nunique(), "rides": len(rides),
                "distance_km": rides["distance_km"].sum(), "emission_kgco2e": total, "share": 1.0 if total else 0.0})
    return pd.concat([out, pd.DataFrame([row])], ignore_index=True)


def _ride_totals(rides: pd.DataFrame, by: str) -> pd.DataFrame:
    g = rides.groupby(by)
    return pd.DataFrame({"claims": g["claim_id"].nunique(), "rides": g.size(),
                         "distance_km": g["distance_km"].sum(), "emission_kgco2e": g["emission_kgco2e"].sum()})


def totals_by_mode(rides: pd.DataFrame) -> pd.DataFrame:
    """Per mode: claims, rides, km, kgCO2e and share of kgCO2e (largest first), with a total row."""
    out = _ride_totals(rides, "mode_id").sort_values("emission_kgco2e", ascending=False)
    out.insert(0, "mode", out.index.map(reference.mode_names("zh")))
    return _with_total(out.reset_index(drop=True), rides, "mode")


def totals_by_method(rides: pd.DataFrame) -> pd.DataFrame:
    """Per distance method (best first): its quality, claims, rides, km, kgCO2e and share, with a total row."""
    out = _ride_totals(rides, "method")
    out = out.reindex([m for m in METHODS if m in out.index])
    out.insert(0, "quality", out.index.map(METHOD_QUALITY).map(zh(QUALITY_LABELS)))
    out.insert(0, "method", out.index.map(zh(METHOD_LABELS)))
    return _with_total(out.reset_index(drop=True), rides, "method")


def quality_shares(rides: pd.DataFrame) -> pd.DataFrame:
    """Per data-quality level (all four listed): rides and kgCO2e with their shares."""
    g = rides.groupby("quality")
    out = pd.DataFrame({"rides": g.size(), "emission_kgco2e": g["emission_kgco2e"].sum()}).reindex(
        list(QUALITY_LEVELS), fill_value=0)
    n, total = out["rides"].sum(), out["emission_kgco2e"].sum()
    out["rides_share"] = out["rides"] / n if n else 0.0
    out["share"] = out["emission_kgco2e"] / total if total else 0.0
    out.insert(0, "quality", out.index.map(zh(QUALITY_LABELS)))
    return out.reset_index(drop=True)[["quality", "rides", "rides_share", "emission_kgco2e", "share"]]


def monthly(claims: pd.DataFrame) -> pd.DataFrame:
    """Per calendar month (gaps filled with 0): claims, taxi/MRT/bus claims, km and kgCO2e."""
    g = claims.groupby(claims["date"].dt.to_period("M"))
    out = pd.DataFrame({"claims": g.size(), "taxi_claims": g["includes_taxi"].sum(),
                        "mrt_claims": g["includes_mrt"].sum(), "bus_claims": g["includes_bus"].sum(),
                        "distance_km": g["distance_km"].sum(), "emission_kgco2e": g["emission_kgco2e"].sum()})
    if len(out):
        out = out.reindex(pd.period_range(out.index.min(), out.index.max(), freq="M"), fill_value=0)
    out.index = out.index.astype(str)
    return out.rename_axis("month").reset_index()


def _codes_to_text(codes: pd.Series, labels: dict[str, str], sep_in: str, sep_out: str) -> pd.Series:
    """'a;b' code lists -> 'label a<sep_out>label b' (NA/empty -> '')."""
    long = codes.fillna("").str.split(sep_in).explode()
    text = long.map(labels).dropna()
    return text.groupby(level=0).agg(sep_out.join).reindex(codes.index, fill_value="")


def review_list(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims that needed an estimate or carry a flag: applicant by number in this list (申請人 1, 2, ..., never the
    pseudonym), raw data row, amount, km, method, reasons."""
    out = claims[claims["needs_review"]].reset_index(drop=True)
    return pd.DataFrame({
        "claim_id": out["claim_id"], "source_row": out["source_row"],
        "applicant": privacy.report_sequence(out["applicant_id"], APPLICANT_PREFIX),
        "date": out["date"].dt.strftime("%Y-%m-%d"), "trip_type": out["trip_type"].map(zh(TRIP_TYPE_LABELS)),
        "modes": _codes_to_text(out["modes"], reference.mode_names("zh"), "+", "、"),
        "amount_ntd": out["amount_ntd"], "distance_km": out["distance_km"], "emission_kgco2e": out["emission_kgco2e"],
        "method": _codes_to_text(out["methods"], zh(METHOD_LABELS), "+", "＋"),
        "quality": out["quality"].map(zh(QUALITY_LABELS)),
        "flags": _codes_to_text(out["flags"], zh(FLAG_LABELS), ";", "；"),
    })


def long_trip_names(reference_dir: Path | None = None) -> dict[str, str]:
    """Long-trip mode id -> zh-TW name (long_trip_modes.yaml, else the mode catalogue)."""
    doc = reference.load_yaml(Path(reference_dir or REFERENCE_DIR) / LONG_MODES_FILE)
    return {**reference.mode_names("zh"), **{m: s.get("name_zh", m) for m, s in (doc.get("modes") or {}).items()}}


def long_trip_table(legs: pd.DataFrame, reference_dir: Path | None = None) -> pd.DataFrame:
    """Long-trip legs for display: trip, applicant by number in this table (申請人 1, 2, ...), direction, mode,
    stations, km, method, kgCO2e."""
    return pd.DataFrame({
        "trip_no": legs["trip_no"], "applicant": privacy.report_sequence(legs["applicant_id"], APPLICANT_PREFIX),
        "direction": legs["direction"].map(zh(DIRECTION_LABELS)), "leg_no": legs["leg_no"],
        "date": legs["date"].dt.strftime("%Y-%m-%d"), "mode": legs["mode_id"].map(long_trip_names(reference_dir)),
        "origin_station": legs["origin_station"], "destination_station": legs["destination_station"],
        "distance_km": legs["distance_km"], "method": legs["method"].map(zh(METHOD_LABELS)),
        "factor_kgco2e_per_pkm": legs["factor_kgco2e_per_pkm"], "emission_kgco2e": legs["emission_kgco2e"],
    }).reset_index(drop=True)


def rejects_table(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows for display: file, data row, column, value and the reason as its zh-TW label (the detailed
    English message stays in the processed rejects table for the operator)."""
    out = rejects.drop(columns=["reason"]).copy()
    out["reason_code"] = out["reason_code"].map(zh(REASON_LABELS)).fillna(out["reason_code"])
    return out.reset_index(drop=True)


def applicants_by_family(claims: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Claims and distinct applicants per mode family; applicant counts below min_cell shown as '<min_cell'."""
    counts = pd.DataFrame({
        "family": [zh(FAMILY_LABELS)[f] for f in FAMILIES],
        "claims": [int(claims[f"includes_{f}"].sum()) for f in FAMILIES],
        "applicants": [int(claims.loc[claims[f"includes_{f}"], "applicant_id"].nunique()) for f in FAMILIES],
    })
    counts["applicants"] = privacy.suppress_small(counts["applicants"], k=min_cell)
    return counts


def overview(summary: dict) -> pd.DataFrame:
    """Headline figures of business_summary() as an indicator / value / unit table (zh-TW)."""
    n = summary["claims"]
    pct = lambda k: f"（{tables.fmt_pct(summary[k] / n)}）" if n else ""  # noqa: E731
    rows = [
        ("公出申報件數 Claims", tables.fmt_int(n), "件"),
        ("計程車件數 Taxi claims", tables.fmt_int(summary["taxi_claims"]) + pct("taxi_claims"), "件"),
        ("含捷運件數 Claims including MRT", tables.fmt_int(summary["mrt_claims"]), "件"),
        ("含公車件數 Claims including bus", tables.fmt_int(summary["bus_claims"]), "件"),
        ("趟次 Rides", tables.fmt_int(summary["rides"]), "趟"),
        ("總距離 Distance", tables.fmt_kg(summary["distance_km"]), "延人公里"),
        ("報支金額 Amount claimed", tables.fmt_int(summary["amount_ntd"]), "新臺幣元"),
        ("公出排放量 Emissions (short trips)", tables.fmt_kg(summary["total_kgco2e"]), "kgCO2e"),
        ("需估計或標記之申報 Claims needing review", tables.fmt_int(summary["claims_needing_review"]), "件"),
        ("剔除列數 Rejected rows", tables.fmt_int(summary["rejected_rows"]), "列"),
        ("長程出差排放（另列）Long trips, reported separately", tables.fmt_kg(summary["long_trips_kgco2e"]), "kgCO2e"),
    ]
    return pd.DataFrame(rows, columns=["指標 Indicator", "數值 Value", "單位 Unit"])


def pilot_comparison(summary: dict, year: int) -> pd.DataFrame | None:
    """This year's figures beside the study's pilot (2025 only; None otherwise), with a match column."""
    if int(year) != PILOT_YEAR:
        return None
    ours = {k: summary[k] for k in PILOT_2025}
    ours["total_kgco2e"] = round(ours["total_kgco2e"], 2)
    return pd.DataFrame({
        "項目 Item": ["申報件數 Claims", "計程車 Taxi", "含捷運 Including MRT", "含公車 Including bus", "排放量 kgCO2e"],
        "試辦期研究報告 Pilot": [tables.fmt_int(v) if k != "total_kgco2e" else tables.fmt_kg(v) for k, v in PILOT_2025.items()],
        "本次計算 This run": [tables.fmt_int(v) if k != "total_kgco2e" else tables.fmt_kg(v) for k, v in ours.items()],
        "一致 Match": ["✓" if ours[k] == v else "✗" for k, v in PILOT_2025.items()],
    })


def write_review_csv(claims: pd.DataFrame, path: Path) -> Path:
    """Write the claims needing review (no applicant id; raw data row to find them) as UTF-8-BOM CSV for Excel."""
    out = review_list(claims).drop(columns=["applicant"]).rename(columns=COLUMN_LABELS)
    return write_csv(out, Path(path))


def method_note(year: int, reference_dir: Path | None = None) -> str:
    """Markdown method note (boundary, taxi assumption, formulas, sources), written from the reference files."""
    ref = load_reference(reference_dir)
    tariff_doc = reference.load_yaml(ref.folder / TARIFF_FILE)
    rules_doc = reference.load_yaml(ref.folder / FARE_RULES_FILE)
    fac = factors.factors_by_mode(year)
    group = tariff_doc["groups"][ref.default_group]
    t = group["tariffs"][-1]
    flat = lambda text: " ".join(str(text).split())  # noqa: E731
    paragraphs = [
        "**邊界 Boundary.** 僅計非機關擁有之運輸（計程車、捷運、公車、高鐵、臺鐵、國內線航班）。機關公務車屬範疇一／二，"
        "不計入類別6：匯出檔中交通工具為「公務車」者列為剔除。Agency-owned vehicles are scope 1/2 and excluded.",
        f"**計程車車種 Taxi type.** 匯出檔未註明油車或電動車：除交通工具或備註寫明「電動」外，一律以汽油計程車係數 "
        f"{fac['taxi_petrol']:.3f} kgCO2e/人公里計算（電動計程車 {fac['taxi_electric']:.3f}）。"
        "Taxis count as petrol unless the claim says electric.",
        f"**計程車距離 Taxi distance.** 每趟 km = {t['flagfall_km']:g} + (金額 − 加成 − {t['flagfall_ntd']:g}) ÷ "
        f"{t['step_ntd']:g} × {t['step_m'] / METERS_PER_KM:g}（{group['name_zh']}，{t['valid_from']} 起之日間費率）。"
        f"夜間 {t['night_start']}–{t['night_end']}（以上車時間為準）每趟加收 {t['night_surcharge_ntd']:g} 元，"
        "換算前先扣除；春節加成亦同。來回申報為兩趟，各半金額，兩趟之夜間與否皆依申報時間。"
        "延滯計時無法與里程區分，一併視為里程（距離偏高，屬保守估計）。金額低於起跳價（以起跳里程計）或不在費率級距上者，"
        "照公式計算並標記待檢視。",
        "**捷運與公車 MRT and bus.** 依序：(1) 起訖站查站間距離表（品質高）；(2) 依票價規則反推距離級距之中點"
        "（估計，品質低）；(3) 金額 ÷ 每公里平均票價（金額推估，品質最低）。多運具合併申報時，無站名之捷運／公車部分"
        "以標準票價計，其餘金額歸計程車（無計程車時歸捷運），並標記為拆分。",
        "**長程出差 Long trips.** 去程、回程分列，每段記錄運具與起訖站，查標準距離表（任一方向）；距離表無此站對時，"
        "以站點座標之大圓距離 × 繞行係數估計並標記。長程出差不在試辦期（2025-10-30 至 12-31）69.63 kgCO2e 之範圍內，"
        "另列，不計入短程公出合計（摘要頁與盤查工作簿另列長程出差並計入類別3 合計）。"
        "Long trips are reported separately from the short trips.",
        f"**排放係數 Factors.** {factors.factor_set_year(year)} 年係數組（kgCO2e/人公里，data/reference/factors/）；"
        "國內線航班不在該係數組內，係數見 long_trip_modes.yaml（次級引用，品質低）。",
    ]
    zh_text = lambda spec, key: flat(spec.get(f"{key}_zh") or spec[key])  # noqa: E731  zh-TW note, else the source
    sources = [f"- 計程車費率：{zh_text(t, 'source')}"]
    sources += [f"- {rule.get('name_zh', name)}票價規則：{zh_text(rule, 'source')}"
                for name, rule in (rules_doc.get("rules") or {}).items()]
    sources.append(f"- 站間距離表、長程標準距離表與站點座標（{STATION_DISTANCES_FILE}、{LONG_DISTANCES_FILE}、"
                   f"{LONG_STATIONS_FILE}）：隨附數值為近似值，供範例使用，使用者可替換。")
    for mode_id, spec in ref.long_modes.items():
        name = spec.get("name_zh", mode_id)
        sources.append(f"- {name}繞行係數 ×{float(spec['detour_factor']):.2f}：{zh_text(spec, 'detour_source')}")
        if spec.get("factor_source"):
            sources.append(f"- {name}排放係數 {float(spec['factor_kgco2e_per_pkm']):.3f} kgCO2e/人公里："
                           f"{zh_text(spec, 'factor_source')}")
    return "\n\n".join(paragraphs) + "\n\n**資料來源 Sources.**\n\n" + "\n".join(sources)


# ------------------------------------------------------------------------------------------------- sample

# The synthetic export: (kind, count). Taxi distances are drawn with the seed; the TUNING_* values were chosen
# once so that the pipeline gives the pilot's 69.63 kgCO2e at its centre (|total - 69.63| < 0.0005).
SAMPLE_START, SAMPLE_END = "2025-10-30", "2025-12-31"
SAMPLE_EMPLOYEES = 16
SAMPLE_PLACES = ("交通部", "國家發展委員會", "行政院", "立法院", "臺北市政府", "新北市政府", "臺北車站", "松山機場",
                 "南港展覽館", "臺大醫院國際會議中心", "經濟部", "環境部", "基隆市政府", "內湖科學園區", "公路局")
SAMPLE_PURPOSES = ("出席會議", "業務協調", "現場勘查", "送件", "研討會", "計畫審查", "訪談")
SAMPLE_TAXI_KM = (2.0, 15.0)  # range of drawn one-way taxi distances, km
TUNING_TAXI_FARE = 185        # NTD, the last single day taxi claim
TUNING_ELECTRIC_FARE = 230    # NTD, the electric taxi claim (note says 電動)
TUNING_OFF_GRID_FARE = 186    # NTD, a fare not on the tariff grid (flagged)
TUNING_BUS_SPEND_FARE = 20    # NTD, a bus fare that is not n x 15 (spend-based fallback)
HEADERS = ("單據編號", "申請人員工編號", "申請人", "日期", "時間", "事由", "起點", "迄點", "起站", "迄站",
           "單程/來回", "交通工具", "金額", "備註")
LONG_HEADERS = ("出差單號", "申請人員工編號", "申請人", "方向", "段次", "日期", "交通工具", "起站", "迄站")


def _grid_fare(km: np.ndarray) -> np.ndarray:
    """Day fare (NTD) the Greater-Taipei meter shows for a distance (km), for the sample only."""
    return 85 + 5 * np.ceil(np.maximum(km - 1.25, 0) / 0.2 - 1e-9)


def sample_frames(seed: int = SAMPLE_SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The synthetic 2025 export (47 valid claims + 3 bad rows) and long-trip legs, as text tables."""
    rng = np.random.default_rng(seed)
    taxi_single = _grid_fare(rng.uniform(*SAMPLE_TAXI_KM, size=30))
    taxi_return = 2 * _grid_fare(rng.uniform(*SAMPLE_TAXI_KM, size=6))
    night_fare = _grid_fare(rng.uniform(*SAMPLE_TAXI_KM, size=1))[0] + 20
    # (modes, trip type, amount, time, origin station, destination station, note)
    spec = [("計程車", "單程", f, None, None, None, None) for f in taxi_single]
    spec += [("計程車", "單程", TUNING_TAXI_FARE, None, None, None, None)]
    spec += [("計程車", "來回", f, None, None, None, None) for f in taxi_return]
    spec += [("計程車", "單程", night_fare, "23:20", None, None, None),
             ("計程車", "單程", TUNING_ELECTRIC_FARE, None, None, None, "搭乘電動計程車"),
             ("計程車", "單程", TUNING_OFF_GRID_FARE, None, None, None, None),
             ("計程車、捷運", "單程", 205, None, None, None, None),
             ("計程車、公車", "單程", 180, None, None, None, None),
             ("捷運、公車", "單程", 45, None, None, None, None),
             ("捷運", "來回", 40, None, "南京復興", "台北車站", None),
             ("公車", "單程", 15, None, None, None, None),
             ("公車", "來回", 30, None, None, None, None),
             ("公車", "單程", TUNING_BUS_SPEND_FARE, None, None, None, None),
             # rows the pipeline must not count: a refund line, a blank amount, an agency car
             ("計程車", "單程", -150, None, None, None, "退費沖銷"),
             ("計程車", "單程", None, None, None, None, None),
             ("公務車", "來回", 300, None, None, None, "機關公務車油資")]
    n = len(spec)
    days = pd.bdate_range(SAMPLE_START, SAMPLE_END)
    dates = np.sort(rng.choice(days.to_numpy(), size=n, replace=True))
    order = rng.permutation(n)  # which claim falls on which date
    employees = rng.integers(1, SAMPLE_EMPLOYEES + 1, size=n)
    hours, minutes = rng.integers(8, 18, size=n), rng.choice([0, 10, 15, 20, 30, 40, 45, 50], size=n)
    places = rng.choice(len(SAMPLE_PLACES), size=n)
    purposes = rng.choice(len(SAMPLE_PURPOSES), size=n)
    rows = []
    for pos, i in enumerate(order):  # builds the synthetic file, not a pass over claims being processed
        modes, trip, amount, clock, o_st, d_st, note = spec[i]
        date = pd.Timestamp(dates[pos])
        place = SAMPLE_PLACES[places[i]]
        rows.append({
            "單據編號": f"BT114-{pos + 1:04d}", "申請人員工編號": f"E9{employees[i]:04d}",
            "申請人": f"範例人員{employees[i]:02d}", "日期": f"{date.year - config.ROC_OFFSET}/{date.month:02d}/{date.day:02d}",
            "時間": clock or f"{hours[i]:02d}:{minutes[i]:02d}", "事由": SAMPLE_PURPOSES[purposes[i]],
            "起點": "本所", "迄點": d_st and "臺北車站" or place, "起站": o_st or "", "迄站": d_st or "",
            "單程/來回": trip, "交通工具": modes, "金額": "" if amount is None else f"{amount:g}", "備註": note or "",
        })
    claims = pd.DataFrame(rows, columns=list(HEADERS))
    legs = [  # trip no, employee, direction, leg, date, mode, from, to
        ("LT114-001", 3, "去程", 1, "114/11/12", "高鐵", "台北", "台中"),
        ("LT114-001", 3, "回程", 1, "114/11/13", "高鐵", "台中", "台北"),
        ("LT114-002", 7, "去程", 1, "114/11/20", "臺鐵", "台北", "花蓮"),
        ("LT114-002", 7, "回程", 1, "114/11/21", "臺鐵", "花蓮", "台北"),
        ("LT114-003", 11, "去程", 1, "114/12/03", "飛機", "松山機場", "金門機場"),
        ("LT114-003", 11, "回程", 1, "114/12/05", "飛機", "金門機場", "松山機場"),
        ("LT114-004", 5, "去程", 1, "114/12/16", "高鐵", "台北", "嘉義"),  # pair not in the table: great-circle
        ("LT114-004", 5, "回程", 1, "114/12/17", "高鐵", "嘉義", "台北"),
    ]
    long_trips = pd.DataFrame(
        [{"出差單號": t, "申請人員工編號": f"E9{e:04d}", "申請人": f"範例人員{e:02d}", "方向": d, "段次": str(leg),
          "日期": day, "交通工具": m, "起站": a, "迄站": b} for t, e, d, leg, day, m, a, b in legs],
        columns=list(LONG_HEADERS))
    return claims, long_trips


def write_sample_claims(year_dir: Path) -> None:
    """Write the synthetic 2025 expense export claims.csv and long_trips.csv (UTF-8 with BOM) into year_dir."""
    year_dir = Path(year_dir)
    claims, long_trips = sample_frames()
    for name, frame in (("claims.csv", claims), ("long_trips.csv", long_trips)):
        atomic_write_bytes(year_dir / name, frame.to_csv(index=False, lineterminator="\n").encode("utf-8-sig"))
