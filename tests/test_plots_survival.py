"""Tests of cxlib.plots.survival: what is drawn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.plots.survival import km_curves
from cxlib.survival import kaplan_meier
from cxlib.sections.churn import at_risk_table


def test_km_curves_draws_one_step_line_per_segment_and_the_at_risk_numbers():
    d = pd.DataFrame({"duration": [1.0, 2, 3, 4, 5, 6], "event": [1, 0, 1, 1, 0, 1], "g": list("aaabbb")})
    km = kaplan_meier(d, segment="g")
    ax = km_curves(km.curves, at_risk=at_risk_table(km, [0, 3, 6]), title="by g")
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["a", "b"]
    a = km.curves[km.curves["segment"] == "a"]
    np.testing.assert_allclose(lines[0].get_ydata(), a["survival"].to_numpy())
    texts = [t.get_text() for t in ax.texts]
    assert texts[0] == "At risk" and texts[1:4] == ["3", "1", "0"] and texts[4:] == ["3", "3", "1"]  # n with follow-up >= t
    assert list(ax.get_xticks()) == [0, 3, 6] and ax.get_title() == "by g"


def test_km_curves_rejects_frames_without_curve_columns():
    with pytest.raises(ParameterError, match="survival"):
        km_curves(pd.DataFrame({"segment": ["a"], "time": [0.0]}))
