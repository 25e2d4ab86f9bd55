"""Emission factors by year (kgCO2e per passenger-km), re-derived from their published inputs.

Load: data/reference/factors/<year>.yaml (one file per factor-set year) and the mode catalogue.
Process: derive each mode's factor with its method, in exact decimal arithmetic, round it per the file's policy
and check it against the published value. Save: `write_csv` (`python -m helpers factors --year 2024`).
"""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from pathlib import Path
from typing import TextIO

import pandas as pd

from helpers import config, reference

FACTORS_SUBDIR = "factors"
FILE_PATTERN = re.compile(r"^(\d{4})\.yaml$")

ROUNDING_RULES = {"half_up": ROUND_HALF_UP, "down": ROUND_DOWN, "up": ROUND_UP}

# Inputs each method needs; fuel_per_vehicle_km takes either a fuel (per litre) or an electric (per kWh) variant.
METHOD_INPUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "fuel_per_vehicle_km": (
        ("fuel_factor_kgco2e_per_l", "efficiency_km_per_l", "occupancy_persons"),
        ("grid_factor_kgco2e_per_kwh", "efficiency_km_per_kwh", "occupancy_persons"),
    ),
    "energy_per_pkm": (("grid_factor_kgco2e_per_kwh", "energy_kwh", "pkm"),),
    "fuel_per_pkm": (("fuel_factor_kgco2e_per_l", "fuel_l_per_pkm"),),
    "mixed_rail": (
        ("grid_factor_kgco2e_per_kwh", "energy_kwh", "fuel_factor_kgco2e_per_l", "diesel_kl", "passenger_share", "pkm"),
    ),
    "fixed": (("fixed_kgco2e_per_pkm",),),
    "zero": ((),),
    "proxy": ((),),
}
INPUT_COLUMNS = (
    "grid_factor_kgco2e_per_kwh",
    "fuel_factor_kgco2e_per_l",
    "efficiency_km_per_l",
    "efficiency_km_per_kwh",
    "occupancy_persons",
    "energy_kwh",
    "diesel_kl",
    "passenger_share",
    "pkm",
    "fuel_l_per_pkm",
    "fixed_kgco2e_per_pkm",
)
MODE_KEYS = {"method", "published_kgco2e_per_pkm", "rounding", "proxy_of", "note", "source"}
LITRES_PER_KL = 1000
COLUMNS = (
    "mode_id",
    "factor_kgco2e_per_pkm",
    "published_kgco2e_per_pkm",
    "method",
    "is_proxy",
    "proxy_of",
    "factor_set_year",
    "rounding_rule",
    "unrounded_kgco2e_per_pkm",
    "energy_intensity_kwh_per_pkm",
    *INPUT_COLUMNS,
    "source",
    "note",
)


def _reference_dir(reference_dir: Path | str | None) -> Path:
    return Path(reference_dir) if reference_dir is not None else config.REFERENCE


def available_years(reference_dir: Path | str | None = None) -> list[int]:
    """Factor-set years with a file factors/<year>.yaml, ascending (Gregorian)."""
    folder = _reference_dir(reference_dir) / FACTORS_SUBDIR
    if not folder.is_dir():
        return []
    return sorted(int(m.group(1)) for p in folder.iterdir() if (m := FILE_PATTERN.match(p.name)))


def factor_set_year(year: int, reference_dir: Path | str | None = None) -> int:
    """Factor set for an inventory year (Gregorian): that year's file, else the latest earlier one."""
    years = available_years(reference_dir)
    usable = [y for y in years if y <= int(year)]
    if not usable:
        folder = _reference_dir(reference_dir) / FACTORS_SUBDIR
        raise ValueError(
            f"{folder}: no emission-factor set for {year} or an earlier year (available: {years or 'none'}); "
            f"add {FACTORS_SUBDIR}/{year}.yaml"
        )
    return max(usable)


def _quantize(value: Decimal, decimals: int, rule: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-int(decimals)), ROUNDING_RULES[rule])


def _number(raw: object, where: str) -> Decimal:
    """A YAML number as the decimal it was written as (0.474 -> Decimal('0.474'))."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueError(f"{where}: value {raw!r} is not a number")
    return Decimal(str(raw))


def _input(spec: dict, name: str, shared: dict, where: str) -> tuple[Decimal, str]:
    """One input's value and source; a string names an entry of `shared`."""
    if name not in spec or spec[name] is None:
        raise ValueError(f"{where}: input '{name}' is missing (needed by method '{spec.get('method')}')")
    entry = spec[name]
    label = f"{where}, input '{name}'"
    if isinstance(entry, str):
        if entry not in shared:
            raise ValueError(f"{label}: names shared input '{entry}', which is not defined; shared: {sorted(shared)}")
        label = f"{label} (shared.{entry})"
        entry = shared[entry]
    if not isinstance(entry, dict):
        raise ValueError(f"{label}: expected {{value, unit, source}} or the name of a shared input, got {entry!r}")
    missing = [k for k in ("value", "unit", "source") if entry.get(k) in (None, "")]
    if missing:
        raise ValueError(f"{label}: lacks {missing}; every input needs value, unit and source")
    value = _number(entry["value"], label)
    if value <= 0:
        raise ValueError(f"{label}: value {entry['value']!r} must be positive")
    if name == "passenger_share" and value > 1:
        raise ValueError(f"{label}: value {entry['value']!r} is a share, expected at most 1")
    return value, str(entry["source"]).strip()


