"""Long trips (one row per leg and direction): standard distance table, else great circle x detour factor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers import privacy
from helpers.business_travel.distances import great_circle_km
from helpers.business_travel.export import (check_employee_and_date, find_input, map_headers, read_export,
                                            split_misshapen)
from helpers.business_travel.reference import (LONG_DISTANCES_FILE, LONG_MODES_FILE, LONG_STATIONS_FILE, MAPPING_FILE,
                                               Reference, normalise_one_label, normalise_label, normalise_station)
from helpers.business_travel.schemas import LONG_TRIPS, METHOD_QUALITY
from helpers.rejects import Rejects, one_of, rows_rejected


# ---------------------------------------------------------------------------------------------- long trips

def ingest_long_trips(raw_year_dir: Path, year: int, ref: Reference, fac: dict[str, float], rejects: Rejects,
                      key: bytes | None = None) -> tuple[pd.DataFrame, dict | None]:
    """Parse long_trips.csv (one row per leg and direction) -> (legs with km and kgCO2e, report part); the rows
    that cannot be used go to `rejects`."""
    spec = ref.mapping["long_trips"]
    path = find_input(Path(raw_year_dir), spec["files"])
    if path is None:
        return LONG_TRIPS.empty(), None
    file = f"{Path(raw_year_dir).name}/{path.name}"
    raw, encoding = read_export(path)
    raw_rows = len(raw)
    raw = split_misshapen(raw, file, rejects)
    cols = map_headers(list(raw.columns), spec["fields"], path)
    rows = raw["_row"]
    add = lambda *args: rejects.add(file, *args)  # noqa: E731
    employee, dates = check_employee_and_date(raw, cols, rejects, file, year)
    trip_no = raw[cols["trip_no"]].astype("string")
    add(rows[trip_no.isna()], cols["trip_no"], None, "missing_value", "應填出差單號")
    dir_text = raw[cols["direction"]]
    labels = {normalise_one_label(k): v for k, v in spec["directions"].items()}
    direction = normalise_label(dir_text).map(labels).astype("string")
    add(rows[dir_text.isna()], cols["direction"], None, "missing_value", one_of(spec["directions"]))
    bad = dir_text.notna() & direction.isna()
    add(rows[bad], cols["direction"], dir_text[bad], "unknown_direction", one_of(spec["directions"]))
    mode_text = raw[cols["mode"]]
    labels = {normalise_one_label(k): v for k, v in spec["modes"].items()}
    mode_id = normalise_label(mode_text).map(labels).astype("string")
    add(rows[mode_text.isna()], cols["mode"], None, "missing_value", one_of(spec["modes"]))
    bad = mode_text.notna() & mode_id.isna()
    add(rows[bad], cols["mode"], mode_text[bad], "unknown_mode",
        f"{one_of(spec['modes'])}（新名稱請加入 {MAPPING_FILE}）")
    o_text, d_text = raw[cols["origin_station"]], raw[cols["destination_station"]]
    add(rows[o_text.isna()], cols["origin_station"], None, "missing_value", "應填起站")
    add(rows[d_text.isna()], cols["destination_station"], None, "missing_value", "應填迄站")
    leg_text = raw[cols["leg_no"]] if "leg_no" in cols else pd.Series(pd.NA, index=raw.index, dtype="string")
    leg_no = pd.to_numeric(leg_text, errors="coerce")
    bad = leg_text.notna() & ~((leg_no >= 1) & (leg_no == np.floor(leg_no)))
    add(rows[bad], cols.get("leg_no"), leg_text[bad], "bad_leg_no", "應為段次 1、2……")
    keys = pd.DataFrame({"t": trip_no, "d": direction})
    leg_no = leg_no.fillna(keys.groupby(["t", "d"], dropna=False).cumcount() + 1)
    dup = keys.assign(l=leg_no).duplicated(keep="first") & trip_no.notna() & direction.notna()
    add(rows[dup], cols["trip_no"], trip_no[dup], "duplicate_leg", "同一出差單、方向、段次只能一列；剔除較後之列")

    legs = pd.DataFrame({"trip_no": trip_no, "source_row": rows, "employee_no": employee, "direction": direction,
                         "leg_no": leg_no, "date": dates, "mode_id": mode_id,
                         "origin_station": o_text, "destination_station": d_text})
    found = rejects.frame()
    legs = legs[~rows.isin(found.loc[found["file"] == file, "row"].astype("int64"))].copy()

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
        add(legs.loc[bad, "source_row"], cols[side], legs.loc[bad, side], "unknown_station",
            f"請於 {LONG_DISTANCES_FILE} 加入站對，或於 {LONG_STATIONS_FILE} 加入站點座標")
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
    mine = rejects.frame()
    mine = mine[mine["file"] == file]
    rejected_rows = rows_rejected(mine)
    report = {"file": file, "sha256": privacy.file_sha256(path), "encoding": encoding, "raw_rows": int(raw_rows),
              "accepted_rows": int(len(legs)), "rejected_rows": rejected_rows,
              "rejects_by_reason": {str(k): int(v) for k, v in mine["reason_code"].value_counts().sort_index().items()},
              "reconciled": int(raw_rows) == int(len(legs)) + rejected_rows,
              "trips": int(legs["trip_no"].nunique()), "legs_by_method": {str(k): int(v) for k, v in legs["method"].value_counts().sort_index().items()},
              "total_kgco2e": float(legs["emission_kgco2e"].sum())}
    assert report["reconciled"], f"long-trip rows do not reconcile: {report}"
    return legs, report
