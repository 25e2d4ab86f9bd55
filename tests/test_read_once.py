"""Ingestion reads each raw file once, hashes each employee number once and normalises text without changing it:
the speed-ups of the full annual run, checked for the results a user relies on."""

from __future__ import annotations

import hashlib
import hmac
import random
import shutil
import threading
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from helpers import privacy
from helpers.rejects import Rejects
from helpers.survey import ingest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "raw" / "sample"
KEY = b"read-once-test-key"


def _slow_clean(values: pd.Series) -> pd.Series:
    """clean_text as it was written before the ASCII fast path: NFKC of every distinct text."""
    text = values.astype("string").map(lambda v: unicodedata.normalize("NFKC", privacy.strip_invisible(v)),
                                       na_action="ignore").str.strip()
    return text.mask(text == "")


def test_text_normalisation_equals_nfkc_of_every_text():
    rng = random.Random(7)
    pieces = list("abcXYZ 012-.\x00\t") + ["ＡＢ", "１２", "\u200b", "行政室", "\ufeff", "\u00ad", "ﬁ", "①", "\u3000",
                                          "é", "e\u0301", "\u202e", "公里", "Ｅ", "\u2060"]
    texts = [None, "", " ", "\x00", "\u200b", "\x00E001\x00"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 9))) for _ in range(5000)]
    values = pd.Series(texts, dtype="string", index=range(3, 3 + len(texts)), name="col")
    pd.testing.assert_series_equal(ingest.clean_text(values), _slow_clean(values))
    pd.testing.assert_series_equal(ingest.clean_text(values.astype(object)), _slow_clean(values))
    numbers = privacy.normalise_employee_no(pd.Series(["ｅ００１", " e001 ", "E\u200b001", "10037.0", None, "\x00"]))
    assert numbers.tolist()[:4] == ["E001", "E001", "E001", "10037"] and numbers.isna().tolist()[4:] == [True, True]


def test_pseudonyms_are_the_keyed_hmac_and_keys_never_mix():
    ids = pd.Series(["E001", "ｅ００１", None, "E002"])
    expected = hmac.new(KEY, b"E001", hashlib.sha256).hexdigest()[:privacy.PSEUDONYM_HEX]
    with privacy.remembering_pseudonyms():
        first = privacy.pseudonymise(ids, KEY)
        other = privacy.pseudonymise(ids, b"another key")
        again = privacy.pseudonymise(ids, KEY)
    assert first.tolist()[:2] == [expected, expected] and pd.isna(first[2])
    assert again.tolist()[:2] == first.tolist()[:2] and again[3] == first[3]
    assert set(other.dropna()).isdisjoint(first.dropna())
    assert privacy.pseudonymise(ids, KEY).tolist()[:2] == [expected, expected]  # outside the block: the same
    assert getattr(privacy._pseudonyms, "tables", None) is None  # nothing kept after the block


def test_a_workbook_is_parsed_once_and_handed_out_as_copies(tmp_path, monkeypatch):
    book = tmp_path / "roster.xlsx"
    shutil.copy(SAMPLE / "2025" / "roster.xlsx", book)
    parses = []
    real = pd.read_excel
    monkeypatch.setattr(pd, "read_excel", lambda *a, **k: parses.append(1) or real(*a, **k))
    sheet = ingest.load_mapping(2025)["roster"]["sheet"]
    with ingest.read_once():
        first, sheets = ingest.read_sheet(book, sheet)
        first.iloc[0, 0] = "changed by a caller"
        first.columns = ["x"] * len(first.columns)
        second, _ = ingest.read_sheet(book, sheet)
        missing, _ = ingest.read_sheet(book, "no such sheet")
    assert len(parses) == 1 and missing is None and sheet in sheets
    assert second.iloc[0, 0] != "changed by a caller" and "x" not in second.columns
    ingest.read_sheet(book, sheet)  # outside the block: read again, nothing kept
    assert len(parses) == 2 and getattr(ingest._reads, "memo", None) is None


def test_a_file_changed_inside_the_block_is_read_again(tmp_path):
    export = tmp_path / "survey.csv"
    export.write_text("a,b\n1,2\n", encoding="utf-8")
    with ingest.read_once():
        before, _ = ingest.read_export(export)
        export.write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
        after, _ = ingest.read_export(export)
    assert len(before) == 1 and len(after) == 2


def test_threads_do_not_share_a_memo(tmp_path):
    export = tmp_path / "survey.csv"
    export.write_text("a,b\n1,2\n", encoding="utf-8")
    seen = {}

    def other_thread():
        seen["memo"] = getattr(ingest._reads, "memo", None)

    with ingest.read_once():
        ingest.read_export(export)
        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen["memo"] is None


def test_ingesting_the_sample_reads_the_roster_once_and_gives_the_published_figures(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    shutil.copytree(SAMPLE, raw)
    calls = []
    real = pd.read_excel
    monkeypatch.setattr(pd, "read_excel", lambda *a, **k: calls.append(1) or real(*a, **k))
    processed = tmp_path / "processed"
    ingest.ingest_year(2024, raw, processed, key=KEY)
    calls.clear()
    report = ingest.ingest_year(2025, raw, processed, key=KEY)
    # 2025's roster.xlsx is the attendance file, the staff list and a source of the masker's identifiers: one parse
    assert len(calls) == 1
    assert report["routes"] == {"A": 105, "B": 8, "C": 18, "D": 4}
    assert report["accepted"] == 131


def test_a_damaged_workbook_is_named_also_when_read_once(tmp_path):
    mapping = ingest.load_mapping(2025)
    book = tmp_path / mapping["attendance"]["file"]
    book.write_bytes(b"PK\x03\x04 not really a workbook")
    with ingest.read_once(), pytest.raises(ingest.IngestError, match="cannot be read as an xlsx workbook") as error:
        ingest.read_attendance(book, mapping, KEY, Rejects())
    assert str(book) in str(error.value)