def _derive(method: str, x: dict[str, Decimal], intensity_decimals: int, rule: str) -> tuple[Decimal, Decimal | None]:
    """Unrounded factor (kgCO2e/pkm) and, for energy_per_pkm, the rounded energy intensity (kWh/pkm)."""
    if method == "fuel_per_vehicle_km":
        carrier = x.get("fuel_factor_kgco2e_per_l", x.get("grid_factor_kgco2e_per_kwh"))
        efficiency = x.get("efficiency_km_per_l", x.get("efficiency_km_per_kwh"))
        return carrier / (efficiency * x["occupancy_persons"]), None
    if method == "energy_per_pkm":
        intensity = _quantize(x["energy_kwh"] / x["pkm"], intensity_decimals, rule)
        return intensity * x["grid_factor_kgco2e_per_kwh"], intensity
    if method == "fuel_per_pkm":
        return x["fuel_l_per_pkm"] * x["fuel_factor_kgco2e_per_l"], None
    if method == "mixed_rail":
        electric = x["energy_kwh"] * x["grid_factor_kgco2e_per_kwh"]
        diesel = x["diesel_kl"] * LITRES_PER_KL * x["fuel_factor_kgco2e_per_l"]
        return (electric + diesel) * x["passenger_share"] / x["pkm"], None
    if method == "fixed":
        return x["fixed_kgco2e_per_pkm"], None
    return Decimal(0), None  # zero


