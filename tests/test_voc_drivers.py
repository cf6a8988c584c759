"""Tests of cxlib.voc.drivers: relative weights, key-driver table, theme drivers, quadrant data."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from cxlib.errors import DataContractError, ParameterError, SmallSampleWarning
from cxlib.voc import by_segment
from cxlib.voc.drivers import (DRIVER_COLUMNS, QUADRANT_COLUMNS, DriverResult, impact_performance, key_drivers,
                               relative_weights, theme_sentiment_drivers)


def _r2(x, y):
    return sm.OLS(y, sm.add_constant(x)).fit().rsquared if x.shape[1] else 0.0


def test_relative_weights_sum_to_r2_and_equal_squared_correlations_when_orthogonal():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(300, 3))
    x, _ = np.linalg.qr(raw - raw.mean(axis=0))  # combinations of centred columns: centred and uncorrelated
    y = x @ np.array([3.0, 1.0, 0.0]) + 0.05 * rng.normal(size=300)
    w, r2 = relative_weights(x, y)
    assert r2 == pytest.approx(_r2(x, y), rel=1e-10)
    r = np.array([np.corrcoef(x[:, j], y)[0, 1] for j in range(3)])
    assert w == pytest.approx(r**2, abs=1e-3)


def test_relative_weights_close_to_general_dominance():
    # Johnson (2000) reports relative weights within a few hundredths of dominance weights
    rng = np.random.default_rng(4)
    z = rng.normal(size=(2000, 1))
    x = np.column_stack([z[:, 0] + rng.normal(size=2000), z[:, 0] + rng.normal(size=2000), rng.normal(size=2000)])
    y = x @ np.array([1.0, 0.5, 0.3]) + rng.normal(size=2000)
    w, r2 = relative_weights(x, y)
    p = 3
    dom = np.zeros(p)
    for j in range(p):
        others = [k for k in range(p) if k != j]
        by_size = []
        for size in range(p):
            gains = [_r2(x[:, [*s, j]], y) - _r2(x[:, list(s)], y) for s in itertools.combinations(others, size)]
            by_size.append(np.mean(gains))
        dom[j] = np.mean(by_size)
    assert dom.sum() == pytest.approx(r2, rel=1e-8)
    assert w == pytest.approx(dom, abs=0.01)


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(11)
    n = 1500
    d = pd.DataFrame({"staff": rng.normal(size=n), "price": rng.normal(size=n), "noise": rng.normal(size=n)})
    d["nps"] = 1.5 * d.staff + 0.75 * d.price + rng.normal(size=n)
    return d


def test_key_drivers_recover_planted_importance(planted):
    r = key_drivers(planted, drivers=["noise", "price", "staff"], rng=np.random.default_rng(1), n_boot=300)
    t = r.to_frame()
    assert t.columns.tolist() == list(DRIVER_COLUMNS)
    assert t["driver"].tolist() == ["staff", "price", "noise"]
    # planted shares of R^2: 1.5^2 / (1.5^2 + 0.75^2) = 0.8 and 0.2
    for name, share in (("staff", 0.8), ("price", 0.2), ("noise", 0.0)):
        row = t.set_index("driver").loc[name]
        assert row.importance_ci_lower - 0.02 <= share <= row.importance_ci_upper + 0.02
        assert row.importance == pytest.approx(share, abs=0.03)
    assert t["importance"].sum() == pytest.approx(1)
    # standardised coefficients agree with statsmodels on z-scores
    z = (planted - planted.mean()) / planted.std()
    fit = sm.OLS(z["nps"], sm.add_constant(z[["staff", "price", "noise"]])).fit(cov_type="HC3")
    assert t.set_index("driver").loc["staff", "coefficient"] == pytest.approx(fit.params["staff"])
    assert t.set_index("driver").loc["staff", "coef_se"] == pytest.approx(fit.bse["staff"])
    assert r.r_squared == pytest.approx(fit.rsquared) and r.n == 1500


def test_key_drivers_are_reproducible_from_the_seed(planted):
    a = key_drivers(planted, drivers=["staff", "price"], rng=np.random.default_rng(9), n_boot=50).to_frame()
    b = key_drivers(planted, drivers=["staff", "price"], rng=np.random.default_rng(9), n_boot=50).to_frame()
    c = key_drivers(planted, drivers=["staff", "price"], rng=np.random.default_rng(10), n_boot=50).to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["importance_ci_lower"], c["importance_ci_lower"])


def test_key_drivers_reject_bad_input(planted):
    rng = np.random.default_rng(0)
    with pytest.raises(ParameterError, match="empty"):
        key_drivers(planted, drivers=[], rng=rng)
    with pytest.raises(DataContractError, match="wait"):
        key_drivers(planted, drivers=["wait"], rng=rng)
    with pytest.raises(ParameterError, match=r"\['flat'\] do not vary"):
        key_drivers(planted.assign(flat=0.0), drivers=["staff", "flat"], rng=rng)
    with pytest.raises(ParameterError, match="3 rows for 2 drivers"):
        key_drivers(planted.head(3), drivers=["staff", "price"], rng=rng)
    with pytest.warns(SmallSampleWarning, match="30 rows for 3 drivers"):
        key_drivers(planted.head(30), drivers=["staff", "price", "noise"], rng=rng, n_boot=20)


def test_theme_sentiment_drivers_keep_nan_for_missing_comments():
    tags = pd.DataFrame({"staff": [True, False, True], "app": [False, True, True]}, index=[7, 8, 9])
    out = theme_sentiment_drivers(tags, pd.Series([0.5, np.nan, -0.9], index=[7, 8, 9]), prefix="theme_")
    assert out.columns.tolist() == ["theme_staff", "theme_app"]
    assert out.loc[7].tolist() == [0.5, 0.0] and out.loc[8].isna().all() and out.loc[9].tolist() == [-0.9, -0.9]
    with pytest.raises(ParameterError, match="index"):
        theme_sentiment_drivers(tags, pd.Series([0.1, 0.2, 0.3]))


def test_quadrants_from_scales_and_explicit_performance():
    t = pd.DataFrame({"driver": ["csat", "ces", "staff", "stock"], "importance": [0.4, 0.3, 0.2, 0.1],
                      "importance_ci_lower": [0.3, 0.2, 0.1, 0.0], "importance_ci_upper": [0.5, 0.4, 0.3, 0.2],
                      "n": 500})
    r = DriverResult("nps", t, 0.4, 500, {"csat": 4.6, "ces": 5.5, "staff": 0.5, "stock": -0.4})
    q = impact_performance(r, scales={"csat": (1, 5), "ces": (7, 1)})
    assert q.columns.tolist() == list(QUADRANT_COLUMNS)
    assert q["performance"].tolist() == pytest.approx([90.0, 25.0, 75.0, 30.0])
    assert q["impact_cut"].iloc[0] == pytest.approx(0.25) and q["performance_cut"].iloc[0] == pytest.approx(55.0)
    assert q["quadrant"].tolist() == ["keep up", "fix first", "possible overkill", "monitor"]
    q2 = impact_performance(r, performance={"stock": 99.0}, scales={"csat": (1, 5), "ces": (7, 1)}, split="median")
    assert q2.set_index("driver").loc["stock", "performance"] == 99.0
    with pytest.raises(ParameterError, match="split='max'"):
        impact_performance(r, split="max")


def test_key_drivers_by_segment_equal_each_segment_with_its_spawned_generator(planted):
    d = planted.assign(tier=np.where(np.arange(len(planted)) % 2 == 0, "a", "b"))
    out = by_segment(key_drivers, d, segment="tier", drivers=["staff", "price", "noise"], rng=np.random.default_rng(4),
                     n_boot=50)
    assert out.columns.tolist() == ["tier", *DRIVER_COLUMNS] and out["tier"].tolist() == ["a"] * 3 + ["b"] * 3
    children = np.random.default_rng(4).spawn(2)
    for tier, child in zip("ab", children):
        own = key_drivers(d[d.tier == tier], drivers=["staff", "price", "noise"], rng=child, n_boot=50).table
        pd.testing.assert_frame_equal(out[out.tier == tier].drop(columns="tier").reset_index(drop=True), own)
    assert out.loc[out.tier == "a", "n"].iloc[0] == 750
    flat = d.assign(noise=np.where(d.tier == "b", 0.0, d.noise))
    with pytest.raises(ParameterError, match="Segment 'b'"):
        by_segment(key_drivers, flat, segment="tier", drivers=["staff", "price", "noise"],
                   rng=np.random.default_rng(4), n_boot=10)


def test_key_drivers_old_by_keyword_still_splits_and_warns(planted):
    d = planted.assign(tier=np.where(np.arange(len(planted)) % 2 == 0, "gold", "basic"))
    kw = dict(drivers=["staff", "price", "noise"], n_boot=20)
    new = by_segment(key_drivers, d, segment="tier", rng=np.random.default_rng(4), **kw)
    with pytest.warns(DeprecationWarning, match=r"key_drivers\(by=\.\.\.\) .*cxlib\.voc\.by_segment\(key_drivers"):
        old = key_drivers(d, by="tier", rng=np.random.default_rng(4), **kw)
    pd.testing.assert_frame_equal(old, new)
    assert isinstance(key_drivers(d, rng=np.random.default_rng(4), **kw), DriverResult)
