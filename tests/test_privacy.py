"""Personal data: keyed pseudonyms, the key file, small-cell suppression, retention and the purge with its log."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from helpers import cli, config, privacy
from helpers.survey import ingest

KEY = b"privacy-test-key"
SAMPLE_RAW = config.RAW / "sample"


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, KEY.decode())


# ------------------------------------------------------------------ pseudonyms
def test_pseudonym_is_keyed_hmac_and_normalised():
    values = pd.Series(["T10037", "t10037 ", "Ｔ１００３７", None, ""])
    ids = privacy.pseudonymise(values, KEY)
    assert ids.iloc[0] == ids.iloc[1] == ids.iloc[2]
    assert ids.iloc[3:].isna().all()
    assert len(ids.iloc[0]) == privacy.PSEUDONYM_HEX and int(ids.iloc[0], 16) >= 0
    assert ids.iloc[0] == hmac.new(KEY, b"T10037", hashlib.sha256).hexdigest()[:16]
    assert privacy.pseudonymise(values, b"another key").iloc[0] != ids.iloc[0]
    # an employee number Excel stored as a number
    as_number, as_text = privacy.pseudonymise(pd.Series(["10037.0", "10037"]), KEY)
    assert as_number == as_text


def test_pseudonyms_stable_across_years(tmp_path: Path):
    processed = tmp_path / "processed"
    for year in (2024, 2025):
        ingest.ingest_year(year, SAMPLE_RAW, processed, key=KEY)
    r24 = pd.read_parquet(processed / "2024" / "respondents.parquet")
    r25 = pd.read_parquet(processed / "2025" / "respondents.parquet")
    returning = r25.loc[r25["route"].isin(["A", "B", "D"]), "respondent_id"]
    assert len(returning) == 105 + 8 + 4
    assert returning.isin(r24["respondent_id"]).all()  # same person, same pseudonym, one year later
    assert not r25.loc[r25["route"] == "C", "respondent_id"].isin(r24["respondent_id"]).any()
    # another key: other pseudonyms for the same people
    other = tmp_path / "other"
    ingest.ingest_year(2024, SAMPLE_RAW, other, key=b"another key")
    assert not pd.read_parquet(other / "2024" / "respondents.parquet")["respondent_id"].isin(r24["respondent_id"]).any()


def test_key_from_environment_creates_no_file(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(tmp_path / "never.key"))
    assert privacy.load_key() == KEY
    assert not (tmp_path / "never.key").exists()


def test_key_file_created_on_first_use(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.delenv(privacy.KEY_ENV)
    path = tmp_path / "secrets" / "pseudonym.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(path))
    key = privacy.load_key()
    assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
    message = capsys.readouterr().err
    assert "created a new pseudonymisation key" in message and str(path) in message and "mode 600" in message
    assert len(key) == 64
    assert privacy.load_key() == key  # the second use reads it, silently
    assert capsys.readouterr().err == ""


def test_key_file_empty_or_missing(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV)
    path = tmp_path / "pseudonym.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(path))
    with pytest.raises(FileNotFoundError, match=privacy.KEY_ENV):
        privacy.load_key(create=False)
    path.write_text("\n")
    with pytest.raises(ValueError, match="empty"):
        privacy.load_key()


def test_default_key_file_is_outside_the_repository():
    assert not privacy.DEFAULT_KEY_FILE.resolve().is_relative_to(config.ROOT.resolve())


# ------------------------------------------------------------------ small-cell suppression
def test_suppress_series():
    counts = pd.Series({"秘書室": 2, "人事室": 0, "運輸計畫組": 14, "主計室": 3, "未填": None})
    shown = privacy.suppress_small(counts)
    assert shown.to_dict() == {"秘書室": "<3", "人事室": "<3", "運輸計畫組": "14", "主計室": "3", "未填": ""}
    assert privacy.suppress_small(counts, k=5)["主計室"] == "<5"
    assert privacy.suppress_small(pd.Series([1234]), k=3).iloc[0] == "1,234"


def test_suppress_frame_with_derived_cells():
    table = pd.DataFrame({"department": ["秘書室", "運輸計畫組", "運輸工程組"], "persons": [2, 14, 5],
                          "share": [2 / 21, 14 / 21, 5 / 21], "emission_kgco2e": [410.5, 5200.0, 1800.25]})
    shown = privacy.suppress_small(table, k=3, count_cols=["persons"], formats={"share": "{:.1%}"})
    assert shown["persons"].tolist() == ["<3", "14", "5"]
    assert shown["share"].tolist() == [privacy.SUPPRESSED_DERIVED, "66.7%", "23.8%"]
    assert shown["emission_kgco2e"].tolist() == [privacy.SUPPRESSED_DERIVED, 5200.0, 1800.25]
    assert shown["department"].tolist() == ["秘書室", "運輸計畫組", "運輸工程組"]  # labels untouched
    assert table["persons"].tolist() == [2, 14, 5]  # the input is not modified


def test_suppress_crosstab_every_numeric_cell():
    cross = pd.DataFrame({"car_petrol": [5, 1], "walk": [0, 7]}, index=["秘書室", "人事室"])
    shown = privacy.suppress_small(cross, k=3)
    assert shown.values.tolist() == [["5", "<3"], ["<3", "7"]]


def test_suppress_small_errors():
    with pytest.raises(ValueError, match="at least 1"):
        privacy.suppress_small(pd.Series([1]), k=0)
    with pytest.raises(KeyError, match="nope"):
        privacy.suppress_small(pd.DataFrame({"n": [1]}), count_cols=["nope"])
    assert "<3" in privacy.suppression_note(3)


# ------------------------------------------------------------------ retention and purge
def test_retention_terms_of_the_sample():
    r24 = privacy.retention("sample", 2024)
    r25 = privacy.retention("sample", 2025)
    on = dt.date(2026, 11, 22)
    assert r24["retain_until"] < on < r25["retain_until"]
    assert r24["retain_until"] == privacy.add_years(r24["project_end"], 1)
    assert r24["log_retention_years"] >= 1
    assert privacy.add_years(dt.date(2024, 2, 29), 1) == dt.date(2025, 2, 28)
    with pytest.raises(ValueError, match="no retention terms for dataset 'nosuch'"):
        privacy.retention("nosuch", 2024)
    with pytest.raises(ValueError, match="no project_end for 2019"):
        privacy.retention("sample", 2019)


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """data/ with a copy of the sample, ingested, and a business-travel output in each year folder."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLE_RAW, data / "raw" / "sample")
    processed = data / "processed" / "sample"
    for year in (2024, 2025):
        ingest.ingest_year(year, data / "raw" / "sample", processed, key=KEY)
        (processed / str(year) / "business_travel").mkdir()
        (processed / str(year) / "business_travel" / "claims.parquet").write_bytes(b"claims of the year")
    return data


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): privacy.file_sha256(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def _purge(data: Path, year: str, *extra: str) -> int:
    """`python -m helpers purge` on `data`; `--today D` here sets the date the purge sees (not a CLI option)."""
    args, today = list(extra), dt.date.today()
    if "--today" in args:
        at = args.index("--today")
        today = dt.date.fromisoformat(args[at + 1])
        del args[at:at + 2]
    original = privacy.current_date
    privacy.current_date = lambda: today
    try:
        return cli.main(["purge", "--dataset", "sample", "--year", year, "--data-dir", str(data), *args])
    finally:
        privacy.current_date = original


def test_purge_dry_run_deletes_nothing(data_copy: Path, capsys):
    before = _files(data_copy)
    assert _purge(data_copy, "2024", "--dry-run", "--today", "2026-11-22") == 0
    out = capsys.readouterr().out
    assert "would delete raw/sample/2024/survey.csv" in out
    assert "would delete processed/sample/2024/business_travel/claims.parquet" in out
    assert "would delete processed/sample/carryover/2024/legs.parquet" in out
    assert "/2025/" not in out
    assert _files(data_copy) == before  # the route-D record of the ingest is the only log line


def test_purge_refused_before_retention_date(data_copy: Path, capsys):
    before = _files(data_copy)
    assert _purge(data_copy, "2025", "--today", "2026-11-22") == 2
    err = capsys.readouterr().err
    assert "kept until 2026-12-31" in err and "purge refused" in err and "retention.yaml" in err
    assert _purge(data_copy, "2024", "--today", "2025-12-31") == 2  # on the date itself: still kept
    assert _purge(data_copy, "2025", "--dry-run", "--today", "2026-11-22") == 2
    assert _files(data_copy) == before


def test_purge_deletes_and_logs_hashes(data_copy: Path, capsys):
    before = _files(data_copy)
    log = privacy.destruction_log(data_copy, "sample")
    assert log == data_copy / "destruction_log" / "sample.jsonl"
    route_d = log.read_text(encoding="utf-8").splitlines()
    assert len(route_d) == 1 and "route D in the 2025 survey" in route_d[0]  # route-D deletions: same log
    assert _purge(data_copy, "113", "--today", "2026-11-22") == 0  # ROC year accepted
    for gone in ("raw/sample/2024", "processed/sample/2024", "processed/sample/carryover/2024"):
        assert not (data_copy / gone).exists(), gone
    after = _files(data_copy)
    kept = {k: v for k, v in before.items() if "/2024/" not in k}
    assert {k: v for k, v in after.items() if not k.startswith("destruction_log/")} == \
        {k: v for k, v in kept.items() if not k.startswith("destruction_log/")}  # 2025 untouched
    records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 2 and records[0] == json.loads(route_d[0])  # appended, nothing rewritten
    record = records[1]
    deleted = {k: v for k, v in before.items() if "/2024/" in k}
    assert {f["path"]: f["sha256"] for f in record["files"]} == deleted  # hashes of what was deleted
    assert record["dataset"] == "sample" and record["year"] == 2024 and record["by"]
    when = dt.datetime.fromisoformat(record["when"])
    assert record["record_kept_until"] == privacy.add_years(when.date(), 1).isoformat()
    assert "2025-12-31" in record["reason"]
    assert "destruction record appended" in capsys.readouterr().out
    # again: nothing left, nothing recorded
    assert _purge(data_copy, "2024", "--today", "2026-11-22") == 0
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2


def test_destruction_log_survives_purge_and_clean(data_copy: Path):
    assert _purge(data_copy, "2024", "--today", "2026-11-22") == 0
    log = privacy.destruction_log(data_copy, "sample")
    content = log.read_bytes()
    # what `make clean` does: everything under data/processed goes
    for child in (data_copy / "processed").iterdir():
        shutil.rmtree(child)
    assert log.read_bytes() == content
    assert not log.is_relative_to(data_copy / "processed") and not log.is_relative_to(data_copy / "raw")


def test_destruction_log_location_for_processed_folders(tmp_path: Path):
    assert privacy.destruction_log_for(tmp_path / "data" / "processed" / "sample") == \
        tmp_path / "data" / "destruction_log" / "sample.jsonl"
    # a processed folder outside data/processed: the log goes beside it, never inside
    assert privacy.destruction_log_for(tmp_path / "run" / "out") == tmp_path / "run" / "destruction_log" / "out.jsonl"


def test_purge_uses_the_data_folders_retention_file(data_copy: Path):
    (data_copy / "reference").mkdir()
    (data_copy / "reference" / "retention.yaml").write_text(
        "retain_years_after_project_end: 1\nlog_retention_years: 2\n"
        "datasets:\n  sample:\n    years:\n      2025: {project_end: 2025-01-31}\n", encoding="utf-8")
    assert privacy.retention("sample", 2025, data_copy)["retain_until"] == dt.date(2026, 1, 31)
    assert _purge(data_copy, "2025", "--today", "2026-11-22") == 0
    assert not (data_copy / "raw" / "sample" / "2025").exists()
    record = json.loads(privacy.destruction_log(data_copy, "sample").read_text(encoding="utf-8").splitlines()[-1])
    assert record["year"] == 2025


def test_purge_unknown_dataset(data_copy: Path, capsys):
    assert cli.main(["purge", "--dataset", "nosuch", "--year", "2024", "--data-dir", str(data_copy)]) == 2
    assert "no retention terms for dataset 'nosuch'" in capsys.readouterr().err


def test_purge_has_no_date_override(data_copy: Path, capsys):
    """Before the retention date nobody can purge by claiming another date on the command line."""
    with pytest.raises(SystemExit) as stop:
        cli.main(["purge", "--dataset", "sample", "--year", "2025", "--data-dir", str(data_copy),
                  "--today", "2099-01-01"])
    assert stop.value.code == 2 and "unrecognized arguments: --today" in capsys.readouterr().err
    assert (data_copy / "raw" / "sample" / "2025").exists()
