"""Report number formats and the base-year comparison table."""

import pandas as pd

from helpers.publish import tables


def test_number_formats_follow_the_study():
    assert tables.fmt_kg(44950.431) == "44,950.43"
    assert tables.fmt_pct(58 / 187) == "31.02%"
    assert tables.fmt_pp(0.3102 - 0.3125) == "-0.23"
    assert tables.fmt_kg(float("nan")) == "—"


def test_share_comparison_has_both_years_the_difference_and_a_total():
    now = pd.DataFrame({"count": [58, 43, 86]}, index=["public", "non_motorised", "private"])
    now["share"] = now["count"] / now["count"].sum()
    base = pd.DataFrame({"count": [60, 43, 89]}, index=["public", "non_motorised", "private"])
    base["share"] = base["count"] / base["count"].sum()
    out = tables.share_comparison(now, base, 2025, 2024, {"public": "大眾運輸"}, "類別")
    assert list(out.columns) == ["類別", "2025（民國114年） 數量", "2025（民國114年） 比例",
                                 "2024（民國113年） 數量", "2024（民國113年） 比例", "差異（百分點）"]
    assert out.iloc[0].tolist() == ["大眾運輸", "58", "31.02%", "60", "31.25%", "-0.23"]
    assert out.iloc[-1].tolist()[:3] == ["合計 Total", "187", "100.00%"]


def test_walking_rule_note_only_when_rules_differ_and_names_the_years():
    assert tables.walk_rule_note("all_walks", "all_walks", 2025, 2024) is None
    assert tables.walk_rule_note("all_walks", None, 2025, None) is None
    note = tables.walk_rule_note("all_walks", "walks_from_500m", 2025, 2024)
    assert "2024 年問卷未要求填寫 500 公尺以下的步行段；2025 年問卷記錄所有步行段" in note
    assert "本年" not in note  # "this year" twice was the contradiction
    assert tables.walk_rule_text("walks_from_500m", 2024) == "2024 年問卷未要求填寫 500 公尺以下的步行段。"
