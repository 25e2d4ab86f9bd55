"""Chart house style: a CJK font when one is installed, one clear warning when none is, labelled charts."""

import warnings

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from helpers.publish import plots  # noqa: E402


def test_missing_cjk_font_warns_once_with_the_install_hint(monkeypatch):
    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    monkeypatch.setattr(plots, "_warned", False)
    with pytest.warns(plots.MissingCJKFontWarning, match="fonts-noto-cjk"):
        assert plots.setup() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        plots.setup()  # a second call stays quiet


def test_installed_cjk_font_is_used(monkeypatch):
    monkeypatch.setattr(plots, "cjk_font", lambda: "Noto Sans CJK TC")
    assert plots.setup() == "Noto Sans CJK TC"
    assert matplotlib.rcParams["font.sans-serif"][0] == "Noto Sans CJK TC"


def test_charts_need_a_title_and_unit_labelled_axes():
    frame = pd.DataFrame({"mode": ["汽油汽車", "步行"], "kg": [10.0, 0.0], "group": ["private", "non_motorised"]})
    with pytest.raises(ValueError, match="title"):
        plots.bar_chart(frame, "mode", "kg", title="", xlabel="運具", ylabel="排放量 (kgCO2e)")
    fig = plots.bar_chart(frame, "mode", "kg", group="group", title="排放", xlabel="運具", ylabel="排放量 (kgCO2e)")
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_ylabel()) == ("排放", "排放量 (kgCO2e)")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["私人機動運具 Private motorised",
                                                                  "非機動運具 Non-motorised"]


def test_binned_bars_refuse_values_outside_the_bins():
    with pytest.raises(ValueError, match="outside the bins"):
        plots.binned_bars([1.0, 50.0], [0, 5, 30], title="距離", xlabel="單程距離 (公里)", ylabel="人數 (人)")
