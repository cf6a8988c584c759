"""Tests of cxlib.journey.failpoints: ranking touchpoints by abandonment, low CSAT and complaints."""
from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from cxlib.errors import ParameterError
from cxlib.journey import fail_points, from_paths, journeyize
from cxlib.journey.failpoints import FAIL_COLUMNS
from cxlib.stats import fdr_bh, holm


def test_exit_rates_by_hand_and_against_statsmodels():
    js = from_paths(pd.DataFrame({"path": ["a > b", "a > w", "w > b", "a"], "conversions": [50, 5, 20, 30],
                                  "nulls": [10, 45, 30, 10]}))
    fp = fail_points(js)
    tab = fp.to_frame().set_index("touchpoint")
    assert list(fp.to_frame().columns) == list(FAIL_COLUMNS)
    # w: visited 100 times (a > w: 50, w > b: 50); the journey ends there abandoned 45 times
    w = tab.loc["w"]
    assert (w.n_exposed, w.events_exposed, w.n_other, w.events_other) == (100, 45, 260, 50)
    z, p = proportions_ztest([45, 50], [100, 260], alternative="larger")
    assert w.statistic == pytest.approx(z) and w.p_value == pytest.approx(p)
    assert fp.top == "w" and tab.loc["w", "rank"] == 1
    assert w.risk_ratio == pytest.approx(0.45 / (50 / 260))


def test_multiple_testing_adjustments_match_statsmodels():
    p = np.array([0.001, 0.04, 0.03, 0.2, np.nan, 0.011])
    ok = ~np.isnan(p)
    assert np.allclose(holm(p)[ok], multipletests(p[ok], method="holm")[1])
    assert np.allclose(fdr_bh(p)[ok], multipletests(p[ok], method="fdr_bh")[1])
    assert np.isnan(holm(p)[4])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    synth = pytest.importorskip("cxlib.synth", reason="cxlib.synth (the synthetic world) is not available")
    out = tmp_path_factory.mktemp("world_fp")
    synth.generate(out, n_customers=2000, seed=1)
    return out


def test_planted_fail_touchpoint_ranks_first(world):
    truth = json.loads((world / "truth.json").read_text())["journeys"]
    con = duckdb.connect()
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{world / 'events.parquet'}')")
    fp = fail_points(journeyize(con))
    tab = fp.to_frame()
    assert fp.top == truth["fail_touchpoint"] == "fitting_room_wait"
    first = tab.iloc[0]
    assert first.p_holm < 1e-6 and first.ci_lower > 0.2
    # its exit rate estimates the planted abandonment probability (0.7)
    lo = first.rate_exposed - 3 * np.sqrt(first.rate_exposed * (1 - first.rate_exposed) / first.n_exposed)
    hi = first.rate_exposed + 3 * np.sqrt(first.rate_exposed * (1 - first.rate_exposed) / first.n_exposed)
    assert lo < truth["abandonment_probability"]["fitting_room_wait"] < hi


def linked_data():
    """Journeys of 200 customers; those whose journey contains 'w' answer CSAT 1 with probability 0.6,
    the others with 0.1; every response comes 2 days after the journey; complaints follow 'w' too."""
    rng = np.random.default_rng(9)
    t0 = pd.Timestamp("2025-02-01")
    ev, sv, tk = [], [], []
    for i in range(200):
        c, t = f"C{i}", t0 + pd.Timedelta(hours=3 * i)
        steps = ["a", "w", "b"] if i % 4 == 0 else ["a", "b"]
        ev += [(c, t + pd.Timedelta(minutes=k), s) for k, s in enumerate(steps)]
        bad = rng.random() < (0.6 if "w" in steps else 0.1)
        sv.append((c, t + pd.Timedelta(days=2), 1 if bad else 5, 2 if bad else 9))
        if "w" in steps and rng.random() < 0.5:
            tk.append((c, t + pd.Timedelta(days=1), "complaint"))
    sv.append(("C1", t0 + pd.Timedelta(days=400), 1, 0))  # too late to link: dropped
    return (pd.DataFrame(ev, columns=["customer_id", "timestamp", "touchpoint"]),
            pd.DataFrame(sv, columns=["customer_id", "responded_at", "csat", "nps"]),
            pd.DataFrame(tk, columns=["customer_id", "opened_at", "ticket_type"]))


@pytest.mark.parametrize("outcome", ["low_csat", "detractor"])
def test_survey_outcomes_link_responses_to_the_preceding_journey(outcome):
    ev, sv, _ = linked_data()
    fp = fail_points(journeyize(ev, gap="1h"), outcome=outcome, surveys=sv, within="7D")
    tab = fp.to_frame().set_index("touchpoint")
    assert fp.top == "w"
    assert tab.loc["w", "n_exposed"] == 50 and tab.loc["w", "n_exposed"] + tab.loc["w", "n_other"] == 200
    assert tab.loc["a", "n_other"] == 0  # every journey has 'a'
    assert tab.loc["w", "rate_exposed"] > 0.45 and tab.loc["w", "rate_other"] < 0.2


def test_complaints_after_journeys():
    ev, _, tk = linked_data()
    fp = fail_points(journeyize(ev, gap="1h"), outcome="complaint", tickets=tk, within="3D")
    tab = fp.to_frame().set_index("touchpoint")
    assert fp.top == "w" and tab.loc["w", "events_exposed"] == len(tk) and tab.loc["w", "events_other"] == 0


def test_fail_point_errors():
    ev, _, _ = linked_data()
    js = journeyize(ev, gap="1h")
    with pytest.raises(ParameterError, match="needs surveys="):
        fail_points(js, outcome="low_csat")
    with pytest.raises(ParameterError, match="outcome='nps'"):
        fail_points(js, outcome="nps")