def _rounding(policy: dict, path: Path) -> tuple[int, str, int]:
    try:
        decimals, rule = int(policy["decimals"]), str(policy["rule"])
        intensity_decimals = int(policy["energy_intensity_decimals"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"{path}: 'rounding' must give decimals, rule and energy_intensity_decimals; got {policy!r}"
        ) from None
    if rule not in ROUNDING_RULES:
        raise ValueError(f"{path}: rounding rule {rule!r} unknown; expected one of {sorted(ROUNDING_RULES)}")
    return decimals, rule, intensity_decimals


def _mode_row(mode_id: str, spec: dict, shared: dict, policy: tuple[int, str, int], where: str) -> dict:
    """Derive one (non-proxy) mode: its row of the factor table, with Decimal factor values."""
    decimals, rule, intensity_decimals = policy
    method = spec.get("method")
    if method not in METHOD_INPUTS:
        raise ValueError(f"{where}: method {method!r} unknown; expected one of {sorted(METHOD_INPUTS)}")
    variants = METHOD_INPUTS[method]
    names = next((v for v in variants if v and v[0] in spec), variants[0])
    unknown = sorted(set(spec) - MODE_KEYS - set(names))
    if unknown:
        raise ValueError(f"{where}: key(s) {unknown} not used by method '{method}' (it takes {list(names)})")
    inputs = {name: _input(spec, name, shared, where) for name in names}
    values = {name: value for name, (value, _) in inputs.items()}

    override = spec.get("rounding")
    mode_rule = rule
    if override is not None:
        if not isinstance(override, dict) or override.get("rule") not in ROUNDING_RULES or not override.get("note"):
            raise ValueError(
                f"{where}: 'rounding' override must be {{rule: one of {sorted(ROUNDING_RULES)}, note: why}}; "
                f"got {override!r}"
            )
        mode_rule = override["rule"]

    unrounded, intensity = _derive(method, values, intensity_decimals, rule)
    notes = [str(spec["note"]).strip()] if spec.get("note") else []
    if override is not None:
        notes.append(f"rounding {mode_rule}: {str(override['note']).strip()}")
    sources = [str(spec["source"]).strip()] if spec.get("source") else []
    sources += [f"{name}: {source}" for name, (_, source) in inputs.items()]
    return {
        "mode_id": mode_id,
        "factor": _quantize(unrounded, decimals, mode_rule),
        "unrounded": unrounded,
        "method": method,
        "is_proxy": False,
        "proxy_of": None,
        "rounding_rule": mode_rule,
        "energy_intensity_kwh_per_pkm": intensity,
        "inputs": values,
        "source": " | ".join(sources),
        "note": " ".join(notes),
    }


def factor_table(year: int, reference_dir: Path | str | None = None) -> pd.DataFrame:
    """Emission factor per mode (kgCO2e/pkm) for an inventory year, with method, inputs and published value."""
    set_year = factor_set_year(year, reference_dir)
    root = _reference_dir(reference_dir)
    path = root / FACTORS_SUBDIR / f"{set_year}.yaml"
    data = reference.load_yaml(path)
    policy = _rounding(data.get("rounding") or {}, path)
    shared = data.get("shared") or {}
    specs = data.get("modes") or {}
    if not isinstance(specs, dict):
        raise ValueError(f"{path}: 'modes' must map mode id -> its factor entry")
    catalogue = list(reference.modes(root / "modes.yaml")["mode_id"])
    missing = [m for m in catalogue if m not in specs]
    if missing:
        raise ValueError(f"{path}: no factor entry for mode(s) {missing} of modes.yaml; every mode needs one")
    unknown = [m for m in specs if m not in catalogue]
    if unknown:
        raise ValueError(f"{path}: mode(s) {unknown} are not in modes.yaml; expected ids from {catalogue}")

    rows: dict[str, dict] = {}
    for mode_id in catalogue:
        spec = specs[mode_id]
        where = f"{path}: mode '{mode_id}'"
        if not isinstance(spec, dict):
            raise ValueError(f"{where}: expected a mapping with a method, got {spec!r}")
        if spec.get("method") != "proxy":
            rows[mode_id] = _mode_row(mode_id, spec, shared, policy, where)
    for mode_id in catalogue:
        spec = specs[mode_id]
        if spec.get("method") == "proxy":
            where = f"{path}: mode '{mode_id}'"
            target = spec.get("proxy_of")
            if target not in rows:
                raise ValueError(
                    f"{where}: proxy_of {target!r} must name a mode of this file that is derived, not a proxy"
                )
            unknown_keys = sorted(set(spec) - MODE_KEYS)
            if unknown_keys:
                raise ValueError(f"{where}: key(s) {unknown_keys} not used by method 'proxy' (it takes proxy_of)")
            note = str(spec.get("note") or "").strip()
            rows[mode_id] = {
                **rows[target],
                "mode_id": mode_id,
                "method": "proxy",
                "is_proxy": True,
                "proxy_of": target,
                "source": f"proxy of {target} | {rows[target]['source']}",
                "note": f"PROXY: factor of {target}, no published factor for this mode. {note}".strip(),
            }

    records = []
    for mode_id in catalogue:
        row = rows[mode_id]
        published = specs[mode_id].get("published_kgco2e_per_pkm")
        if published is not None:
            where = f"{path}: mode '{mode_id}'"
            if _number(published, f"{where}, published_kgco2e_per_pkm") != row["factor"]:
                raise ValueError(
                    f"{where}: derived factor {row['factor']} kgCO2e/pkm (method {row['method']}, unrounded "
                    f"{row['unrounded']:.6g}, rounding {row['rounding_rule']}) differs from "
                    f"published_kgco2e_per_pkm {published}; check the inputs, or, if this file is a new year's "
                    f"copy, update or remove the published value"
                )
        records.append({
            "mode_id": mode_id,
            "factor_kgco2e_per_pkm": float(row["factor"]),
            "published_kgco2e_per_pkm": float(published) if published is not None else None,
            "method": row["method"],
            "is_proxy": row["is_proxy"],
            "proxy_of": row["proxy_of"],
            "factor_set_year": set_year,
            "rounding_rule": row["rounding_rule"],
            "unrounded_kgco2e_per_pkm": float(row["unrounded"]),
            "energy_intensity_kwh_per_pkm": (
                float(row["energy_intensity_kwh_per_pkm"]) if row["energy_intensity_kwh_per_pkm"] is not None else None
            ),
            **{name: float(row["inputs"][name]) if name in row["inputs"] else None for name in INPUT_COLUMNS},
            "source": row["source"],
            "note": row["note"],
        })
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    numeric = ["factor_kgco2e_per_pkm", "unrounded_kgco2e_per_pkm", "energy_intensity_kwh_per_pkm", *INPUT_COLUMNS]
    return table.astype(
        {**{c: "float64" for c in numeric}, "published_kgco2e_per_pkm": "Float64", "is_proxy": "bool",
         "factor_set_year": "int64"}
    )


def factors_by_mode(year: int, reference_dir: Path | str | None = None) -> dict[str, float]:
    """Mapping mode_id -> emission factor, kgCO2e per passenger-km, for an inventory year."""
    table = factor_table(year, reference_dir)
    return dict(zip(table["mode_id"], table["factor_kgco2e_per_pkm"]))


def write_csv(year: int, stream: TextIO, reference_dir: Path | str | None = None) -> None:
    """Write the factor table of a year as CSV: mode, factor_kgco2e_per_pkm, then method, inputs and sources."""
    table = factor_table(year, reference_dir).rename(columns={"mode_id": "mode"})
    table.to_csv(stream, index=False, float_format="%.15g", lineterminator="\n")
