"""Tests of cxlib.plots.clv: what is drawn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.plots.clv import clv_distribution, segment_means


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
