"""Tests for cxlib/plots/segments.py: what is drawn."""
from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.figure import Figure

from cxlib.errors import DataContractError, ParameterError
from cxlib.plots.segments import alert_forest, profile_heatmap, selection_curve


def test_selection_curve_marks_the_chosen_k_on_a_given_axes():
    ax = Figure().subplots()
    sel = pd.DataFrame({"k": [2, 3], "criterion": ["bic"] * 2, "value": [10.0, 5.0], "chosen": [False, True]})
    assert selection_curve(sel, ax=ax) is ax
    assert ax.collections[0].get_offsets().tolist() == [[3.0, 5.0]] and "BIC" in ax.get_ylabel()


def test_profile_heatmap_draws_effect_sizes_and_rejects_empty():
    p = pd.DataFrame({"segment": ["S1", "S2"], "feature": ["monetary"] * 2, "effect_size": [0.8, -0.8], "n": [7, 3]})
    ax = profile_heatmap(p, labels={"monetary": "basket value"})
    assert ax.images[0].get_array().tolist() == [[0.8], [-0.8]]
    assert ax.get_xticklabels()[0].get_text() == "basket value"
    with pytest.raises(ParameterError):
        profile_heatmap(p.iloc[:0])
    with pytest.raises(DataContractError):
        profile_heatmap(p.drop(columns="n"))


def test_alert_forest_scales_csat_to_points_and_colours_by_direction():
    a = pd.DataFrame({"segment_column": ["tier", "touchpoint"], "segment": ["gold", "app"], "metric": ["csat", "nps"],
                      "change": [0.06, -7.0], "ci_lower": [0.02, -10.0], "ci_upper": [0.10, -4.0],
                      "direction": ["improved", "worsened"]})
    ax = alert_forest(a)
    assert ax.lines[0].get_xdata().tolist() == pytest.approx([2.0, 10.0])  # CSAT in percentage points, top row
    assert ax.lines[0].get_color() == "#4c72b0" and ax.lines[2].get_color() == "#c44e52"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["touchpoint = app: NPS points",
                                                            "tier = gold: CSAT percentage points"]
    assert alert_forest(a.iloc[:0]).texts[0].get_text() == "no alerts"
