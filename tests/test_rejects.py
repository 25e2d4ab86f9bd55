"""The one reject collector (helpers.rejects): one record layout, one wording, one order for every input file."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers import reference
from helpers.rejects import Rejects, combine, rows_rejected, save
from helpers.schemas import REJECTS, SchemaError


def test_records_name_file_row_column_value_with_the_zh_label_and_detail():
    rej = Rejects()
    rej.add("claims.csv", pd.Series([5, 3]), "金額", pd.Series(["abc", "-1"]), "bad_amount", "應為數字")
    rej.add("claims.csv", [3], None, None, "blank_row")
    rej.add("survey.csv", [2], "員工編號", "", "no_employee_no")
    rej.add("claims.csv", [], "金額", None, "bad_amount")  # nothing to record
    out = rej.frame()
    assert list(out.columns) == REJECTS.names
    # one order: file, row, whole-row records before cell records, then detection order
    assert out[["file", "row", "column"]].astype(object).fillna("").values.tolist() == [
        ["claims.csv", 3, ""], ["claims.csv", 3, "金額"], ["claims.csv", 5, "金額"], ["survey.csv", 2, "員工編號"]]
    labels = reference.labels("reject_reason")
    assert out["reason"].tolist() == [labels[c] for c in out["reason_code"]]
    assert out.loc[out["row"] == 5, "value"].item() == "abc"
    assert out["value"].isna().tolist() == [True, False, False, True]  # no value and an empty cell: blank, not ""
    assert out["detail"].tolist()[1:3] == ["應為數字", "應為數字"] and pd.isna(out["detail"].iloc[0])


def test_every_code_needs_a_label():
    with pytest.raises(KeyError, match="labels.yaml"):
        Rejects().add("x.csv", [2], None, None, "no_such_reason")


def test_rows_are_spreadsheet_rows_so_the_header_row_cannot_be_a_reject():
    rej = Rejects()
    rej.add("x.csv", [1], None, None, "blank_row")
    with pytest.raises(SchemaError, match="row"):
        rej.frame()


def test_combine_count_and_save(tmp_path):
    a, b = Rejects(), Rejects()
    a.add("b.csv", [4, 4], ["甲", "乙"], ["1", "2"], "bad_amount")
    b.add("a.csv", [2], None, None, "superseded", "以第 3 列為準")
    out = combine([a.frame(), b.frame(), REJECTS.empty()])
    assert out["file"].tolist() == ["a.csv", "b.csv", "b.csv"]
    assert rows_rejected(out) == 2 and rows_rejected(out, "b.csv") == 1
    assert rows_rejected(out, exclude=("superseded",)) == 1
    save(out, tmp_path)
    csv = pd.read_csv(tmp_path / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(csv.columns) == REJECTS.names and csv["row"].tolist() == ["2", "4", "4"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "rejects.parquet"), out)


def test_a_rejects_table_of_an_earlier_version_says_to_ingest_the_year_again(tmp_path):
    from helpers.schemas import read_table

    old = REJECTS.empty().drop(columns="detail")  # written before rejects had a detail column
    old.to_parquet(tmp_path / "rejects.parquet")
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['detail'\].*earlier version.*helpers run --year"):
        read_table(REJECTS, tmp_path / "rejects.parquet")
