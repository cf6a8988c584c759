"""Tests of cxlib.journey.funnel: counts (ordered, strict, windowed), segments and the two-segment test."""
from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.errors import DataContractError, ParameterError
from cxlib.journey import compare_funnels, from_paths, funnel, journeyize
from cxlib.journey.funnel import FUNNEL_COLUMNS, FUNNEL_COMPARISON_COLUMNS

STEPS = ["a", "b", "c"]


def paths():
    return from_paths(pd.DataFrame({"path": ["a > b > c", "a > x > b", "a", "b > c", "a > c > b > c"],
                                    "conversions": [0] * 5, "nulls": [4, 3, 2, 1, 5]}))


def test_ordered_and_strict_counts():
    f = funnel(paths(), STEPS).to_frame()
    assert list(f.columns) == list(FUNNEL_COLUMNS)
    assert f["n_reached"].tolist() == [14, 12, 9]
    assert f["n_journeys"].iloc[0] == 15 and f["drop_off"].tolist()[1:] == [2, 3]
    assert f["overall_rate"].iloc[-1] == pytest.approx(9 / 14)
    assert np.isnan(f["step_rate"].iloc[0]) and f["step_rate"].iloc[2] == pytest.approx(9 / 12)
    s = funnel(paths(), STEPS, strict=True).to_frame()
    assert s["n_reached"].tolist() == [14, 4, 4]  # 'a > c > b > c' has no a directly followed by b


def test_window_uses_the_best_start():
    t = pd.Timestamp("2025-01-01")
    ev = pd.DataFrame({"customer_id": ["u"] * 4 + ["v"] * 3,
                       "timestamp": [t, t + pd.Timedelta("20min"), t + pd.Timedelta("21min"), t + pd.Timedelta("22min"),
                                     t, t + pd.Timedelta("20min"), t + pd.Timedelta("25min")],
                       "touchpoint": ["a", "a", "b", "c", "a", "b", "c"]})
    js = journeyize(ev, gap="1h")
    f = funnel(js, STEPS, window="10min").to_frame()
    # u: the second 'a' reaches c within 2 min; v: b comes 20 min after its only a
    assert f["n_reached"].tolist() == [2, 1, 1]
    assert funnel(js, STEPS).to_frame()["n_reached"].tolist() == [2, 2, 2]
    with pytest.raises(ParameterError, match="needs event times"):
        funnel(paths(), STEPS, window="1h")


def segment_journeys(rate_b_gold=0.8, rate_b_bronze=0.4, n=400, seed=3):
    """n customers per tier; each journey a, then b with the tier's rate, then c with probability 0.5."""
    rng = np.random.default_rng(seed)
    rows, cust = [], []
    t = pd.Timestamp("2025-01-01")
    for tier, rate in (("gold", rate_b_gold), ("bronze", rate_b_bronze)):
        for i in range(n):
            cid = f"{tier}{i}"
            cust.append((cid, tier))
            steps = ["a"] + (["b"] + (["c"] if rng.random() < 0.5 else []) if rng.random() < rate else [])
            rows += [(cid, t + pd.Timedelta(minutes=j), s) for j, s in enumerate(steps)]
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])
    return journeyize(ev, gap="1h"), pd.DataFrame(cust, columns=["customer_id", "loyalty_tier"])


def test_segments_from_frame_and_from_table():
    js, cust = segment_journeys()
    f = funnel(js, STEPS, segment="loyalty_tier", segments=cust)
    assert f.segments == ["bronze", "gold"]
    tab = f.to_frame().set_index(["segment", "step"])
    assert tab.loc[("gold", "a"), "n_reached"] == 400
    js.backend.con.register("customers", cust)
    g = funnel(js, STEPS, segment="loyalty_tier", segments="customers").to_frame()
    pd.testing.assert_frame_equal(f.to_frame(), g)
    with pytest.raises(DataContractError, match="customer_id"):
        funnel(js, STEPS, segment="tier", segments=cust)


def test_two_segment_test_detects_a_difference_and_matches_scipy():
    js, cust = segment_journeys()
    f = funnel(js, STEPS, segment="loyalty_tier", segments=cust)
    cmp = compare_funnels(f, "gold", "bronze")
    tab = cmp.to_frame()
    assert list(tab.columns) == list(FUNNEL_COMPARISON_COLUMNS) and len(tab) == 3
    assert cmp.group_a == "gold" and cmp.group_b == "bronze"
    t = f.to_frame().set_index(["segment", "step_index"])["n_reached"]
    exits = np.array([[t["gold", 1] - t["gold", 2], t["gold", 2] - t["gold", 3], t["gold", 3]],
                      [t["bronze", 1] - t["bronze", 2], t["bronze", 2] - t["bronze", 3], t["bronze", 3]]])
    chi2, p, dof, _ = stats.chi2_contingency(exits, correction=False)
    assert tab["statistic"].iloc[0] == pytest.approx(chi2) and tab["dof"].iloc[0] == dof == 2
    assert cmp.p_value == pytest.approx(p) and p < 1e-10
    step_b = tab[tab["step"] == "b"].iloc[0]
    assert step_b["difference"] > 0.3 and step_b["p_adjusted"] < 1e-10
    assert step_b["difference"] == pytest.approx(step_b["estimate_a"] - step_b["estimate_b"])
    assert step_b["ci_lower"] < step_b["difference"] < step_b["ci_upper"]
    step_c = tab[tab["step"] == "c"].iloc[0]  # same 0.5 rate in both tiers
    assert step_c["p_value"] > 0.01 and step_c["ci_lower"] < 0 < step_c["ci_upper"]
    # z^2 equals the 2x2 chi-square without continuity correction
    k1, n1, k2, n2 = t["gold", 3], t["gold", 2], t["bronze", 3], t["bronze", 2]
    chi_c = stats.chi2_contingency([[k1, n1 - k1], [k2, n2 - k2]], correction=False)[0]
    assert step_c["statistic"] ** 2 == pytest.approx(chi_c)


