"""The workbench's per-year cache (<processed>/<year>/.derived/): it gives exactly what a fresh computation gives,
and anything it was computed from changing (a processed file, a reference file, the code) rebuilds it; a damaged
entry is rebuilt, a read-only folder is computed without error, two processes may open at once, and a purge of
the year deletes it with the year."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

import helpers
from helpers import cli, config, privacy, schemas, workbench, workbench_cache
from helpers.synthetic import bench

READ, WRITTEN, NOT_WRITABLE = workbench_cache.STATUS


@pytest.fixture
def processed(pipeline_run, tmp_path) -> Path:
    """A copy of the sample run's processed folder (2024, 2025 and the roll-forward year 2026), without caches."""
    copy = tmp_path / "processed"
    shutil.copytree(pipeline_run.processed_dir, copy, ignore=shutil.ignore_patterns(workbench_cache.CACHE_DIR))
    return copy


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """Five generated years of a staff of 3,000 (not the sample): leavers, joiners, routes A-D."""
    folder = tmp_path_factory.mktemp("generated") / "processed"
    bench.workbench_years(3000, folder)
    return folder


def _entries(folder: Path, year: int) -> list[str]:
    cache = folder / str(year) / workbench_cache.CACHE_DIR
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def assert_same(cached: workbench.Workbench, fresh: workbench.Workbench) -> None:
    """Every table and every breakdown of two workbenches identical: values, dtypes, categories, order."""
    assert cached.years == fresh.years
    pd.testing.assert_frame_equal(cached.persons(), fresh.persons(), check_exact=True)
    pd.testing.assert_frame_equal(cached.legs(), fresh.legs(), check_exact=True)
    a, b = fresh.years[0], fresh.years[1]
    for by in workbench.BREAKDOWNS:
        pd.testing.assert_frame_equal(cached.compare(a, b, by=by, raw=True), fresh.compare(a, b, by=by, raw=True),
                                      check_exact=True)
    for measure in workbench.MEASURES:
        pd.testing.assert_frame_equal(cached.view(a, b, measure=measure, by="department").table,
                                      fresh.view(a, b, measure=measure, by="department").table)
    pd.testing.assert_frame_equal(cached.transitions(a, b, by="mode", raw=True),
                                  fresh.transitions(a, b, by="mode", raw=True))


@pytest.mark.parametrize("dataset", ["sample", "generated"])
def test_cached_tables_are_exactly_the_computed_ones(dataset, request):
    folder = request.getfixturevalue("processed" if dataset == "sample" else "generated")
    fresh = helpers.open(folder, cache=False)
    assert set(fresh.cache_status.values()) == {"computed"} and not any(_entries(folder, y) for y in fresh.years)
    first = helpers.open(folder)
    assert set(first.cache_status.values()) == {WRITTEN}
    again = helpers.open(folder)
    assert set(again.cache_status.values()) == {READ}
    assert_same(first, fresh)
    assert_same(again, fresh)
    # decompose needs the year's full results: computed on use, the same as the reports'
    a, b = fresh.years[0], fresh.years[1]
    pd.testing.assert_frame_equal(again.decompose(a, b, raw=True), fresh.decompose(a, b, raw=True))
    for y in again.years:  # one entry per year: the tables and the JSON that vouches for them
        assert len(_entries(folder, y)) == 3


