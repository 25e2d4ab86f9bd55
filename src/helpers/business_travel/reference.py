"""Business-travel reference data (data/reference/business_travel/): the export mapping, taxi tariffs, MRT/bus
fare rules and distance tables, loaded and checked into one `Reference`; label and station-name normalisation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from helpers import config, privacy, reference
from helpers.business_travel.schemas import EXCLUDE, FAMILIES


REFERENCE_DIR = config.REFERENCE / "business_travel"
MAPPING_FILE = "claims_mapping.yaml"
TARIFF_FILE = "taxi_tariffs.yaml"
FARE_RULES_FILE = "fare_rules.yaml"
STATION_DISTANCES_FILE = "station_distances.csv"
LONG_MODES_FILE = "long_trip_modes.yaml"
LONG_DISTANCES_FILE = "long_trip_distances.csv"
LONG_STATIONS_FILE = "long_trip_stations.csv"


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


def normalise_one_label(label: str) -> str:
    """One label (a header, a mapping key) normalised as normalise_label does a column, for matching."""
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
            city_rows.append({"group": group, "city": normalise_one_label(city)})
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


def display_path(path: Path) -> str:
    """A path relative to the repository when inside it (reports should not carry machine paths)."""
    try:
        return str(Path(path).resolve().relative_to(config.ROOT.resolve()))
    except ValueError:
        return str(path)
