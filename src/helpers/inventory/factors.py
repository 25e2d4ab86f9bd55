"""Emission factors by year (kgCO2e per passenger-km), re-derived from their published inputs.

Load: data/reference/factors/<year>.yaml (one file per factor-set year) and the mode catalogue.
Process: derive each mode's factor the way the study's printed derivation does, in exact decimal arithmetic, with
the file's one rounding policy (no per-mode rounding rules); check it against the printed (published) value.
Where the study printed an intermediate (a metro's kWh/pkm to 3 decimals), the printed value is the input and the
figure its own inputs give is shown beside it; where the study printed a factor its printed inputs do not give
(diesel city bus), the mode says `value: printed` and the difference is stated. Each row carries the factor
derived from the inputs, the printed one, the one used and why (`why`, zh-TW, for the reports).
Save: `write_csv` (`python -m helpers factors --year 2024`).
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

# Inputs each method needs, as alternative variants (the first variant whose inputs are all given is used):
# fuel_per_vehicle_km is per litre or per kWh; energy_per_pkm multiplies the printed intensity (kWh/pkm) by the
# grid factor, its energy and pkm inputs documenting it, or, without a printed intensity, energy / pkm rounded.
METHOD_INPUTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "fuel_per_vehicle_km": (
        ("fuel_factor_kgco2e_per_l", "efficiency_km_per_l", "occupancy_persons"),
        ("grid_factor_kgco2e_per_kwh", "efficiency_km_per_kwh", "occupancy_persons"),
    ),
    "energy_per_pkm": (
        ("grid_factor_kgco2e_per_kwh", "energy_intensity_kwh_per_pkm", "energy_kwh", "pkm"),
        ("grid_factor_kgco2e_per_kwh", "energy_kwh", "pkm"),
        ("grid_factor_kgco2e_per_kwh", "energy_intensity_kwh_per_pkm"),
    ),
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
    "energy_intensity_kwh_per_pkm",
    "energy_kwh",
    "diesel_kl",
    "passenger_share",
    "pkm",
    "fuel_l_per_pkm",
    "fixed_kgco2e_per_pkm",
)
MODE_KEYS = {"method", "published_kgco2e_per_pkm", "value", "proxy_of", "note", "source"}
VALUES = ("derived", "printed")  # a mode's `value`: derived from its inputs (default), or the printed factor
LITRES_PER_KL = 1000
COLUMNS = (
    "mode_id",
    "factor_kgco2e_per_pkm",  # used
    "derived_kgco2e_per_pkm",  # from the inputs alone (intensities from energy / pkm)
    "published_kgco2e_per_pkm",  # printed in the study for this set
    "why",
    "value",
    "method",
    "is_proxy",
    "proxy_of",
    "factor_set_year",
    "unrounded_kgco2e_per_pkm",
    "inputs_intensity_kwh_per_pkm",
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


def _derive(method: str, x: dict[str, Decimal], intensity: Decimal | None) -> Decimal:
    """Unrounded factor (kgCO2e/pkm) of a method from its inputs; energy_per_pkm multiplies `intensity` (kWh/pkm)."""
    if method == "fuel_per_vehicle_km":
        carrier = x.get("fuel_factor_kgco2e_per_l", x.get("grid_factor_kgco2e_per_kwh"))
        efficiency = x.get("efficiency_km_per_l", x.get("efficiency_km_per_kwh"))
        return carrier / (efficiency * x["occupancy_persons"])
    if method == "energy_per_pkm":
        return intensity * x["grid_factor_kgco2e_per_kwh"]
    if method == "fuel_per_pkm":
        return x["fuel_l_per_pkm"] * x["fuel_factor_kgco2e_per_l"]
    if method == "mixed_rail":
        electric = x["energy_kwh"] * x["grid_factor_kgco2e_per_kwh"]
        diesel = x["diesel_kl"] * LITRES_PER_KL * x["fuel_factor_kgco2e_per_l"]
        return (electric + diesel) * x["passenger_share"] / x["pkm"]
    if method == "fixed":
        return x["fixed_kgco2e_per_pkm"]
    return Decimal(0)  # zero


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


def _fmt(value: Decimal, decimals: int | None = None) -> str:
    """A decimal for the reports ('0.474', '42,520,800'; with `decimals`, '0.050'): thousands separators."""
    return f"{value:,.{decimals}f}" if decimals is not None else f"{value.normalize():,f}"


def _mode_row(mode_id: str, spec: dict, shared: dict, policy: tuple[int, str, int], where: str) -> dict:
    """Derive one (non-proxy) mode: its row of the factor table, with Decimal factor values."""
    decimals, rule, intensity_decimals = policy
    method = spec.get("method")
    if method not in METHOD_INPUTS:
        raise ValueError(f"{where}: method {method!r} unknown; expected one of {sorted(METHOD_INPUTS)}")
    if "rounding" in spec:
        raise ValueError(
            f"{where}: per-mode 'rounding' is not supported: factors follow the study's printed derivation with the "
            "file's one rounding policy. Give a printed intermediate as an input (energy_intensity_kwh_per_pkm), or "
            "use the printed factor with `value: printed` and a note that states the difference")
    value_from = spec.get("value", "derived")
    if value_from not in VALUES:
        raise ValueError(f"{where}: value {value_from!r} unknown; expected one of {list(VALUES)}")
    variants = METHOD_INPUTS[method]
    names = next((v for v in variants if all(spec.get(n) is not None for n in v)),
                 max(variants, key=lambda v: sum(spec.get(n) is not None for n in v)))
    allowed = {n for v in variants for n in v}
    unknown = sorted(set(spec) - MODE_KEYS - allowed)
    if unknown:
        raise ValueError(f"{where}: key(s) {unknown} not used by method '{method}' (it takes {list(names)})")
    inputs = {name: _input(spec, name, shared, where) for name in names}
    values = {name: value for name, (value, _) in inputs.items()}

    inputs_intensity = values["energy_kwh"] / values["pkm"] if "energy_kwh" in values and method == "energy_per_pkm" \
        else None
    printed_intensity = values.get("energy_intensity_kwh_per_pkm")
    rounded_intensity = _quantize(inputs_intensity, intensity_decimals, rule) if inputs_intensity is not None else None
    used_intensity = printed_intensity if printed_intensity is not None else rounded_intensity
    unrounded = _derive(method, values, used_intensity)
    from_inputs = _derive(method, values, rounded_intensity if rounded_intensity is not None else used_intensity)
    derived = _quantize(from_inputs, decimals, rule)

    notes = [str(spec["note"]).strip()] if spec.get("note") else []
    why = []
    if printed_intensity is not None:
        grid = _fmt(values["grid_factor_kgco2e_per_kwh"])
        printed_text = _fmt(printed_intensity, intensity_decimals)
        why.append(f"依研究刊印之能源密集度 {printed_text} kWh/延人公里 × 電力係數 {grid}")
        if rounded_intensity is not None and rounded_intensity != printed_intensity:
            ratio = f"{_fmt(values['energy_kwh'])} kWh ÷ {_fmt(values['pkm'])} 延人公里"
            why.append(f"刊印輸入值 {ratio} = {inputs_intensity:.4f}，與刊印之 {printed_text} 不符；"
                       "研究以刊印值相乘，本表從之")
            notes.append(f"printed intensity {printed_text} kWh/pkm; its printed inputs give {inputs_intensity:.4f} "
                         f"({_fmt(values['energy_kwh'])} / {_fmt(values['pkm'])}); the factor follows the printed "
                         "intensity, as the study's does")
    if value_from == "printed":
        published = spec.get("published_kgco2e_per_pkm")
        if published is None:
            raise ValueError(
                f"{where}: `value: printed` needs the printed factor in published_kgco2e_per_pkm, which is null; "
                "in a new year's copy give the printed factor, or derive it (`value: derived`) from inputs that "
                "give it")
        if not spec.get("note"):
            raise ValueError(f"{where}: `value: printed` needs a `note` saying why the printed factor is used")
        factor = _number(published, f"{where}, published_kgco2e_per_pkm")
        why.append(f"採研究刊印值 {_fmt(factor)}；刊印之輸入值推得 {_fmt(derived)}（{from_inputs:.6g}），"
                   "研究使用未刊印之較精確輸入，差異於此註明")
    else:
        factor = _quantize(unrounded, decimals, rule)
    sources = [str(spec["source"]).strip()] if spec.get("source") else []
    sources += [f"{name}: {source}" for name, (_, source) in inputs.items()]
    return {
        "mode_id": mode_id,
        "factor": factor,
        "derived": derived,
        "unrounded": unrounded,
        "value": value_from,
        "method": method,
        "is_proxy": False,
        "proxy_of": None,
        "inputs_intensity": inputs_intensity,
        "inputs": values,
        "why": why,
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
                "why": [f"研究未公布此運具係數，以{reference.mode_names('zh').get(target, target)}之係數代用（proxy）"],
                "note": f"PROXY: factor of {target}, no published factor for this mode. {note}".strip(),
            }

    records = []
    for mode_id in catalogue:
        row = rows[mode_id]
        published = specs[mode_id].get("published_kgco2e_per_pkm")
        printed = _number(published, f"{path}: mode '{mode_id}', published_kgco2e_per_pkm") \
            if published is not None else None
        if printed is not None and printed != row["factor"]:
            raise ValueError(
                f"{path}: mode '{mode_id}': derived factor {row['factor']} kgCO2e/pkm (method {row['method']}, "
                f"unrounded {row['unrounded']:.6g}) differs from published_kgco2e_per_pkm {published}; check the "
                "inputs, or, if this file is a new year's copy, update or remove the published value")
        why = list(row["why"])
        if row["method"] in ("fixed", "zero"):
            why.insert(0, "研究推估值，未刊印可推導之輸入" if row["method"] == "fixed" else "無營運排放（零排放）")
        elif not why:
            why.append("由輸入值推導，與研究刊印值相符" if printed is not None else "由輸入值推導（本係數組無刊印值）")
        elif printed is not None and row["value"] == "derived":
            why.append("與研究刊印值相符")
        records.append({
            "mode_id": mode_id,
            "factor_kgco2e_per_pkm": float(row["factor"]),
            "derived_kgco2e_per_pkm": float(row["derived"]),
            "published_kgco2e_per_pkm": float(printed) if printed is not None else None,
            "why": "；".join(why),
            "value": row["value"],
            "method": row["method"],
            "is_proxy": row["is_proxy"],
            "proxy_of": row["proxy_of"],
            "factor_set_year": set_year,
            "unrounded_kgco2e_per_pkm": float(row["unrounded"]),
            "inputs_intensity_kwh_per_pkm": (
                float(row["inputs_intensity"]) if row["inputs_intensity"] is not None else None
            ),
            **{name: float(row["inputs"][name]) if name in row["inputs"] else None for name in INPUT_COLUMNS},
            "source": row["source"],
            "note": row["note"],
        })
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    numeric = ["factor_kgco2e_per_pkm", "derived_kgco2e_per_pkm", "unrounded_kgco2e_per_pkm",
               "inputs_intensity_kwh_per_pkm", *INPUT_COLUMNS]
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
