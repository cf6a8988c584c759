"""The segment alert dimensions of notebooks/60_segments.ipynb (issue 9): the linear-time rewrite of the journey
outcomes and of the cluster-robust tests gives exactly the results of the previous implementation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import data
from cxlib import segments as seg
from cxlib.actions import alerts, dashboard_alerts, families
from cxlib.significance import _core


def _old_journeys(events: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The implementation before issue 9: sort every event of the data."""
    ev = events.sort_values(["journey_id", "timestamp"], kind="stable")
    g = ev.groupby("journey_id", sort=False)
    first = g.head(1).set_index("journey_id")
    out = pd.DataFrame({"customer_id": first["customer_id"], "timestamp": first["timestamp"],
                        "touchpoint": first["touchpoint"],
                        "value": (ev["touchpoint"] == "purchase").groupby(ev["journey_id"]).any().astype(float)
                        .reindex(first.index)})
    for col in ("channel", "unit_id"):
        if col in first:
            out[col] = first[col]
    ts = pd.to_datetime(out["timestamp"])
    return out[(ts >= start) & (ts < end)].reset_index(drop=True).assign(metric="conversion")


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


def test_journeys_equal_the_full_sort(world):
    events = world.events
    for period in ("2025Q3", "2025Q4", "2024Q1", "2030Q1"):
        start, end = (pd.Timestamp(x) for x in families.period_bounds(period))
        pd.testing.assert_frame_equal(families._journeys(events, start, end), _old_journeys(events, start, end),
                                      check_exact=True)


def test_journeys_edge_cases_equal_the_full_sort():
    t = pd.Timestamp("2025-09-30 23:00")
    h = pd.Timedelta(hours=1)
    events = pd.DataFrame({
        "journey_id": ["b", "a", "b", None, "c", "a", "d", None, "d", "c", "e"],
        "customer_id": ["C1", "C2", "C1", "C3", "C4", "C2", "C5", "C3", "C5", "C4", "C6"],
        # journeys across the window start, ties on the first timestamp, missing ids, a missing timestamp
        "timestamp": [t, t + h, t + 2 * h, t + h, t + h, t + h, t + 3 * h, t, pd.NaT, t + 5 * h, t + h],
        "touchpoint": ["homepage", "homepage", "purchase", "homepage", "cart", "purchase", "homepage", "purchase",
                       "homepage", "purchase", "homepage"],
        "channel": ["web", "app", "web", "web", "app", "app", "web", "web", "app", "app", "web"]})
    start, end = pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01")
    for frame in (events, events.iloc[::-1]):
        pd.testing.assert_frame_equal(families._journeys(frame, start, end), _old_journeys(frame, start, end),
                                      check_exact=True)


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
    segs = {"rfm_segment": seg.rfm_segments(features)["segment"].astype(str)}
    kw = dict(period="2025Q4", comparison_period="2025Q3" if against == "period" else None, against=against,
              dimensions=["loyalty_tier", "region", "rfm_segment", "touchpoint", "channel", "unit_id"],
              segments=segs, padjust="fdr_bh", alpha=0.05, min_n=30)
    new = dashboard_alerts(world, **kw).table
    with monkeypatch.context() as m:
        m.setattr(families, "_journeys", _old_journeys)
        m.setattr(families, "_with_cluster_codes", lambda frames, cluster: (list(frames), cluster))
        m.setattr(alerts, "_with_cluster_codes", lambda frames, cluster: (list(frames), cluster))
        m.setattr(families, "cluster_mean_difference", _old_cluster_mean_difference)
        m.setattr(families, "_cells", _old_cells)
        m.setattr(alerts, "_cells", _old_cells)
        old = dashboard_alerts(world, **kw).table
    assert new["p_value"].notna().sum() > 10  # the comparison covers tested cells of every family
    assert set(new.loc[new["p_value"].notna(), "family"]) == {"survey", "churn", "support", "journey"}
    pd.testing.assert_frame_equal(new, old, check_exact=True)
