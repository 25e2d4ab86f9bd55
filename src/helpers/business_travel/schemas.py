"""Business-travel codes and contracts: distance methods, data-quality levels, flags and reject reasons with
their zh-TW/English labels, and the schemas of the processed claims, rides and long_trips tables (units in names)."""

from __future__ import annotations

import pandas as pd

from helpers import reference
from helpers.schemas import Column, Schema


# ----------------------------------------------------------------------------------------------- constants

SUBDIR = "business_travel"  # <processed_year_dir>/business_travel/
OUTPUT_FILES = ("claims.parquet", "rides.parquet", "long_trips.parquet", "rejects.parquet", "rejects.csv",
                "report.json")

FAMILIES = ("taxi", "mrt", "bus")
EXCLUDE = "exclude"  # mapping value for modes outside category 6 (agency-owned vehicles: scope 1/2)

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


def zh(labels: dict[str, tuple[str, str]]) -> dict[str, str]:
    """code -> zh-TW label of a label table."""
    return {code: pair[0] for code, pair in labels.items()}


def legend(labels: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """A label table as rows for readers: 說明 (zh-TW, as the tables show it) and its English gloss; no codes."""
    return pd.DataFrame([(z, e) for z, e in labels.values()], columns=["說明", "English"])

PILOT_YEAR = 2025
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
        Column("claim_id", "string", expect="<year>-<data row, 5 digits> (first data row = 00001)"),
        Column("year", "int64"),
        Column("source_row", "int64", expect="the export's row as a spreadsheet shows it (header = row 1)",
               check=lambda s: s >= 2),
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
        Column("source_row", "int64", expect="the export's row as a spreadsheet shows it (header = row 1)",
               check=lambda s: s >= 2),
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
