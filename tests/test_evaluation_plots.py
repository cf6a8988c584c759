"""Tests of cxlib.plots.evaluation: what was drawn."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from cxlib.errors import ParameterError
from cxlib.evaluation import before_after, did, event_study, its, staggered_did, synthetic_control
from cxlib.evaluation.simulate import simulate_panel
from cxlib.plots.evaluation import counterfactual_plot, effects_plot, event_study_plot, synthetic_control_plot

KW = dict(outcome="y", unit="unit", time="period", first_treated="first_treated")


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return simulate_panel(n_units=30, n_periods=10, cohorts=[4, 6], rng=np.random.default_rng(1))[0]


def test_event_study_plot_draws_leads_and_lags(panel):
    es = event_study(panel, **KW)
    ax = event_study_plot(es)
    pre, post = ax.containers
    x_post = np.asarray(post.lines[0].get_xdata(), dtype=float)
    table = es.to_frame()
    np.testing.assert_allclose(x_post, table.loc[table.period_kind == "post", "event_time"])
    np.testing.assert_allclose(np.asarray(post.lines[0].get_ydata(), dtype=float),
                               table.loc[table.period_kind == "post", "estimate"])
    assert len(pre.lines[0].get_xdata()) == 5 and "pre-trend test p" in ax.get_title()
    # the staggered result's event-study table draws the same points
    ax2 = event_study_plot(staggered_did(panel, **KW))
    np.testing.assert_allclose(np.asarray(ax2.containers[1].lines[0].get_ydata(), dtype=float),
                               np.asarray(post.lines[0].get_ydata(), dtype=float))


def test_counterfactual_plot_uses_the_series_and_given_axes():
    t = np.arange(36)
    res = its(pd.DataFrame({"t": t, "y": 5 + 0.2 * t - 3 * (t >= 24) + np.cos(t)}), outcome="y", time="t",
              intervention_start=24)
    ax = Figure().subplots()
    out = counterfactual_plot(res, ax=ax)
    assert out is ax
    np.testing.assert_allclose(ax.lines[1].get_ydata(), res.tables["series"]["counterfactual"])
    assert ax.lines[2].get_xdata()[0] == 24  # program start marker


def test_synthetic_control_plot_treated_gap_on_top():
    panel, _ = simulate_panel(n_units=8, n_periods=12, treated_share=1 / 8, rng=np.random.default_rng(2))
    treated = panel.loc[panel.first_treated.notna(), "unit"].iloc[0]
    res = synthetic_control(panel, outcome="y", unit="unit", time="period", treated_unit=treated,
                            treatment_start=6, alpha=0.2)
    ax = synthetic_control_plot(res)
    own = [line for line in ax.lines if line.get_label().endswith("(treated)")]
    assert len(own) == 1
    np.testing.assert_allclose(own[0].get_ydata(), res.tables["series"]["gap"])
    assert len(ax.lines) == 7 + 1 + 2  # placebos, treated, two reference lines


def test_effects_plot_one_row_per_result_and_errors(panel):
    frame = pd.concat([before_after(panel, **KW).to_frame(), did(panel, **KW).to_frame()], ignore_index=True)
    ax = effects_plot(frame)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["y: naive", "y: twfe"]
    np.testing.assert_allclose(np.asarray(ax.containers[1].lines[0].get_xdata(), dtype=float),
                               [100 * frame["relative_estimate"].iloc[1]])
    with pytest.raises(ParameterError, match="missing"):
        effects_plot(pd.DataFrame({"x": [1]}))
    with pytest.raises(ParameterError, match="event_study"):
        event_study_plot(did(panel, **KW))
