"""House chart style for the reports: a CJK font, readable sizes, one colour per mode group, small bar charts.

Call `setup()` once at the top of a notebook. Every chart function draws a new pyplot figure and returns it;
in a notebook it is shown inline at the end of the cell (assign it, `fig = plots.bar_chart(...)`, or call
`plt.show()`: a bare `plots.bar_chart(...)` as the cell's last line would show it twice).
Every chart needs a title and axis labels with their unit, e.g. ylabel="排放量 (公噸CO2e)".
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import matplotlib
import pandas as pd
from matplotlib import cycler, font_manager
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import StrMethodFormatter

from helpers import reference

# First installed wins. Any Noto Sans CJK / Source Han Sans face carries the Traditional Chinese glyphs.
CJK_FONTS = (
    "Noto Sans CJK TC", "Noto Sans TC", "Source Han Sans TW", "Source Han Sans TC", "PingFang TC",
    "Microsoft JhengHei", "Heiti TC", "WenQuanYi Zen Hei", "Noto Sans CJK JP", "Noto Sans CJK SC",
    "Noto Sans CJK HK", "Noto Sans CJK KR", "Source Han Sans", "Source Han Sans JP", "Source Han Sans SC",
)
FONT_HINT = (
    "The project's dependency noto-cjk-sans-otc provides one (pip install -e . again?); or install one: Debian/Ubuntu `apt-get install fonts-noto-cjk`; conda "
    "`conda install -c conda-forge font-ttf-noto-cjk`; macOS has PingFang TC and Windows has "
    "Microsoft JhengHei built in. Then delete matplotlib's font cache (~/.cache/matplotlib) if it still "
    "is not found."
)

DPI = 110
FIGSIZE_IN = (8.0, 4.5)
GROUP_COLOURS = {  # Okabe-Ito, distinguishable with colour-vision deficiency
    "public": "#0072B2",
    "non_motorised": "#009E73",
    "private": "#D55E00",
}
CYCLE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000"]
NEUTRAL = "#4C72B0"

RC = {
    "axes.unicode_minus": False,  # CJK fonts lack U+2212; use '-'
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "figure.figsize": FIGSIZE_IN,
    "figure.facecolor": "white",
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "axes.axisbelow": True,
}


class MissingCJKFontWarning(UserWarning):
    """No installed font can draw Traditional Chinese: chart text would show as empty boxes."""


_warned = False


def register_packaged_font() -> str | None:
    """Add the CJK font the project installs from PyPI (noto-cjk-sans-otc: Noto Sans CJK, SIL OFL 1.1) to
    matplotlib's font manager; returns its path, or None when the package is missing."""
    try:
        from noto_cjk_sans_otc import FONT_PATH
    except ImportError:
        return None
    path = str(FONT_PATH)
    if path not in {entry.fname for entry in font_manager.fontManager.ttflist}:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            return None
    return path


def cjk_font() -> str | None:
    """Name of the first installed font of CJK_FONTS: the packaged Noto Sans CJK first, then the system's (looking
    again at the system fonts once on a miss)."""
    register_packaged_font()
    found = _first_installed()
    if found is None:
        known = {entry.fname for entry in font_manager.fontManager.ttflist}
        for path in font_manager.findSystemFonts():  # fonts installed after matplotlib built its cache
            if path not in known:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = _first_installed()
    return found


def _first_installed() -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in names), None)


def setup(font_warning: bool = True) -> str | None:
    """Apply the house style to matplotlib; returns the CJK font used, or None (warned once) if none is installed."""
    global _warned
    from matplotlib import pyplot  # noqa: F401  (lets a notebook's inline backend configure itself first)

    matplotlib.rcParams.update(RC)
    matplotlib.rcParams["axes.prop_cycle"] = cycler(color=CYCLE)
    font = cjk_font()
    if font is not None:
        fallback = [name for name in matplotlib.rcParams["font.sans-serif"] if name != font]
        matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["font.sans-serif"] = [font, *fallback]
    elif font_warning and not _warned:
        _warned = True
        warnings.warn(f"No Traditional Chinese font found for charts (tried: {', '.join(CJK_FONTS)}); "
                      f"chart text in Chinese will show as boxes. {FONT_HINT}", MissingCJKFontWarning,
                      stacklevel=2)
    return font


