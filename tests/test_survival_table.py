"""Tests of cxlib.survival.table: censoring and the immortal-time guard."""
from __future__ import annotations

import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.survival import covariates_as_of, landmark, survival_table


def subs():
    return pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-07-01"]),
        "end_date": pd.to_datetime(["2024-01-15", None, "2024-08-01", None]),
    })


def test_durations_events_and_censoring_at_observation_end():
    t = survival_table(subs(), observation_end="2024-06-30")
    assert t["customer_id"].tolist() == ["a", "b", "c"]  # d starts after the end
    assert t["duration"].tolist() == [14.0, 181.0, 150.0]
    assert t["event"].tolist() == [1, 0, 0]  # c cancels after the end: censored
    weeks = survival_table(subs(), observation_end="2024-06-30", time_unit="week")
    assert weeks["duration"].iloc[0] == pytest.approx(2.0)


def test_bad_input():
    s = subs()
    s.loc[0, "end_date"] = pd.Timestamp("2023-12-01")
    with pytest.raises(DataContractError, match="end before"):
        survival_table(s, observation_end="2024-06-30")
    with pytest.raises(ParameterError):
        survival_table(subs(), observation_end="2024-06-30", time_unit="month")


def test_landmark_drops_the_immortal_time():
    t = survival_table(subs(), observation_end="2024-06-30")
    lm = landmark(t, at=30)
    assert lm["customer_id"].tolist() == ["b", "c"]
    assert lm["duration"].tolist() == [151.0, 120.0]
    assert lm.attrs["dropped_before_landmark"] == 1


def test_covariates_measured_after_the_landmark_are_ignored():
    t = survival_table(subs(), observation_end="2024-06-30")
    surveys = pd.DataFrame({"customer_id": ["b", "b", "c"],
                            "responded_at": pd.to_datetime(["2024-01-10", "2024-03-01", "2024-04-01"]),
                            "nps": [9, 2, 5]})
    out = covariates_as_of(t, surveys, key="customer_id", measured_at_col="responded_at", value_cols=["nps"],
                           landmark_days=30)
    assert out.set_index("customer_id")["nps"].to_dict() == pytest.approx({"a": float("nan"), "b": 9.0,
                                                                           "c": float("nan")}, nan_ok=True)