def test_a_changed_processed_file_rebuilds_even_with_the_old_size_and_time(processed):
    helpers.open(processed)
    path = processed / "2025" / "respondents.parquet"
    stat = path.stat()
    frame = schemas.read_table(schemas.RESPONDENTS, path)
    who = frame.index[frame["in_inventory"]][0]
    frame.loc[who, "attendance_days"] -= 1
    schemas.write_table(frame, schemas.RESPONDENTS, path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime: the key is the content
    rebuilt = helpers.open(processed)
    assert rebuilt.cache_status == {2024: READ, 2025: WRITTEN, 2026: WRITTEN}  # 2026 rolls forward from 2025
    fresh = helpers.open(processed, cache=False)
    assert_same(rebuilt, fresh)
    changed = fresh.persons(2025).set_index("respondent_id").loc[frame.loc[who, "respondent_id"], "attendance_days"]
    assert changed == frame.loc[who, "attendance_days"]
    assert len(_entries(processed, 2025)) == 3  # the stale entry is gone


def test_a_rolled_forward_year_follows_its_census_year(processed):
    assert json.loads((processed / "2026" / "ingest_report.json").read_text())["census_year"] == 2025
    fresh = helpers.open(processed, cache=False)
    helpers.open(processed)
    path = processed / "2025" / "legs.parquet"
    legs = schemas.read_table(schemas.LEGS, path)
    rolled = fresh.legs(2026)  # a leg of 2026 carried from the 2025 census, with an emission factor
    rolled = rolled[(rolled["route"] == "R") & (rolled["factor_kgco2e_per_pkm"] > 0)].iloc[0]
    row = legs.index[(legs["respondent_id"] == rolled["respondent_id"]) & (legs["pattern_no"] == rolled["pattern_no"])
                     & (legs["leg_no"] == rolled["leg_no"])]
    legs.loc[row, "distance_km"] += 1.0
    schemas.write_table(legs, schemas.LEGS, path)
    rebuilt = helpers.open(processed)
    assert rebuilt.cache_status == {2024: READ, 2025: WRITTEN, 2026: WRITTEN}
    assert rebuilt.totals(2026)["annual_total_kgco2e"] != fresh.totals(2026)["annual_total_kgco2e"]
    assert_same(rebuilt, helpers.open(processed, cache=False))
    # a change to a year nobody rolls forward from leaves the others alone
    path = processed / "2024" / "legs.parquet"
    legs = schemas.read_table(schemas.LEGS, path)
    legs.loc[0, "distance_km"] += 1.0
    schemas.write_table(legs, schemas.LEGS, path)
    assert helpers.open(processed).cache_status == {2024: WRITTEN, 2025: READ, 2026: READ}


def test_a_changed_reference_file_rebuilds(processed, tmp_path, monkeypatch):
    reference = tmp_path / "reference"
    shutil.copytree(config.REFERENCE, reference)
    monkeypatch.setattr(config, "REFERENCE", reference)
    helpers.open(processed)
    assert set(helpers.open(processed).cache_status.values()) == {READ}
    factor_file = reference / "factors" / "2024.yaml"
    factor_file.write_text(factor_file.read_text(encoding="utf-8") + "# revised\n", encoding="utf-8")
    assert set(helpers.open(processed).cache_status.values()) == {WRITTEN}


def test_a_changed_code_version_rebuilds(processed, monkeypatch):
    helpers.open(processed, years=[2025])
    monkeypatch.setattr(workbench_cache, "code_version", lambda: "a later version of helpers")
    assert helpers.open(processed, years=[2025]).cache_status == {2025: WRITTEN}
    assert helpers.open(processed, years=[2025]).cache_status == {2025: READ}
    assert len(_entries(processed, 2025)) == 3


def test_each_main_mode_rule_has_its_own_entry(processed):
    helpers.open(processed, years=[2025])
    other = helpers.open(processed, years=[2025], main_mode_rule="public_first")
    assert other.cache_status == {2025: WRITTEN} and len(_entries(processed, 2025)) == 6
    assert_same_years = helpers.open(processed, years=[2025], main_mode_rule="public_first", cache=False)
    pd.testing.assert_frame_equal(other.persons(), assert_same_years.persons(), check_exact=True)
    assert helpers.open(processed, years=[2025]).cache_status == {2025: READ}


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete_json", "garbage_json", "delete_table"])
def test_a_damaged_entry_is_rebuilt_without_error(processed, damage):
    fresh = helpers.open(processed, years=[2024, 2025], cache=False)
    helpers.open(processed, years=[2024, 2025])
    cache = processed / "2025" / workbench_cache.CACHE_DIR
    legs = next(cache.glob("*.legs.parquet"))
    if damage == "truncate":
        legs.write_bytes(legs.read_bytes()[: legs.stat().st_size // 2])
    elif damage == "flip":  # same size, one byte changed: caught by the recorded SHA-256
        data = bytearray(legs.read_bytes())
        data[len(data) // 2] ^= 0xFF
        legs.write_bytes(bytes(data))
    elif damage == "delete_json":
        next(cache.glob("*.json")).unlink()
    elif damage == "garbage_json":
        next(cache.glob("*.json")).write_text("{not json", encoding="utf-8")
    else:
        legs.unlink()
    rebuilt = helpers.open(processed, years=[2024, 2025])
    assert rebuilt.cache_status == {2024: READ, 2025: WRITTEN}
    assert_same(rebuilt, fresh)
    assert helpers.open(processed, years=[2024, 2025]).cache_status == {2024: READ, 2025: READ}


def test_a_read_only_folder_is_computed_without_error(processed, monkeypatch):
    fresh = helpers.open(processed, cache=False)
    for y in fresh.years:
        (processed / str(y)).chmod(0o500)
    try:
        if os.geteuid() == 0:  # root writes anyway: make writing fail as it does for any other user
            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied", kwargs.get("dir"))
            monkeypatch.setattr(tempfile, "mkstemp", refuse)
            monkeypatch.setattr(Path, "mkdir", lambda self, *a, **k: refuse(dir=str(self)))
        opened = helpers.open(processed)
    finally:
        for y in fresh.years:
            (processed / str(y)).chmod(0o700)
    assert set(opened.cache_status.values()) == {NOT_WRITABLE}
    assert not any(_entries(processed, y) for y in fresh.years)
    assert_same(opened, fresh)


def test_two_processes_opening_at_once_both_get_the_numbers(processed):
    script = ("import sys, helpers; wb = helpers.open(sys.argv[1]); "
              "print(round(float(wb.persons()['annual_kgco2e'].sum()), 6), len(wb.legs()))")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(config.ROOT / "src"),
                                                                    os.environ.get("PYTHONPATH", "")])))
    runs = [subprocess.Popen([sys.executable, "-c", script, str(processed)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outputs = [run.communicate(timeout=600) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    fresh = helpers.open(processed, cache=False)
    expected = f"{round(float(fresh.persons()['annual_kgco2e'].sum()), 6)} {len(fresh.legs())}"
    assert [out.strip() for out, _ in outputs] == [expected, expected]
    assert not [err for _, err in outputs if err.strip()]
    reopened = helpers.open(processed)
    assert set(reopened.cache_status.values()) == {READ}
    assert_same(reopened, fresh)
    for y in fresh.years:  # whole entries only, no temporary file left
        assert len(_entries(processed, y)) == 3


def test_the_cache_is_private_and_holds_no_personal_identifier(processed):
    helpers.open(processed)
    cache = processed / "2025" / workbench_cache.CACHE_DIR
    assert cache.stat().st_mode & 0o077 == 0
    for path in cache.iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
    persons = pd.read_parquet(next(cache.glob("*.persons.parquet")))
    legs = pd.read_parquet(next(cache.glob("*.legs.parquet")))
    assert persons["respondent_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert legs["respondent_id"].isin(set(persons["respondent_id"])).all()
    known = {"year", "respondent_id", "department", "route", "basis", "attendance_days", "one_way_km", "daily_km",
             "daily_kgco2e", "annual_kgco2e", "intensity_kgco2e_per_pkm", "distance_bin", "main_mode", "main_group",
             "pattern_no", "leg_no", "mode_id", "group", "distance_km", "factor_kgco2e_per_pkm", "pattern_share",
             "annual_pkm"}
    assert set(persons.columns) | set(legs.columns) <= known  # no employee number, e-mail or name column


def test_purging_a_year_deletes_its_cache_and_records_it(pipeline_run, tmp_path):
    data = tmp_path / "data"
    processed = data / "processed" / "sample"
    shutil.copytree(pipeline_run.processed_dir, processed, ignore=shutil.ignore_patterns(workbench_cache.CACHE_DIR))
    helpers.open(processed)
    cached = sorted((processed / "2024" / workbench_cache.CACHE_DIR).iterdir())
    assert len(cached) == 3
    original = privacy.current_date
    privacy.current_date = lambda: privacy.dt.date(2026, 11, 22)  # after 2024's retention date (retention.yaml)
    try:
        assert cli.main(["purge", "--dataset", "sample", "--year", "2024", "--data-dir", str(data)]) == 0
    finally:
        privacy.current_date = original
    assert not any(p.exists() for p in cached) and not (processed / "2024").exists()
    record = json.loads(privacy.destruction_log(data, "sample").read_text(encoding="utf-8").splitlines()[-1])
    assert {p.relative_to(data).as_posix() for p in cached} <= {f["path"] for f in record["files"]}
    assert _entries(processed, 2025)  # the other years keep theirs


def test_a_broken_processed_table_still_stops_the_open_naming_it(processed):
    helpers.open(processed)  # kept tables of every year
    path = processed / "2025" / "patterns.parquet"
    frame = pd.read_parquet(path).drop(columns=["days_per_week"])
    frame.to_parquet(path)
    # the kept tables no longer match the processed files: the year is read again, and its error comes through
    # (years are opened in threads)
    with pytest.raises(schemas.SchemaError, match=r"2025/patterns\.parquet.*lacks column\(s\) \['days_per_week'\]"):
        helpers.open(processed)


def test_a_year_replaced_while_it_was_computed_is_not_kept(processed, monkeypatch):
    compute = workbench.year_tables

    def computed_then_reingested(folder, year, rule):
        tables = compute(folder, year, rule)
        if year == 2025:  # a run swaps in a new 2025 meanwhile: what was computed may be of the old files
            report = folder / "2025" / "ingest_report.json"
            report.write_text(report.read_text(encoding="utf-8") + "\n", encoding="utf-8")
        return tables

    monkeypatch.setattr(workbench, "year_tables", computed_then_reingested)
    opened = helpers.open(processed, years=[2024, 2025])
    assert opened.cache_status == {2024: WRITTEN, 2025: "computed"} and not _entries(processed, 2025)
    monkeypatch.undo()
    assert helpers.open(processed, years=[2024, 2025]).cache_status == {2024: READ, 2025: WRITTEN}


def test_a_cache_folder_that_is_a_file_is_computed_without_error(processed):
    (processed / "2025" / workbench_cache.CACHE_DIR).write_text("not a folder", encoding="utf-8")
    opened = helpers.open(processed, years=[2025])
    assert opened.cache_status == {2025: NOT_WRITABLE}
    pd.testing.assert_frame_equal(opened.persons(), helpers.open(processed, years=[2025], cache=False).persons())


def test_a_manifest_lists_the_runs_tables_not_the_workbench_cache(processed, pipeline_run):
    from helpers.publish import manifest

    before = manifest.build_manifest(2025, pipeline_run.raw_dir, processed, {})["processed"]
    helpers.open(processed)  # a researcher's session writes <processed>/<year>/.derived/
    assert _entries(processed, 2025)
    after = manifest.build_manifest(2025, pipeline_run.raw_dir, processed, {})["processed"]
    assert after == before and not any(workbench_cache.CACHE_DIR in str(f) for f in after)