def group_colours(groups: Sequence[str]) -> list[str]:
    """Colour of each mode group (public / non_motorised / private), grey for anything else."""
    return [GROUP_COLOURS.get(str(group), "#999999") for group in groups]


def _require(**texts: str) -> None:
    for name, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"chart {name} is required (a non-empty string, with the unit for axis labels)")


def _new_figure(figsize: tuple[float, float] | None):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize or FIGSIZE_IN)


def _finish(fig, ax, title: str, xlabel: str, ylabel: str) -> Figure:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    return fig


def bar_chart(frame: pd.DataFrame, x: str, y: str, *, title: str, xlabel: str, ylabel: str,
              group: str | None = None, colour: str | None = None, horizontal: bool = False,
              value_format: str | None = "{:,.0f}", figsize: tuple[float, float] | None = None) -> Figure:
    """One bar per row: categories from column x, heights from column y; coloured by the mode group in column `group`."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    fig, ax = _new_figure(figsize)
    colours = group_colours(frame[group]) if group else (colour or NEUTRAL)
    labels = frame[x].astype(str).tolist()
    if horizontal:
        bars = ax.barh(labels, frame[y], color=colours)
        ax.invert_yaxis()  # first row on top
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
    else:
        bars = ax.bar(labels, frame[y], color=colours)
        if max((len(label) for label in labels), default=0) * len(labels) > 60:
            ax.tick_params(axis="x", labelrotation=30)
            for label in ax.get_xticklabels():
                label.set_horizontalalignment("right")
    if value_format:
        ax.bar_label(bars, labels=[value_format.format(v) for v in frame[y]], padding=2, fontsize=9)
    if group:
        present = list(dict.fromkeys(frame[group]))
        handles = [Patch(color=c, label=reference.group_label(g))
                   for g, c in zip(present, group_colours(present), strict=True)]
        ax.legend(handles=handles)
    return _finish(fig, ax, title, xlabel, ylabel)


def grouped_bar(frame: pd.DataFrame, x: str, y: str, hue: str, *, title: str, xlabel: str, ylabel: str,
                colours: Mapping[str, str] | None = None, hue_labels: Mapping[str, str] | None = None,
                value_format: str | None = None, figsize: tuple[float, float] | None = None) -> Figure:
    """Side-by-side bars: categories from column x, one bar per value of column hue (long-format frame)."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    wide = frame.pivot_table(index=x, columns=hue, values=y, aggfunc="sum", sort=False).fillna(0)
    fig, ax = _new_figure(figsize)
    n = max(len(wide.columns), 1)
    width = 0.8 / n
    positions = range(len(wide.index))
    for i, key in enumerate(wide.columns):
        colour = (colours or {}).get(key) or GROUP_COLOURS.get(str(key)) or CYCLE[i % len(CYCLE)]
        offsets = [p - 0.4 + width * (i + 0.5) for p in positions]
        label = (hue_labels or {}).get(key) or reference.group_label(key)
        bars = ax.bar(offsets, wide[key], width=width, color=colour, label=label)
        if value_format:
            ax.bar_label(bars, labels=[value_format.format(v) for v in wide[key]], padding=2, fontsize=8)
    ax.set_xticks(list(positions), [str(label) for label in wide.index])
    ax.legend()
    return _finish(fig, ax, title, xlabel, ylabel)