def test_equal_segments_are_not_flagged():
    js, cust = segment_journeys(rate_b_gold=0.6, rate_b_bronze=0.6, seed=11)
    cmp = compare_funnels(funnel(js, STEPS, segment="loyalty_tier", segments=cust), "gold", "bronze")
    assert cmp.p_value > 0.05


def test_bad_arguments():
    with pytest.raises(ParameterError, match="at least two"):
        funnel(paths(), ["a"])
    f = funnel(paths(), STEPS)
    with pytest.raises(ParameterError, match="not in the funnel"):
        compare_funnels(f, "all", "gold")


def random_log(seed, n_customers=60, explicit=True):
    """Small random event log over touchpoints a, b, c, x and 'purchase' (several journeys per customer)."""
    rng = np.random.default_rng(seed)
    rows = []
    t0 = pd.Timestamp("2025-01-01")
    for c in range(n_customers):
        t = t0 + pd.Timedelta(minutes=int(rng.integers(0, 600)))
        for e in range(int(rng.integers(1, 12))):
            t += pd.Timedelta(minutes=int(rng.choice([1, 5, 90])))
            rows.append((f"c{c}", f"j{c}-{e // 6}", t, str(rng.choice(["a", "b", "c", "x", "a", "purchase"]))))
    ev = pd.DataFrame(rows, columns=["customer_id", "journey_id", "timestamp", "touchpoint"])
    return ev if explicit else ev.drop(columns="journey_id")


def greedy_levels(js, steps):
    """Reference: furthest funnel level of every journey by a plain Python scan of its touchpoints."""
    out = []
    for tps in js.to_frame()["touchpoints"]:
        level = 0
        for tp in tps:
            if level < len(steps) and tp == steps[level]:
                level += 1
        out.append(level)
    return np.bincount(out, minlength=len(steps) + 1)


@pytest.mark.parametrize("explicit", [True, False])
@pytest.mark.parametrize("steps", [["a", "b", "c"], ["a", "b", "a", "purchase"], ["a", "a", "purchase"]])
def test_single_pass_funnel_equals_reference_and_join_path(explicit, steps):
    js = journeyize(random_log(11, explicit=explicit), gap="1h")
    per_level = greedy_levels(js, steps)
    expected = per_level[::-1].cumsum()[::-1][1:].tolist()
    fast = funnel(js, steps).to_frame()
    assert fast["n_reached"].tolist() == expected
    assert fast["n_journeys"].iloc[0] == js.n_journeys == per_level.sum()
    # a window longer than any journey takes the join-based path: same counts
    joined = funnel(js, steps, window="3650D").to_frame()
    assert joined["n_reached"].tolist() == expected
    # path-level input folds the touchpoint lists: same counts again
    pf = js.to_frame()
    counts = pf.assign(p=[" > ".join(p) for p in pf["path"]]).groupby("p")["converted"].agg(["sum", "size"])
    fp = from_paths(pd.DataFrame({"path": counts.index, "conversions": counts["sum"],
                                  "nulls": counts["size"] - counts["sum"]}), conversion="purchase")
    assert funnel(fp, steps).to_frame()["n_reached"].tolist() == expected


def test_single_pass_funnel_segments_match_per_segment_counts():
    ev = random_log(5)
    tiers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(0, 60, 2)], "tier": "even"})
    js = journeyize(ev, gap="1h")
    f = funnel(js, STEPS, segment="tier", segments=tiers).to_frame()
    assert f["segment"].unique().tolist() == ["(missing)", "even"]
    jf = js.to_frame()
    for seg, mask in (("even", jf["customer_id"].isin(tiers["customer_id"])),
                      ("(missing)", ~jf["customer_id"].isin(tiers["customer_id"]))):
        lv = [0] * len(STEPS)
        for tps in jf.loc[mask, "touchpoints"]:
            level = 0
            for tp in tps:
                if level < len(STEPS) and tp == STEPS[level]:
                    level += 1
            for i in range(level):
                lv[i] += 1
        got = f[f["segment"] == seg]
        assert got["n_reached"].tolist() == lv and got["n_journeys"].iloc[0] == int(mask.sum())
    by_outcome = funnel(js, STEPS, segment="outcome").to_frame()
    total = funnel(js, STEPS).to_frame()["n_reached"].tolist()
    assert by_outcome.groupby("step_index")["n_reached"].sum().tolist() == total
