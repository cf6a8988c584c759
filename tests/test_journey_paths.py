"""Tests of cxlib.journey.paths: top paths, the (other) bucket, collapsing repeats, path lengths."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.journey import from_paths, journeyize, path_lengths, top_paths
from cxlib.journey.paths import OTHER, PATH_COLUMNS


def random_events(n_customers=300, seed=7) -> pd.DataFrame:
    """A small seeded log: each customer one journey of 1-5 steps over 4 touchpoints, 40% end in purchase."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        t = pd.Timestamp("2025-03-01") + pd.Timedelta(hours=int(c))
        steps = list(rng.choice(["a", "b", "c", "d"], size=rng.integers(1, 6), p=[0.4, 0.3, 0.2, 0.1]))
        if rng.random() < 0.4:
            steps.append("purchase")
        for s in steps:
            t += pd.Timedelta(seconds=int(rng.integers(10, 300)))
            rows.append((f"C{c:04d}", t, s))
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])


def test_top_paths_match_pandas_groupby():
    ev = random_events()
    js = journeyize(ev, gap="1h")
    res = top_paths(js, k=5)
    tab = res.to_frame()
    assert list(tab.columns) == list(PATH_COLUMNS) and len(tab) == 6
    # reference in pandas: path = steps before purchase
    per = ev.groupby("customer_id").agg(steps=("touchpoint", list), t0=("timestamp", "min"), t1=("timestamp", "max"))
    per["conv"] = per["steps"].map(lambda s: s[-1] == "purchase")
    per["path"] = per.apply(lambda r: " > ".join(r["steps"][:-1] if r["conv"] else r["steps"]), axis=1)
    per["dur"] = (per["t1"] - per["t0"]).dt.total_seconds()
    counts = per.groupby("path").size().sort_values(ascending=False, kind="mergesort")
    ref = counts.reset_index().sort_values([0, "path"], ascending=[False, True]).head(5)
    assert tab["path"].iloc[:5].tolist() == ref["path"].tolist()
    assert tab["journeys"].iloc[:5].tolist() == ref[0].tolist()
    top = tab.iloc[0]
    g = per[per["path"] == top["path"]]
    assert top["conversions"] == g["conv"].sum()
    assert top["median_duration_s"] == pytest.approx(g["dur"].median())
    assert top["duration_ci_lower"] <= top["median_duration_s"] <= top["duration_ci_upper"]
    other = tab.iloc[-1]
    assert other["path"] == OTHER and np.isnan(other["length"])
    assert tab["journeys"].sum() == 300 and tab["share"].sum() == pytest.approx(1.0)
    assert other["variants"] == per["path"].nunique() - 5 == res.n_variants - 5
    assert (tab["ci_lower"] <= tab["conversion_rate"]).all() and (tab["conversion_rate"] <= tab["ci_upper"]).all()


def test_collapse_repeats_and_include_conversion():
    js = from_paths(pd.DataFrame({"path": ["a > a > b", "a > b", "b > b"], "conversions": [1, 2, 3],
                                  "nulls": [0, 1, 0]}))
    tab = top_paths(js, k=3, collapse_repeats=True).to_frame()
    assert tab.set_index("path").loc["a > b", "journeys"] == 4
    assert tab.set_index("path").loc["b", "conversions"] == 3
    full = top_paths(js, k=10, include_conversion=True).to_frame()
    assert "a > b > (conversion)" in set(full["path"])
    assert full.iloc[-1]["journeys"] == 0  # empty (other) bucket when k covers all paths


def test_path_lengths_and_wilson_interval():
    js = from_paths(pd.DataFrame({"path": ["a", "a > b", "a > b > c"], "conversions": [10, 20, 5],
                                  "nulls": [90, 30, 5]}))
    pl = path_lengths(js)
    assert pl["length"].tolist() == [1, 2, 3] and pl["journeys"].tolist() == [100, 50, 10]
    row = pl.iloc[0]
    # Wilson interval of 10/100 at 95%: statsmodels proportion_confint(10, 100, method="wilson")
    assert (row["ci_lower"], row["ci_upper"]) == pytest.approx((0.05522913706067509, 0.17436566150491348), abs=1e-12)


def test_bad_k():
    js = from_paths(pd.DataFrame({"path": ["a"], "conversions": [1], "nulls": [1]}))
    with pytest.raises(ParameterError, match="k=0"):
        top_paths(js, k=0)
