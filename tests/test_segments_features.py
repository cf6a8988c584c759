"""Tests for cxlib/segments/features.py: the DuckDB customer feature table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.segments.features import FEATURE_COLUMNS, customer_features

ts = pd.Timestamp


def _tables():
    return {
        "customers": pd.DataFrame({"customer_id": ["C1", "C2", "C3"],
                                   "signup_date": [ts("2025-01-01"), ts("2025-03-01"), ts("2026-02-01")],
                                   "region": ["North", "South", "East"], "age_band": ["25-34"] * 3,
                                   "loyalty_tier": ["gold", "bronze", "silver"], "acquisition_channel": ["web"] * 3}),
        "transactions": pd.DataFrame({"customer_id": ["C1", "C1", "C1"],
                                      "timestamp": [ts("2025-03-01"), ts("2025-03-11 12:00"), ts("2025-05-01")],
                                      "amount": [10.0, 30.0, 999.0], "items": [1, 3, 1], "returned_items": [0, 1, 0]}),
        "events": pd.DataFrame({"customer_id": ["C2", "C2", "C2", "C2"], "journey_id": ["J1", "J1", "J2", "J3"],
                                "timestamp": [ts("2025-03-05 10:00"), ts("2025-03-05 10:05"), ts("2025-03-20"),
                                              ts("2024-01-01")]}),
        "survey_responses": pd.DataFrame({"customer_id": ["C1", "C1", "C1"],
                                          "responded_at": [ts("2025-02-01"), ts("2025-03-01"), ts("2025-04-02")],
                                          "nps": [3, 9, 0], "csat": [2, None, 1], "ces": [None, None, 7]}),
        "tickets": pd.DataFrame({"customer_id": ["C2", "C2"], "opened_at": [ts("2025-03-02"), ts("2025-03-03")],
                                 "resolved_at": [pd.NaT, ts("2025-04-05")], "ticket_type": ["complaint", "inquiry"]}),
    }


def test_rfm_engagement_and_cx_features_from_hand_computed_tables():
    f = customer_features(_tables(), observation_end="2025-03-31")
    assert list(f.columns) == list(FEATURE_COLUMNS) and f.index.tolist() == ["C1", "C2"]  # C3 signed up later
    c1 = f.loc["C1"]
    # last purchase 2025-03-11 12:00, end of observation 2025-04-01 00:00: 20.5 days
    assert c1["recency_days"] == pytest.approx(20.5)
    assert (c1["frequency"], c1["monetary"], c1["total_spend"]) == (2.0, 20.0, 40.0)
    assert c1["returned_share"] == pytest.approx(1 / 4)
    assert c1["purchases_per_month"] == pytest.approx(2 / 90 * 30.4375)  # 89 days of tenure + the end day
    assert (c1["latest_nps"], c1["latest_csat"], c1["responses"]) == (9.0, 2.0, 2.0)
    assert np.isnan(c1["latest_ces"])
    c2 = f.loc["C2"]
    assert (c2["frequency"], c2["total_spend"]) == (0.0, 0.0) and np.isnan(c2["recency_days"])
    assert (c2["events"], c2["active_days"], c2["journeys"]) == (3.0, 2.0, 2.0)  # the 2024 event is outside the year
    assert (c2["tickets"], c2["complaints"], c2["open_tickets"]) == (2.0, 1.0, 2.0)  # resolved after the end: open


def test_nothing_after_the_observation_end_is_used():
    early = customer_features(_tables(), observation_end="2025-03-31")
    late = customer_features(_tables(), observation_end="2025-05-31")
    assert early.loc["C1", "latest_nps"] == 9.0 and late.loc["C1", "latest_nps"] == 0.0
    assert early.loc["C1", "frequency"] == 2.0 and late.loc["C1", "frequency"] == 3.0
    assert late.loc["C2", "open_tickets"] == 1.0


def test_journeys_fall_back_to_active_days_without_journey_id():
    tables = _tables()
    tables["events"] = tables["events"].drop(columns="journey_id")
    f = customer_features(tables, observation_end="2025-03-31")
    assert f.loc["C2", "journeys"] == f.loc["C2", "active_days"] == 2.0


def test_missing_table_or_column_is_a_contract_error():
    tables = _tables()
    del tables["tickets"]
    with pytest.raises(DataContractError, match="tickets"):
        customer_features(tables, observation_end="2025-03-31")
    tables = _tables()
    tables["transactions"] = tables["transactions"].drop(columns="amount")
    with pytest.raises(DataContractError, match="amount"):
        customer_features(tables, observation_end="2025-03-31")
    with pytest.raises(ParameterError):
        customer_features(_tables(), observation_end="2025-03-31", engagement_days=0)


def test_dataset_connection_gives_one_row_per_customer(tmp_path):
    from cxlib.data import load
    from cxlib.synth import generate
    generate(tmp_path / "w", n_customers=300, seed=3)
    ds = load(tmp_path / "w")
    f = customer_features(ds, observation_end="2025-12-31")
    assert len(f) == len(ds.customers) == 300
    assert f["frequency"].sum() == len(ds.transactions)  # every basket counted once, all before the end
    assert f["responses"].sum() == len(ds.survey_responses)
