"""Tests of cxlib.plots.voc: what is drawn, suppressed cells shown as gaps, no pyplot state."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cxlib.errors import DataContractError
from cxlib.plots import voc as plots


def _shares():
    return pd.DataFrame({"theme": ["price", "staff", "stock"], "share": [0.2, 0.1, np.nan],
                         "ci_lower": [0.15, 0.07, np.nan], "ci_upper": [0.25, 0.14, np.nan], "n": [300, 300, np.nan],
                         "suppressed": [False, False, True]})


def test_theme_shares_draws_bars_in_percent_and_labels_suppressed():
    ax = plots.theme_shares(_shares())
    assert sorted(round(float(p.get_width()), 6) for p in ax.patches) == [10.0, 20.0]
    assert [t.get_text().strip() for t in ax.texts] == ["suppressed (n < k)"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["stock", "staff", "price"]


def test_plots_draw_on_a_given_axes_and_return_it():
    ax = Figure().add_subplot()
    assert plots.theme_shares(_shares(), ax=ax) is ax


def test_theme_trend_lines_and_gaps():
    f = pd.DataFrame({"theme": ["price"] * 3, "segment": ["2025Q2", "2025Q3", "2025Q4"], "share": [0.1, 0.3, 0.2],
                      "ci_lower": [0.05, 0.2, 0.1], "ci_upper": [0.15, 0.4, 0.3], "suppressed": [False, True, False]})
    ax = plots.theme_trend(f)
    y = ax.lines[0].get_ydata()
    assert y[0] == pytest.approx(10) and np.isnan(y[1]) and y[2] == pytest.approx(20)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2025Q2", "2025Q3", "2025Q4"]


def test_sentiment_by_points_and_intervals():
    f = pd.DataFrame({"segment": ["app", "store", "tiny"], "estimate": [-0.2, 0.4, 0.9], "ci_lower": [-0.3, 0.3, 0.5],
                      "ci_upper": [-0.1, 0.5, 1.0], "suppressed": [False, False, True]})
    ax = plots.sentiment_by(f)
    assert ax.collections[0].get_offsets()[:, 0].tolist() == [-0.2, 0.4]
    assert [t.get_text() for t in ax.texts] == ["suppressed (n < k)"]


def test_driver_quadrant_points_cuts_and_labels():
    f = pd.DataFrame({"driver": ["staff", "stock"], "impact": [0.6, 0.1], "impact_ci_lower": [0.5, 0.0],
                      "impact_ci_upper": [0.7, 0.2], "performance": [30.0, 70.0], "impact_cut": 0.35,
                      "performance_cut": 50.0})
    ax = plots.driver_quadrant(f)
    assert ax.collections[0].get_offsets().tolist() == [[60.0, 30.0], [10.0, 70.0]]
    texts = [t.get_text() for t in ax.texts]
    assert texts[:2] == ["staff", "stock"] and {"fix first", "keep up", "monitor", "possible overkill"} <= set(texts)
    assert ax.lines[0].get_xdata()[0] == pytest.approx(35.0) and ax.lines[1].get_ydata()[0] == pytest.approx(50.0)


def test_missing_columns_are_named():
    with pytest.raises(DataContractError, match="impact_cut"):
        plots.driver_quadrant(pd.DataFrame({"driver": ["a"], "impact": [0.1], "impact_ci_lower": [0],
                                            "impact_ci_upper": [0.2], "performance": [50.0],
                                            "performance_cut": 50.0}))
