"""Free-text coding and attitude counts."""

import pandas as pd

from helpers.survey import attitudes


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


def test_every_reason_of_a_free_text_is_coded_and_each_person_counts_once_per_code():
    coded = attitudes.code_free_text(_answers([
        ("a", "barrier", None, "要接送小孩上學, 公車班次太少"),
        ("b", "barrier", "timetable", None), ("b", "barrier", None, "末班車太早，還要接小孩"),
        ("c", "barrier", None, "天氣太熱")]))
    by_person = coded.groupby("respondent_id")["code"].agg(lambda c: sorted(c.dropna())).to_dict()
    assert by_person == {"a": ["child_transport", "timetable"], "b": ["child_transport", "timetable", "timetable"],
                         "c": []}
    assert set(coded.loc[coded["respondent_id"] == "a", "free_text"]) == {"要接送小孩上學, 公車班次太少"}
    counts = attitudes.persons_by_code(coded, "barrier")
    assert counts.to_dict() == {"child_transport": 2, "timetable": 2}
    themes = attitudes.themes(coded, pd.Series(["a", "b", "c"])).set_index("theme")["persons"]
    assert themes.to_dict() == {"reliance_private": 2, "time_cost": 2, "distance_infrastructure": 0}
    assert attitudes.uncoded_texts(coded, "barrier") == ["天氣太熱"]
