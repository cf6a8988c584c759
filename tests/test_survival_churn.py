"""The report's churn model (cxlib/survival/churn.py): fit_churn_model is churn_frame + cox_design + fit_cox."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib import survival as sv
from cxlib.errors import DataContractError


def _tables(n: int = 300, seed: int = 5) -> dict[str, pd.DataFrame]:
    """A small world with a planted detractor effect (hazard x2) and plan levels, censored at 2025-12-31."""
    rng = np.random.default_rng(seed)
    ids = [f"C{i:07d}" for i in range(n)]
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D")
    detractor = rng.random(n) < 0.4
    plan = rng.choice(["basic", "plus", "premium"], n)
    life = rng.exponential(400 / np.where(detractor, 2.0, 1.0)) + 2
    end = start + pd.to_timedelta(np.round(life), unit="D")
    end = pd.Series(end).where(end <= pd.Timestamp("2025-12-31"))
    subs = pd.DataFrame({"subscription_id": [f"S{i}" for i in range(n)], "customer_id": ids, "plan": plan,
                         "start_date": start, "end_date": end})
    customers = pd.DataFrame({"customer_id": ids, "region": rng.choice(["north", "south"], n)})
    answered = np.flatnonzero(rng.random(n) < 0.7)
    nps = np.where(detractor[answered], rng.integers(0, 7, len(answered)), rng.integers(7, 11, len(answered)))
    survey = pd.DataFrame({"customer_id": [ids[i] for i in answered], "touchpoint": "onboarding", "nps": nps,
                           "responded_at": start[answered] + pd.Timedelta(hours=10)})
    tickets = pd.DataFrame({"customer_id": ids[:20], "opened_at": start[:20] - pd.Timedelta(days=3),
                            "resolved_at": pd.NaT})
    return {"subscriptions": subs, "customers": customers, "survey_responses": survey, "tickets": tickets}


def test_fit_churn_model_is_the_frame_the_design_and_the_cox_fit():
    t = _tables()
    model = sv.fit_churn_model(t, observation_end="2025-12-31 18:00")
    frame = sv.churn_frame(t["subscriptions"], customers=t["customers"], survey_responses=t["survey_responses"],
                           tickets=t["tickets"], observation_end="2025-12-31", landmark_days=1)
    design, labels = sv.cox_design(frame, covariates=list(sv.DEFAULT_COX_COVARIATES))
    cox = sv.fit_cox(design)
    pd.testing.assert_frame_equal(model.frame, frame)
    pd.testing.assert_frame_equal(model.design, design)
    pd.testing.assert_frame_equal(model.cox.table, cox.table)
    assert dict(model.labels) == labels and model.observation_end == pd.Timestamp("2025-12-31")
    pd.testing.assert_frame_equal(model.risk(90), sv.churn_risk(cox, design[frame["event"] == 0], horizon=90))
    hr = model.cox.table.set_index("term").loc["detractor", "ratio"]
    assert 1.3 < hr < 3.2  # planted 2.0
    assert "ChurnModel(subscriptions=" in repr(model)


def test_segment_columns_ride_along_without_changing_the_fit():
    t = _tables()
    plain = sv.fit_churn_model(t, observation_end="2025-12-31")
    with_region = sv.fit_churn_model(t, observation_end="2025-12-31", segment=["region"])
    assert "region" in with_region.frame.columns and "region" not in plain.frame.columns
    pd.testing.assert_frame_equal(with_region.cox.table, plain.cox.table)
    pd.testing.assert_frame_equal(with_region.risk(30), plain.risk(30))


def test_a_missing_table_is_named():
    t = _tables()
    del t["subscriptions"]
    with pytest.raises(DataContractError, match="subscriptions"):
        sv.fit_churn_model(t, observation_end="2025-12-31")


def test_without_tickets_nobody_has_an_unresolved_ticket():
    """A dataset without tickets (cxlib.requirements then drops the covariate) still gives the churn frame."""
    t = _tables()
    full = sv.churn_frame_of(t, observation_end="2025-12-31")
    del t["tickets"]
    frame = sv.churn_frame_of(t, observation_end="2025-12-31")
    assert frame["unresolved_ticket"].eq(0).all() and len(frame) == len(full)
    assert frame["detractor"].tolist() == full["detractor"].tolist()


@pytest.mark.parametrize("name", ["churn_frame", "cox_design", "CX_STATUS"])
def test_the_old_glue_names_warn_and_forward(name):
    from cxlib.sections import churn as sr
    with pytest.warns(DeprecationWarning, match=f"cxlib.survival.{name}"):
        old = getattr(sr, name)
    assert old is getattr(sv, name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sr.driver_table is not None  # the glue's own names do not warn