def binned_bars(values: Sequence[float] | pd.Series, bins: Sequence[float], *, title: str, xlabel: str,
                ylabel: str, weights: Sequence[float] | pd.Series | None = None, colour: str | None = None,
                value_format: str | None = "{:,.0f}", figsize: tuple[float, float] | None = None) -> Figure:
    """Histogram as labelled bars over the given bin edges [a, b); counts, or sums of `weights`."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    values = pd.Series(values, dtype="float64").reset_index(drop=True)
    binned = pd.cut(values, bins=list(bins), right=False)
    outside = values.notna() & binned.isna()
    if outside.any():
        raise ValueError(f"{int(outside.sum())} value(s) fall outside the bins [{bins[0]}, {bins[-1]}), "
                         f"e.g. {values[outside].iloc[0]}; widen the bins (the last edge may be float('inf'))")
    if weights is None:
        heights = binned.value_counts(sort=False)
    else:
        heights = pd.Series(list(weights), dtype="float64").groupby(binned, observed=False).sum()
    labels = [f"≥{_num(i.left)}" if math.isinf(i.right) else f"{_num(i.left)}–{_num(i.right)}" for i in heights.index]
    fig, ax = _new_figure(figsize)
    bars = ax.bar(labels, heights.to_numpy(), color=colour or NEUTRAL, width=0.9)
    if value_format:
        ax.bar_label(bars, labels=[value_format.format(v) for v in heights], padding=2, fontsize=9)
    return _finish(fig, ax, title, xlabel, ylabel)


histogram = binned_bars  # the same chart under its common name


def _num(value: float) -> str:
    return f"{value:g}"


def waterfall(labels: Sequence[str], deltas: Sequence[float], *, start: float, start_label: str, end_label: str,
              title: str, xlabel: str, ylabel: str, value_format: str = "{:+,.0f}",
              figsize: tuple[float, float] | None = None) -> Figure:
    """Waterfall: a start bar, one floating bar per additive effect (up: orange, down: blue), an end bar.

    The end bar is start + sum(deltas): the chart shows the effects adding up to the change.
    """
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    deltas = [float(d) for d in deltas]
    fig, ax = _new_figure(figsize or (9.0, 4.8))
    level = float(start)
    names = [start_label, *labels, end_label]
    ax.bar(0, level, color="#777777")
    ax.text(0, level, f"{level:,.0f}", ha="center", va="bottom", fontsize=9)
    for i, delta in enumerate(deltas, start=1):
        bottom = level if delta >= 0 else level + delta
        ax.bar(i, abs(delta), bottom=bottom, color="#D55E00" if delta > 0 else "#0072B2")
        ax.text(i, max(level, level + delta), value_format.format(delta), ha="center", va="bottom", fontsize=9)
        ax.plot([i - 0.4, i + 1.4], [level + delta] * 2, color="#999999", linewidth=0.8)
        level += delta
    end = len(deltas) + 1
    ax.bar(end, level, color="#333333")
    ax.text(end, level, f"{level:,.0f}", ha="center", va="bottom", fontsize=9)
    ax.set_ylim(top=ax.get_ylim()[1] * 1.08)  # room for the value labels under the title
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))  # 800,000 rather than 0.8 and a "1e6" offset
    ax.set_xticks(range(len(names)), names)
    ax.tick_params(axis="x", labelrotation=20)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    return _finish(fig, ax, title, xlabel, ylabel)


def trend_line(frame: pd.DataFrame, x: str, y: str, *, marker_col: str, markers: Mapping[str, str],
               title: str, xlabel: str, ylabel: str, figsize: tuple[float, float] | None = None) -> Figure:
    """A line over years with one marker style per kind of point (e.g. census / roll-forward), labelled values."""
    _require(title=title, xlabel=xlabel, ylabel=ylabel)
    fig, ax = _new_figure(figsize)
    xs = frame[x].astype(str).tolist()
    ax.plot(xs, frame[y], color=NEUTRAL, linewidth=1.5)
    for kind, label in markers.items():
        part = frame[frame[marker_col] == kind]
        if len(part):
            ax.scatter(part[x].astype(str), part[y], s=60, zorder=3, label=label,
                       marker="o" if kind == "census" else "D", facecolors=NEUTRAL if kind == "census" else "white",
                       edgecolors=NEUTRAL)
    for xv, yv in zip(xs, frame[y]):
        ax.annotate(f"{yv:,.0f}", (xv, yv), textcoords="offset points", xytext=(0, 8), ha="center", fontsize=9)
    ax.legend()
    return _finish(fig, ax, title, xlabel, ylabel)
