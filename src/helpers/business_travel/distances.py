"""Distance formulas: taxi km from a fare through the tariff, MRT/bus fares <-> km by fare rule, great-circle km."""

from __future__ import annotations

import numpy as np
import pandas as pd


METERS_PER_KM = 1000.0
EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), for great-circle distances


# ------------------------------------------------------------------------------------------- fare formulas

def taxi_km(fare_ntd, surcharge_ntd, flagfall_ntd, flagfall_km, step_ntd, step_m) -> pd.DataFrame:
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
    return taxi_km(fare, surcharge, float(tariff["flagfall_ntd"]), float(tariff["flagfall_km"]),
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
