"""Free-text coding and attitude counts."""

import pandas as pd

from helpers import attitudes


def _answers(rows):
    return pd.DataFrame(rows, columns=["respondent_id", "question", "code", "free_text"]).astype("string")


def test_child_transport_free_text_is_coded():
    coded = attitudes.code_free_text(_answers([
        ("a", "barrier", None, "要載小孩"), ("b", "barrier", None, "接送學童上下學"),
        ("c", "barrier", None, "還要接小孩"), ("d", "barrier", None, "天氣太熱")]))
    assert coded["code"].tolist()[:3] == ["child_transport"] * 3
    assert coded["coded_from"].tolist() == ["free_text"] * 3 + ["none"]
    assert attitudes.uncoded_texts(coded, "barrier") == ["天氣太熱"]


def test_persons_count_once_per_code_and_filter_by_group():
    coded = attitudes.code_free_text(_answers([
        ("a", "barrier", "flexible", None), ("a", "barrier", None, "開車比較彈性"),
        ("b", "barrier", "flexible", None), ("c", "barrier", "flexible", None)]))
    counts = attitudes.persons_by_code(coded, "barrier", who=pd.Series(["a", "b"]))
    assert counts.to_dict() == {"flexible": 2}


def test_themes_count_persons_not_answers():
    coded = attitudes.code_free_text(_answers([
        ("a", "barrier", "wait_long", None), ("a", "barrier", "timetable", None),
        ("b", "barrier", "station_far", None)]))
    themes = attitudes.themes(coded, pd.Series(["a", "b"])).set_index("theme")["persons"]
    assert themes.to_dict() == {"reliance_private": 0, "time_cost": 1, "distance_infrastructure": 1}
