"""Tests of cxlib.plots.clv: what is drawn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.plots.clv import calibration_holdout, clv_distribution, frequency_recency, segment_means, tracking


def test_clv_distribution_counts_every_positive_value_and_marks_the_median():
    v = pd.Series([0.5, 1.0, 2.0, 8.0, 30.0, 0.0])
    ax = clv_distribution(v, bins=5)
    assert sum(p.get_height() for p in ax.patches) == 5  # the zero cannot sit on a log axis
    assert ax.get_lines()[0].get_xdata()[0] == pytest.approx(2.0)
    assert "median 2.00 EUR" in ax.texts[0].get_text()
    with pytest.raises(ParameterError):
        clv_distribution(pd.Series([0.0, np.nan]))


def test_segment_means_plots_points_and_interval_ends():
    t = pd.DataFrame({"segment_column": ["all", "tier", "tier"], "segment": ["all", "gold", "silver"],
                      "n": [10, 4, 6], "mean_clv": [3.0, 4.0, 2.5], "ci_lower": [2.0, 3.0, 1.0],
                      "ci_upper": [4.0, 5.5, 3.0]})
    ax = segment_means(t)
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [3.0, 4.0, 2.5])
    assert [x.get_text() for x in ax.get_yticklabels()] == ["all", "tier: gold (n = 4)", "tier: silver (n = 6)"]
    with pytest.raises(ParameterError, match="mean_clv"):
        segment_means(t.drop(columns="mean_clv"))


def _holdout_result():
    from cxlib.clv.diagnostics import CALIBRATION_HOLDOUT_COLUMNS, CalibrationHoldout
    t = pd.DataFrame({"frequency_calibration": [0, 1, 2], "label": ["0", "1", "2+"], "n": [10, 5, 2],
                      "actual_mean": [0.2, 0.8, 3.0], "expected_mean": [0.25, 0.7, 2.5],
                      "actual_total": [2.0, 4.0, 6.0], "expected_total": [2.5, 3.5, 5.0]},
                     columns=list(CALIBRATION_HOLDOUT_COLUMNS))
    return CalibrationHoldout(t, 12.0, 11.0, 17, 39.0, "week", "BetaGeo conditional expectation")


def test_calibration_holdout_plot_draws_both_means_per_frequency():
    ax = calibration_holdout(_holdout_result())
    actual, expected = ax.get_lines()
    np.testing.assert_allclose(actual.get_ydata(), [0.2, 0.8, 3.0])
    np.testing.assert_allclose(expected.get_ydata(), [0.25, 0.7, 2.5])
    assert [x.get_text() for x in ax.get_xticklabels()] == ["0", "1", "2+"]
    assert ax.get_ylabel() == "mean purchases in the 39-week holdout"


@pytest.mark.parametrize("cumulative,kind", [(True, "cumulative"), (False, "incremental")])
def test_tracking_plot_draws_actual_expected_and_the_calibration_line(cumulative, kind):
    from cxlib.clv.diagnostics import Tracking
    t = pd.DataFrame({"time": [1.0, 2.0, 3.0], "actual_cumulative": [1, 3, 4], "expected_cumulative": [1.5, 2.5, 4.5],
                      "actual_incremental": [1, 2, 1], "expected_incremental": [1.5, 1.0, 2.0]})
    day = pd.Timestamp("2024-01-01")
    r = Tracking(t, day, day + pd.Timedelta(days=14), day + pd.Timedelta(days=21), 5, "week", "ParetoNBD x")
    ax = tracking(r, cumulative=cumulative)
    actual, expected, line = ax.get_lines()
    np.testing.assert_allclose(actual.get_ydata(), t[f"actual_{kind}"])
    np.testing.assert_allclose(expected.get_ydata(), t[f"expected_{kind}"])
    assert expected.get_label() == "expected (ParetoNBD)"
    assert line.get_xdata()[0] == pytest.approx(2.0)  # 14 days = 2 weeks after the start
    assert ax.get_xlabel() == "weeks since 2024-01-01" and kind in ax.get_ylabel()


def test_frequency_recency_heatmap_masks_impossible_cells_and_scales_probabilities():
    from cxlib.clv.diagnostics import FrequencyRecencyGrid
    vals = np.array([[1.0, np.nan, np.nan], [np.nan, 0.3, 0.7], [np.nan, 0.2, 0.9]])
    g = FrequencyRecencyGrid(np.arange(3.0), np.array([0.0, 5.0, 10.0]), vals, "p_alive", 10.0, float("nan"),
                             "week", "BetaGeo p_alive")
    ax = frequency_recency(g)
    arr = ax.images[0].get_array()
    assert int(arr.count()) == 5 and arr.mask[0, 1]
    np.testing.assert_allclose(arr.data[1:, 1:], vals[1:, 1:])
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert ax.images[0].get_extent() == [-2.5, 12.5, -0.5, 2.5]
    assert ax.get_title() == "probability alive"
    g2 = FrequencyRecencyGrid(g.frequency, g.recency, vals * 4, "expected_purchases", 10.0, 5.0, "week", "BetaGeo")
    assert frequency_recency(g2).get_title() == "expected purchases in the next 5 weeks"
