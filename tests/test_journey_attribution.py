"""Tests of cxlib.journey.attribution: exact removal effects, heuristics, bootstrap intervals.

Reference numbers:
* ``channelattribution_paths_mam.json``: marketing-attribution-models 2.1.1 on the ChannelAttribution
  sample paths (``tests/data/make_channelattribution_oracle.py``);
* :func:`power_iteration_removal_effects` below: an independent dense-matrix computation that
  pushes probability mass through the chain until it is absorbed (no linear solve);
* the synthetic world's ``truth.json`` (exact removal effects of its generating chain).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.journey import attribute, from_paths, journeyize, removal_effects, transition_matrix
from cxlib.journey.attribution import ATTRIBUTION_COLUMNS

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def ca_paths() -> pd.DataFrame:
    return pd.read_csv(DATA / "channelattribution_paths.csv.gz")


def ca_journeys(frame):
    return from_paths(frame, conversions_col="total_conversions", nulls_col="total_null")


def power_iteration_removal_effects(frame: pd.DataFrame, tol: float = 1e-15) -> dict[str, float]:
    """Independent check: count transitions with plain Python, then propagate the start distribution
    through the row-normalised matrix until the transient mass is below ``tol``."""
    counts: dict[tuple[str, str], float] = {}
    for path, conv, null in frame[["path", "total_conversions", "total_null"]].itertuples(index=False):
        steps = ["START"] + [s.strip() for s in path.split(">")]
        for end, w in (("CONV", conv), ("NULL", null)):
            if w == 0:
                continue
            for a, b in zip(steps, steps[1:] + [end]):
                counts[(a, b)] = counts.get((a, b), 0.0) + w
    states = sorted({a for a, _ in counts} | {b for _, b in counts})
    idx = {s: i for i, s in enumerate(states)}
    M = np.zeros((len(states), len(states)))
    for (a, b), w in counts.items():
        M[idx[a], idx[b]] += w
    for s in ("CONV", "NULL"):
        M[idx[s], idx[s]] = 1.0
    M /= M.sum(axis=1, keepdims=True)

    def p_conv(removed=None):
        T = M.copy()
        if removed is not None:  # everything entering the removed channel goes to NULL instead
            T[:, idx["NULL"]] += T[:, idx[removed]]
            T[:, idx[removed]] = 0.0
        x = np.zeros(len(states))
        x[idx["START"]] = 1.0
        absorbing = [idx["CONV"], idx["NULL"]]
        for _ in range(100_000):
            x = x @ T
            if x.sum() - x[absorbing].sum() < tol:
                break
        return x[idx["CONV"]]

    base = p_conv()
    return {s: 1 - p_conv(s) / base for s in states if s not in ("START", "CONV", "NULL")}


def test_removal_effects_match_mam_and_power_iteration(ca_paths):
    res = attribute(ca_journeys(ca_paths), n_boot=0)
    tab = res.to_frame()
    assert list(tab.columns) == list(ATTRIBUTION_COLUMNS) and len(tab) == 4 * 12
    re = tab[tab.method == "markov"].set_index("channel")["removal_effect"]
    mam = json.loads((DATA / "channelattribution_paths_mam.json").read_text())
    for ch, v in mam["markov_removal_effect"].items():
        assert re[ch] == pytest.approx(v, abs=1e-12), ch
    power = power_iteration_removal_effects(ca_paths)
    for ch, v in power.items():
        assert re[ch] == pytest.approx(v, abs=1e-9), ch
    assert res.n_journeys == 19785 + 68602 and res.n_conversions == 19785
    assert res.to_frame().query("method == 'markov'")["conversions"].sum() == pytest.approx(19785)


@pytest.mark.parametrize("ours, theirs", [("first_touch", "first_click"), ("last_touch", "last_click"),
                                          ("linear", "linear")])
def test_heuristics_match_mam(ca_paths, ours, theirs):
    tab = attribute(ca_journeys(ca_paths), n_boot=0).to_frame()
    got = tab[tab.method == ours].set_index("channel")["conversions"]
    ref = json.loads((DATA / "channelattribution_paths_mam.json").read_text())[theirs]
    for ch, v in ref.items():
        assert got[ch] == pytest.approx(v, rel=1e-12, abs=1e-9)


def test_row_order_does_not_move_the_answer(ca_paths):
    a = attribute(ca_journeys(ca_paths), n_boot=0).to_frame()
    b = attribute(ca_journeys(ca_paths.sample(frac=1.0, random_state=5)), n_boot=0).to_frame()
    pd.testing.assert_frame_equal(a, b)


def test_bootstrap_is_seeded_and_covers_the_estimate(ca_paths):
    js = ca_journeys(ca_paths)
    r1 = attribute(js, n_boot=200, rng=np.random.default_rng(42))
    r2 = attribute(js, n_boot=200, rng=np.random.default_rng(42))
    pd.testing.assert_frame_equal(r1.to_frame(), r2.to_frame())
    t = r1.to_frame().query("method == 'markov'").set_index("channel")
    assert (t.removal_effect_ci_lower <= t.removal_effect).all() and (t.removal_effect <= t.removal_effect_ci_upper).all()
    # the biggest channel's removal effect is known to about +-0.01 from 88k journeys
    assert 0.005 < t.loc["alpha", "removal_effect_ci_upper"] - t.loc["alpha", "removal_effect_ci_lower"] < 0.05
    assert r1.replicates.shape == (200, 12)
    lo, hi = r1.conversion_probability_ci
    assert lo < r1.conversion_probability < hi
    with pytest.raises(ParameterError, match="seeded generator"):
        attribute(js, n_boot=10)


def test_removal_effects_from_a_matrix_equal_the_fitted_ones(ca_paths):
    js = ca_journeys(ca_paths)
    tm = transition_matrix(js, censored="exclude")
    direct = removal_effects(tm.probabilities.loc[[s for s in tm.states]]).set_index("channel")["removal_effect"]
    fitted = attribute(js, n_boot=0).to_frame().query("method == 'markov'").set_index("channel")["removal_effect"]
    pd.testing.assert_series_equal(direct.sort_index(), fitted.sort_index(), check_names=False)


def test_second_order_removes_every_state_with_the_channel():
    js = from_paths(pd.DataFrame({"path": ["a > b", "b > a", "a", "c > b"], "conversions": [30, 10, 5, 5],
                                  "nulls": [20, 30, 10, 5]}))
    tab = attribute(js, order=2, n_boot=0).to_frame().query("method == 'markov'").set_index("channel")
    assert tab.loc["b", "removal_effect"] == pytest.approx(1 - 5 / 50)  # only 'a' alone converts without b
    assert tab["share"].sum() == pytest.approx(1.0)


def test_no_conversion_is_an_error():
    js = from_paths(pd.DataFrame({"path": ["a"], "conversions": [0], "nulls": [3]}))
    with pytest.raises(DataContractError, match="No journey converted"):
        attribute(js, n_boot=0)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    synth = pytest.importorskip("cxlib.synth", reason="cxlib.synth (the synthetic world) is not available")
    out = tmp_path_factory.mktemp("world")
    synth.generate(out, n_customers=2000, seed=1)
    return out


def world_journeys(world):
    import duckdb

    con = duckdb.connect()
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{world / 'events.parquet'}')")
    return journeyize(con)


def test_synthetic_world_removal_effects_within_bootstrap_intervals(world):
    truth = json.loads((world / "truth.json").read_text())["journeys"]
    # 11 removal effects (checkout is 1 by construction) checked at once: simultaneous (Bonferroni) intervals,
    # else one miss in 11 correlated 95% intervals is a coin flip (seeds 1-4 gave |z| up to 2.6)
    res = attribute(world_journeys(world), n_boot=2000, alpha=0.05 / 11, rng=np.random.default_rng(20261123))
    t = res.to_frame().query("method == 'markov'").set_index("channel")
    inside = [(t.loc[ch, "removal_effect_ci_lower"] - 1e-12 <= v <= t.loc[ch, "removal_effect_ci_upper"] + 1e-12)
              for ch, v in truth["removal_effects"].items()]
    assert len(inside) == 12 and all(inside), t.assign(truth=pd.Series(truth["removal_effects"]))
    lo, hi = res.conversion_probability_ci
    assert lo <= truth["conversion_probability"] <= hi
    assert list(t["removal_effect"].sort_values(ascending=False).index[:3]) == truth["removal_ranking"][:3]


def test_synthetic_world_transition_probabilities(world):
    truth = json.loads((world / "truth.json").read_text())["journeys"]
    states = truth["states"]
    P = pd.DataFrame(truth["transition_matrix"], index=states, columns=states)
    long = transition_matrix(world_journeys(world), alpha=0.001).to_frame()
    long = long[long.from_state != "(start)"]
    rename = {"(conversion)": "purchase", "(null)": "abandon"}
    true_p = [P.loc[f, rename.get(to, to)] for f, to in zip(long.from_state, long.to_state)]
    inside = (long.ci_lower.to_numpy() <= true_p) & (np.array(true_p) <= long.ci_upper.to_numpy())
    assert len(long) > 40 and inside.all(), long[~inside]
    # and no transition the chain forbids was observed
    assert all(p > 0 for p in true_p)


def _log_with_censoring(seed=4, n=300):
    rng = np.random.default_rng(seed)
    rows, t0 = [], pd.Timestamp("2025-01-01")
    for c in range(n):
        t = t0 + pd.Timedelta(hours=int(rng.integers(0, 200)))
        for _ in range(int(rng.integers(1, 7))):
            t += pd.Timedelta(minutes=int(rng.choice([2, 10, 120])))
            rows.append((f"c{c}", t, str(rng.choice(["ad", "email", "search", "search", "purchase"]))))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("censored", ["exclude", "abandonment"])
def test_point_estimates_without_bootstrap_equal_the_per_path_computation(order, censored):
    """n_boot=0 aggregates straight from the events (or journey rows); n_boot>0 builds per-path incidence."""
    js = journeyize(_log_with_censoring(), gap="1h")
    assert js.outcomes().set_index("outcome")["journeys"].min() > 0  # conversions, abandonments and censored
    fast = attribute(js, n_boot=0, order=order, censored=censored)
    slow = attribute(js, n_boot=2, rng=0, order=order, censored=censored)
    a, b = fast.to_frame(), slow.to_frame()
    assert a[["method", "channel"]].equals(b[["method", "channel"]]) and len(a) == 4 * 3
    np.testing.assert_array_equal(a["removal_effect"].to_numpy(), b["removal_effect"].to_numpy())
    np.testing.assert_allclose(a["share"], b["share"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(a["conversions"], b["conversions"], rtol=0, atol=1e-9)
    assert fast.conversion_probability == slow.conversion_probability
    assert (fast.n_journeys, fast.n_conversions) == (slow.n_journeys, slow.n_conversions)
    n_cens = int(js.outcomes().set_index("outcome").loc["censored", "journeys"])
    assert fast.n_journeys == js.n_journeys - (n_cens if censored == "exclude" else 0)
