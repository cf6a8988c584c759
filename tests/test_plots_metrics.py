"""Tests of cxlib.plots.metrics: what was drawn, not that it ran."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cxlib.errors import DataContractError
from cxlib.metrics import by_segment, nps, score_distribution
from cxlib.plots.metrics import distribution_plot, forest_plot, sequence_plot, trend_plot
from cxlib.significance import confidence_sequence, pairwise


def _band(ax, gid: str = "interval") -> list[np.ndarray]:
    return [c.get_paths()[0].vertices for c in ax.collections if c.get_gid() == gid]


def test_trend_plot_draws_estimates_and_bands_from_a_grouped_frame() -> None:
    df = pd.DataFrame({"quarter": ["2025Q3"] * 4 + ["2025Q4"] * 4 + ["2025Q2"] * 4,
                       "nps": [10, 10, 3, 8, 10, 9, 9, 7, 0, 3, 10, 8]})
    frame = by_segment(nps, df, segment="quarter")
    ax = trend_plot(frame, x="quarter", reference=0.0)
    line = [ln for ln in ax.lines if ln.get_gid() == "estimate"][0]
    assert line.get_ydata().tolist() == pytest.approx(frame.sort_index()["estimate"].tolist())  # Q2, Q3, Q4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2025Q2", "2025Q3", "2025Q4"]
    verts = _band(ax)[0]
    assert verts[:, 1].min() == pytest.approx(frame["ci_lower"].min())
    assert verts[:, 1].max() == pytest.approx(frame["ci_upper"].max())
    assert any(ln.get_gid() == "reference" for ln in ax.lines) and ax.get_ylabel() == "nps"
    assert isinstance(ax.figure, Figure)


def test_trend_plot_one_line_per_hue() -> None:
    t = pd.DataFrame({"period": ["2025Q3", "2025Q4"] * 2, "seg": ["a", "a", "b", "b"],
                      "estimate": [1.0, 2.0, 3.0, 4.0], "ci_lower": [0.0, 1, 2, 3], "ci_upper": [2.0, 3, 4, 5]})
    ax = trend_plot(t, hue="seg")
    lines = [ln for ln in ax.lines if ln.get_gid() == "estimate"]
    assert [ln.get_label() for ln in lines] == ["a", "b"]
    assert lines[1].get_ydata().tolist() == [3.0, 4.0] and len(_band(ax)) == 2


def test_trend_plot_uses_the_given_axes_and_checks_columns() -> None:
    ax = Figure().subplots()
    t = pd.DataFrame({"period": ["x"], "estimate": [1.0], "ci_lower": [0.0], "ci_upper": [2.0]})
    assert trend_plot(t, ax=ax) is ax
    with pytest.raises(DataContractError, match="ci_upper"):
        trend_plot(t.drop(columns="ci_upper"))


def test_forest_plot_marks_significance_after_adjustment() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"tier": np.repeat(["bronze", "silver", "gold"], 300),
                       "nps": np.r_[rng.integers(0, 11, 600), rng.integers(6, 11, 300)]})
    tests = pairwise(df, metric="nps", group="tier")
    ax = forest_plot(tests)
    assert [t.get_text() for t in ax.get_yticklabels()] == tests["comparison"].tolist()
    assert ax.get_yticks().tolist() == [2, 1, 0]  # first comparison on top
    points = [c for c in ax.collections if c.get_gid() == "difference"][0]
    xy = points.get_offsets()
    assert np.asarray(xy[:, 0]).tolist() == pytest.approx(tests["difference"].tolist())
    filled = [tuple(fc) != (1.0, 1.0, 1.0, 1.0) for fc in points.get_facecolors()]
    assert filled == (tests["p_adjusted"] < 0.05).tolist()
    segments = [c for c in ax.collections if c.get_gid() == "interval"][0].get_segments()
    assert [s[0][0] for s in segments] == pytest.approx(tests["ci_lower"].tolist())


def test_distribution_plot_stacks_shares_to_one() -> None:
    df = pd.DataFrame({"ces": [1, 1, 2, 7, 3, 3], "seg": list("aaabbb")})
    ax = distribution_plot(score_distribution(df, segment="seg"))
    widths = np.zeros(2)
    for patch in ax.patches:
        widths[round(patch.get_y() + patch.get_height() / 2)] += patch.get_width()
    assert widths.tolist() == pytest.approx([1.0, 1.0]) and len(ax.patches) == 14


def test_sequence_plot_draws_the_sequence() -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"at": pd.date_range("2025-10-06", periods=300, freq="6h"), "nps": rng.integers(0, 11, 300)})
    cs = confidence_sequence(df, metric="nps", time_col="at")
    ax = sequence_plot(cs, reference=0.0)
    est = [ln for ln in ax.lines if ln.get_gid() == "estimate"][0]
    assert est.get_xdata().tolist() == cs["n"].tolist()
    assert est.get_ydata().tolist() == pytest.approx(cs["estimate"].tolist())
    assert _band(ax)[0][:, 1].min() == pytest.approx(cs["ci_lower"].min())
