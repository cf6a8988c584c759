"""The segment alert dimensions of notebooks/60_segments.ipynb (issue 9): the linear-time rewrite of the journey
cluster-robust tests and of the alert cells give exactly the results of the previous implementation.

The journey outcomes are no longer compared with the pre-issue-9 full sort: since issue 16 they are the one
journey definition of :mod:`cxlib.journey.sessions` (open journeys censored), tested in
``tests/test_journey_definition.py``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import data
from cxlib import segments as seg
from cxlib.actions import alerts, dashboard_alerts, families
from cxlib import stats as _core


def _old_cluster_mean_difference(y_a, clusters_a, y_b, clusters_b, *, alpha=0.05, alternative="two-sided"):
    labels = np.r_[np.asarray(clusters_a, dtype=object), np.asarray(clusters_b, dtype=object)]
    ya, yb = np.asarray(y_a, dtype=float), np.asarray(y_b, dtype=float)
    na, nb = ya.size, yb.size
    psi = np.r_[(ya - ya.mean()) / na, -(yb - yb.mean()) / nb]
    codes = pd.factorize(pd.Series(labels))[0]
    sums = np.bincount(codes, weights=psi)
    g, n = sums.size, na + nb
    var = g / (g - 1) * (n - 1) / (n - 2) * np.sum(sums**2) if g > 1 and n > 2 else np.nan
    diff = ya.mean() - yb.mean()
    t, p, lo, hi = _core.t_test(diff, np.sqrt(var), g - 1, alpha=alpha, alternative=alternative)
    return {"difference": np.asarray(diff), "se": np.sqrt(var), "statistic": t, "dof": np.asarray(g - 1.0),
            "p_value": p, "ci_lower": lo, "ci_upper": hi}


def _old_cells(frame, dimensions, include_overall):
    if include_overall:
        yield "all", "all", np.ones(len(frame), dtype=bool)
    for dim in dimensions:
        values = frame[dim].astype(object)
        for level in sorted(values.dropna().unique().tolist(), key=str):
            yield dim, str(level), (values == level).to_numpy()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from cxlib.synth import generate
    folder = tmp_path_factory.mktemp("alert_world") / "data"
    generate(folder, n_customers=1500, seed=3)
    return data.load(folder, tables=["customers", "transactions", "events", "subscriptions", "survey_responses",
                                     "tickets"])


def test_cells_equal_the_string_comparison():
    frame = pd.DataFrame({"a": ["x", None, "y", "x", np.nan, "10", "9"], "b": [3, 1, 2, 3, 1, 10, 9]})
    new, old = list(alerts._cells(frame, ["a", "b"], True)), list(_old_cells(frame, ["a", "b"], True))
    assert [(d, c) for d, c, _ in new] == [(d, c) for d, c, _ in old]
    for (_, _, m_new), (_, _, m_old) in zip(new, old):
        np.testing.assert_array_equal(m_new, m_old)


def test_integer_cluster_codes_give_identical_tests():
    rng = np.random.default_rng(7)
    ids = np.array([f"C{i:04d}" for i in rng.integers(0, 400, 3000)], dtype=object)
    y = rng.integers(0, 2, 3000).astype(float)
    codes = pd.factorize(ids)[0]
    a, b = slice(0, 1700), slice(1700, None)
    old = _old_cluster_mean_difference(y[a], ids[a], y[b], ids[b])
    for new in (_core.cluster_mean_difference(y[a], codes[a], y[b], codes[b]),
                _core.cluster_mean_difference(y[a], ids[a], y[b], ids[b])):
        assert new.keys() == old.keys()
        for k in old:
            np.testing.assert_array_equal(new[k], old[k])


@pytest.mark.parametrize("against", ["period", "rest"])
def test_dashboard_alerts_equal_the_previous_implementation(world, monkeypatch, against):
    end = pd.Timestamp("2025-12-31")
    features = seg.customer_features(world, observation_end=end)
    labels = seg.rfm_segments(features)["segment"].astype(str)
    segs = labels.rename("rfm_segment").rename_axis("customer_id").reset_index()
    kw = dict(period="2025Q4", comparison_period="2025Q3" if against == "period" else None, against=against,
              segment=["loyalty_tier", "region", "rfm_segment", "touchpoint", "channel", "unit_id"],
              segments=segs, padjust="fdr_bh", alpha=0.05, min_n=30)
    new = dashboard_alerts(world, **kw).table
    # the old spelling (dimensions=, segments= as a mapping of Series) gives the same table, with warnings
    old_kw = {k: v for k, v in kw.items() if k not in ("segment", "segments")}
    with pytest.warns(DeprecationWarning, match=r"dashboard_alerts\(dimensions=\.\.\.\)"), \
            pytest.warns(DeprecationWarning, match=r"mapping of name to Series"):
        legacy = dashboard_alerts(world, dimensions=kw["segment"], segments={"rfm_segment": labels}, **old_kw).table
    pd.testing.assert_frame_equal(legacy, new, check_exact=True)
    with monkeypatch.context() as m:
        m.setattr(families, "_with_cluster_codes", lambda frames, cluster: (list(frames), cluster))
        m.setattr(alerts, "_with_cluster_codes", lambda frames, cluster: (list(frames), cluster))
        m.setattr(families, "cluster_mean_difference", _old_cluster_mean_difference)
        m.setattr(families, "_cells", _old_cells)
        m.setattr(alerts, "_cells", _old_cells)
        old = dashboard_alerts(world, **kw).table
    assert new["p_value"].notna().sum() > 10  # the comparison covers tested cells of every family
    assert set(new.loc[new["p_value"].notna(), "family"]) == {"survey", "churn", "support", "journey"}
    pd.testing.assert_frame_equal(new, old, check_exact=True)
