"""The planted program effects of the synthetic world (cxlib.synth) are recovered by the proper designs.

``truth.json`` plants multiplicative effects on store-month rates (complaints x0.70, purchase
frequency x1.20, returns x0.75, out-of-stock x0.60) together with seasonality and a common supply
shock in June 2025 that hits every store.  The naive before/after comparison mixes these up.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from cxlib.evaluation import PreTrendWarning, before_after, build_panel, did, staggered_did

pytest.importorskip("cxlib.synth", reason="cxlib.synth (the synthetic world) is not available")

METRICS = ("complaint_rate", "purchase_frequency", "return_rate", "out_of_stock_rate")
KW = dict(outcome="value", unit="unit_id", time="period", first_treated="first_treated")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cxlib.data import load
    from cxlib.synth import generate

    folder = tmp_path_factory.mktemp("world")
    truth = generate(folder, n_customers=12_000, seed=7)
    ds = load(folder)
    results = {}
    for metric in METRICS:
        panel = build_panel(ds, metric=metric)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PreTrendWarning)  # judged by the assertions below, not silenced
            results[metric] = {
                "truth": truth["program_effects"][metric]["relative_effect"] - 1.0,
                "naive": before_after(panel, **KW), "twfe": did(panel, **KW),
                "staggered": staggered_did(panel, control_group="not_yet_treated", **KW)}
    return truth, results


def test_world_has_the_documented_rollout(world):
    truth, results = world
    assert len(truth["units"]["never_treated"]) == 6
    assert sorted(truth["units"]["rollout_dates"].values()) == ["2024-10-01", "2025-01-01", "2025-04-01"]
    res = results["return_rate"]["twfe"]
    assert (res.n_units, res.n_treated, res.n_periods) == (24, 18, 24)


@pytest.mark.parametrize("metric", METRICS)
def test_twfe_interval_covers_the_planted_effect(world, metric):
    _, results = world
    r, truth = results[metric]["twfe"], results[metric]["truth"]
    assert r.relative_ci_lower < truth < r.relative_ci_upper
    assert abs(r.relative_estimate - truth) < 0.06  # measured: 4.5, 2.8, 1.1, 0.5 percentage points


@pytest.mark.parametrize("metric", ["purchase_frequency", "return_rate", "out_of_stock_rate"])
def test_staggered_estimator_finds_the_effect_with_the_right_sign(world, metric):
    # Callaway-Sant'Anna compares with one base period (g - 1), so with ~500 customers per store it is much
    # noisier than TWFE (measured relative errors +14, -7, -7 pp); its intervals exclude zero on the right side.
    _, results = world
    r, truth = results[metric]["staggered"], results[metric]["truth"]
    assert np.sign(r.relative_estimate) == np.sign(truth)
    assert r.significant
    assert r.pre_trend_p_value > 0.05


def test_staggered_complaints_interval_is_wide_but_honest(world):
    _, results = world
    r, truth = results["complaint_rate"]["staggered"], results["complaint_rate"]["truth"]
    assert r.relative_ci_lower < truth < r.relative_ci_upper


def test_naive_before_after_is_visibly_biased(world):
    _, results = world
    errors = {m: (abs(v["naive"].relative_estimate - v["truth"]), abs(v["twfe"].relative_estimate - v["truth"]))
              for m, v in results.items()}
    assert all(naive > twfe for naive, twfe in errors.values())
    # the supply shock and the season turn a +20 % purchase-frequency gain into a measured fall
    pf = results["purchase_frequency"]["naive"]
    assert pf.relative_ci_upper < 0 < results["purchase_frequency"]["truth"]
    oos = results["out_of_stock_rate"]["naive"]
    assert not oos.relative_ci_lower < results["out_of_stock_rate"]["truth"] < oos.relative_ci_upper
