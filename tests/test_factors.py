"""Tests for helpers.inventory.factors: the 2024 factor set reproduces the study's published factors from their inputs."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from helpers import config, reference
from helpers.inventory import factors

# The study's factor table (docs/METHOD.md), kgCO2e per passenger-km, written out by hand.
PUBLISHED_2024 = {
    "car_petrol": 0.103,
    "car_electric": 0.041,
    "taxi_petrol": 0.147,
    "taxi_electric": 0.056,
    "motorcycle_petrol": 0.072,
    "motorcycle_electric": 0.015,
    "mrt_taipei": 0.024,
    "mrt_new_taipei": 0.095,
    "mrt_taoyuan_airport": 0.047,
    "mrt_taichung": 0.049,
    "mrt_kaohsiung": 0.040,
    "bus_city_diesel": 0.069,
    "coach_diesel": 0.060,
    "bus_city_electric": 0.031,
    "thsr": 0.019,
    "tra": 0.028,
    "car_hybrid": 0.050,
    "bike_public": 0.0,
    "bike_private": 0.0,
    "walk": 0.0,
}
ELECTRICITY_BASED = {
    "thsr", "tra", "mrt_taipei", "mrt_new_taipei", "mrt_taoyuan_airport", "mrt_taichung", "mrt_kaohsiung",
    "bus_city_electric", "coach_electric", "car_electric", "motorcycle_electric", "taxi_electric",
}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def reference_copy(tmp_path: Path) -> Path:
    """A copy of the reference folder (modes.yaml and factors/2024.yaml) to edit."""
    (tmp_path / "factors").mkdir()
    shutil.copy(config.REFERENCE / "modes.yaml", tmp_path / "modes.yaml")
    shutil.copy(config.REFERENCE / "factors" / "2024.yaml", tmp_path / "factors" / "2024.yaml")
    return tmp_path


def _edit_yaml(path: Path, edit) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_every_published_factor_is_reproduced_from_its_inputs():
    derived = factors.factors_by_mode(2024)
    for mode_id, published in PUBLISHED_2024.items():
        assert derived[mode_id] == pytest.approx(published, abs=1e-12), mode_id
    table = factors.factor_table(2024).set_index("mode_id")
    checked = table["published_kgco2e_per_pkm"].dropna()
    assert set(checked.index) == set(PUBLISHED_2024)
    assert (checked == table.loc[checked.index, "factor_kgco2e_per_pkm"]).all()


def test_every_mode_of_the_catalogue_has_a_factor_and_inputs_as_columns():
    table = factors.factor_table(2024)
    assert list(table["mode_id"]) == list(reference.modes()["mode_id"])
    assert table["factor_kgco2e_per_pkm"].notna().all()
    for column in ("method", "is_proxy", "factor_set_year", "grid_factor_kgco2e_per_kwh", "fuel_factor_kgco2e_per_l",
                   "efficiency_km_per_l", "efficiency_km_per_kwh", "occupancy_persons", "energy_kwh", "pkm", "source"):
        assert column in table.columns
    row = table.set_index("mode_id").loc["mrt_kaohsiung"]
    assert (row["energy_kwh"], row["pkm"], row["grid_factor_kgco2e_per_kwh"]) == (42_520_800, 492_911_651, 0.474)
    assert row["energy_intensity_kwh_per_pkm"] == 0.084  # the printed intensity is the input the study multiplies
    assert row["inputs_intensity_kwh_per_pkm"] == pytest.approx(42_520_800 / 492_911_651)  # 0.0863: shown beside it


def test_proxy_is_flagged():
    table = factors.factor_table(2024).set_index("mode_id")
    coach = table.loc["coach_electric"]
    assert bool(coach["is_proxy"]) and coach["method"] == "proxy" and coach["proxy_of"] == "bus_city_electric"
    assert pd.isna(coach["published_kgco2e_per_pkm"])
    assert coach["factor_kgco2e_per_pkm"] == table.loc["bus_city_electric", "factor_kgco2e_per_pkm"]
    assert "PROXY" in coach["note"]
    assert table["is_proxy"].sum() == 1


def test_derived_printed_used_and_why_for_the_two_discrepancies():
    table = factors.factor_table(2024).set_index("mode_id")
    kaohsiung, bus = table.loc["mrt_kaohsiung"], table.loc["bus_city_diesel"]
    # Kaohsiung: inputs give 0.0863 kWh/pkm -> 0.086 x 0.474 -> 0.041; the study multiplies its printed 0.084 -> 0.040
    assert (kaohsiung["derived_kgco2e_per_pkm"], kaohsiung["published_kgco2e_per_pkm"],
            kaohsiung["factor_kgco2e_per_pkm"]) == (0.041, 0.040, 0.040)
    assert "0.084" in kaohsiung["why"] and "0.0863" in kaohsiung["why"] and kaohsiung["value"] == "derived"
    # diesel city bus: the printed partial inputs give 0.068; the printed 0.069 is used, the difference stated
    assert (bus["derived_kgco2e_per_pkm"], bus["published_kgco2e_per_pkm"], bus["factor_kgco2e_per_pkm"]) == (
        0.068, 0.069, 0.069)
    assert bus["value"] == "printed" and "0.068" in bus["why"] and "0.069" in bus["why"]
    agree = table.drop(index=["mrt_kaohsiung", "bus_city_diesel"])
    assert (agree["derived_kgco2e_per_pkm"] == agree["factor_kgco2e_per_pkm"]).all()
    assert table["why"].str.len().gt(0).all()


def test_no_per_mode_rounding_override(reference_copy: Path):
    path = reference_copy / "factors" / "2024.yaml"
    _edit_yaml(path, lambda d: d["modes"]["mrt_kaohsiung"].update(rounding={"rule": "down", "note": "tuned"}))
    with pytest.raises(ValueError, match=r"mode 'mrt_kaohsiung': per-mode 'rounding' is not supported"):
        factors.factor_table(2024, reference_copy)


def test_printed_value_needs_the_printed_factor(reference_copy: Path):
    path = reference_copy / "factors" / "2024.yaml"
    _edit_yaml(path, lambda d: d["modes"]["bus_city_diesel"].update(published_kgco2e_per_pkm=None))
    with pytest.raises(ValueError, match=r"mode 'bus_city_diesel': `value: printed` needs the printed factor"):
        factors.factor_table(2024, reference_copy)


def _half_up(value, decimals: int = 3) -> float:
    from decimal import ROUND_HALF_UP, Decimal
    return float(Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP))


@pytest.mark.parametrize("grid", ["0.494", "0.495", "0.5", "0.45", "0.515"])
def test_a_new_grid_factor_moves_every_electricity_factor_as_the_printed_derivation_says(reference_copy, grid):
    """A set that differs from 2024 only in the grid factor (and has no printed factors for it yet)."""
    from decimal import Decimal as D

    def edit(data):
        data["shared"]["grid_electricity"]["value"] = float(grid)
        for mode_id in ELECTRICITY_BASED:
            data["modes"][mode_id]["published_kgco2e_per_pkm"] = None
    path = reference_copy / "factors" / "2026.yaml"
    shutil.copy(reference_copy / "factors" / "2024.yaml", path)
    _edit_yaml(path, edit)
    got = factors.factors_by_mode(2026, reference_copy)
    g = D(grid)
    printed_intensity = {"mrt_taipei": "0.050", "mrt_new_taipei": "0.200", "mrt_taoyuan_airport": "0.099",
                         "mrt_taichung": "0.104", "mrt_kaohsiung": "0.084", "thsr": "0.041"}
    expected = {m: _half_up(D(i) * g) for m, i in printed_intensity.items()}  # e.g. Kaohsiung round(0.084 x g)
    expected |= {
        "car_electric": _half_up(g / (D("5.94") * D("1.93"))),
        "taxi_electric": _half_up(g / (D("5.89") * D("1.44"))),
        "motorcycle_electric": _half_up(g / (D("25.11") * D("1.27"))),
        "bus_city_electric": _half_up(g / (D("0.85") * D("17.91"))),
        "coach_electric": _half_up(g / (D("0.85") * D("17.91"))),  # proxy of the electric city bus
        "tra": _half_up((D(623_319_370) * g + D(8_092) * 1000 * D("2.960")) * D("0.944") / D(10_791_380_719)),
    }
    assert {m: got[m] for m in expected} == expected
    unchanged = {m: v for m, v in PUBLISHED_2024.items() if m not in ELECTRICITY_BASED}
    assert {m: got[m] for m in unchanged} == unchanged  # petrol, diesel (bus 0.069 as printed), hybrid, zero


def test_changing_the_grid_factor_moves_every_electricity_factor_and_nothing_else(reference_copy: Path):
    before = factors.factors_by_mode(2024, reference_copy)
    src = (reference_copy / "factors" / "2024.yaml").read_text(encoding="utf-8")
    text, n = re.subn(r"(grid_electricity:\n    value: )0\.474", r"\g<1>0.495", src)
    assert n == 1
    text = re.sub(r"published_kgco2e_per_pkm: \S+\n(?!    value: printed)", "published_kgco2e_per_pkm: null\n", text)
    (reference_copy / "factors" / "2025.yaml").write_text(text, encoding="utf-8")  # printed values kept only there

    after = factors.factors_by_mode(2025, reference_copy)
    changed = {m for m in before if after[m] != before[m]}
    assert changed == ELECTRICITY_BASED
    assert all(after[m] > before[m] for m in changed)
    table = factors.factor_table(2025, reference_copy)
    assert set(table["factor_set_year"]) == {2025}
    electric = table["grid_factor_kgco2e_per_kwh"].notna()
    assert set(table.loc[electric, "mode_id"]) == ELECTRICITY_BASED
    assert (table.loc[electric, "grid_factor_kgco2e_per_kwh"] == 0.495).all()


def test_stale_published_value_in_a_copied_year_is_an_error(reference_copy: Path):
    path = reference_copy / "factors" / "2024.yaml"
    _edit_yaml(path, lambda d: d["shared"]["grid_electricity"].update(value=0.495))
    with pytest.raises(ValueError, match=r"2024\.yaml: mode '\w+': derived factor .* differs from published"):
        factors.factor_table(2024, reference_copy)


def test_missing_input_error_names_file_mode_and_input(reference_copy: Path):
    path = reference_copy / "factors" / "2024.yaml"
    _edit_yaml(path, lambda d: d["modes"]["car_petrol"].pop("occupancy_persons"))
    with pytest.raises(ValueError, match=r"2024\.yaml: mode 'car_petrol': input 'occupancy_persons' is missing"):
        factors.factor_table(2024, reference_copy)


def test_input_without_source_or_unknown_shared_name_is_an_error(reference_copy: Path):
    path = reference_copy / "factors" / "2024.yaml"
    _edit_yaml(path, lambda d: d["modes"]["thsr"]["energy_kwh"].pop("source"))
    with pytest.raises(ValueError, match=r"2024\.yaml: mode 'thsr', input 'energy_kwh': lacks \['source'\]"):
        factors.factor_table(2024, reference_copy)
    shutil.copy(config.REFERENCE / "factors" / "2024.yaml", path)
    _edit_yaml(path, lambda d: d["modes"]["tra"].update(grid_factor_kgco2e_per_kwh="grid_2099"))
    with pytest.raises(ValueError, match=r"mode 'tra', input 'grid_factor_kgco2e_per_kwh': names shared input 'grid_2099'"):
        factors.factor_table(2024, reference_copy)


def test_mode_without_entry_is_an_error(reference_copy: Path):
    path = reference_copy / "factors" / "2024.yaml"
    _edit_yaml(path, lambda d: d["modes"].pop("walk"))
    with pytest.raises(ValueError, match=r"2024\.yaml: no factor entry for mode\(s\) \['walk'\]"):
        factors.factor_table(2024, reference_copy)


def test_factor_set_year_uses_latest_earlier_set(reference_copy: Path):
    assert 2024 in factors.available_years()
    assert factors.factor_set_year(2025) == 2024
    assert factors.factor_set_year(2024) == 2024
    assert set(factors.factor_table(2025)["factor_set_year"]) == {2024}
    with pytest.raises(ValueError, match=r"no emission-factor set for 2023 or an earlier year"):
        factors.factor_set_year(2023)
    shutil.copy(reference_copy / "factors" / "2024.yaml", reference_copy / "factors" / "2026.yaml")
    (reference_copy / "factors" / "notes.yaml").write_text("not a factor set\n", encoding="utf-8")
    assert factors.available_years(reference_copy) == [2024, 2026]
    assert factors.factor_set_year(2025, reference_copy) == 2024
    assert factors.factor_set_year(2030, reference_copy) == 2026


def test_write_csv_starts_with_mode_and_factor():
    buffer = io.StringIO()
    factors.write_csv(2024, buffer)
    table = pd.read_csv(io.StringIO(buffer.getvalue()))
    assert list(table.columns[:2]) == ["mode", "factor_kgco2e_per_pkm"]
    assert dict(zip(table["mode"], table["factor_kgco2e_per_pkm"]))["mrt_kaohsiung"] == 0.04


def test_cli_prints_factor_csv_for_roc_year():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "helpers", "factors", "--year", "114"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns[:2]) == ["mode", "factor_kgco2e_per_pkm"]
    for column in ("method", "is_proxy", "factor_set_year", "grid_factor_kgco2e_per_kwh", "energy_kwh", "pkm",
                   "occupancy_persons", "source"):
        assert column in table.columns
    assert len(table) == 21 and set(table["factor_set_year"]) == {2024}
    derived = dict(zip(table["mode"], table["factor_kgco2e_per_pkm"]))
    assert {m: derived[m] for m in PUBLISHED_2024} == pytest.approx(PUBLISHED_2024)
    assert table.loc[table["mode"] == "tra", "energy_kwh"].item() == 623_319_370
