"""Tests of cxlib.clv.rfm against CDNOW (FHL 2005) and hand-made logs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.clv.rfm import repeat_buyers, rfm_summary
from cxlib.errors import DataContractError, ParameterError

DATA = Path(__file__).parent / "data"


def cdnow_transactions() -> pd.DataFrame:
    tx = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["timestamp"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return tx


def test_cdnow_counts_match_fhl_2005():
    # FHL (2005): 2,357 customers, 39-week calibration ending 1997-09-30; FHL (2005b): 946 repeat buyers.
    rfm = rfm_summary(cdnow_transactions(), observation_end="1998-06-30", calibration_end="1997-09-30")
    assert len(rfm) == 2357
    assert (rfm["frequency"] > 0).sum() == 946
    assert len(repeat_buyers(rfm)) == 946
    assert rfm.attrs["time_unit"] == "week"
    # customer 1: purchases 1997-01-01, 01-18, 08-02 (calibration) and 12-12 (holdout)
    one = rfm.loc[1]
    assert one["frequency"] == 2
    assert one["recency"] == pytest.approx(213 / 7)
    assert one["T"] == pytest.approx(272 / 7)
    assert one["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)
    assert one["frequency_holdout"] == 1
    assert one["duration_holdout"] == pytest.approx(39.0)
    # holdout purchases = distinct (customer, day) pairs in weeks 40-78, counted independently here
    tx = cdnow_transactions()
    hold = tx[(tx["timestamp"] > "1997-09-30") & (tx["timestamp"] <= "1998-06-30")]
    assert rfm["frequency_holdout"].sum() == len(hold[["customer_id", "timestamp"]].drop_duplicates()) == 1882


def test_same_day_purchases_are_merged_and_summed():
    tx = pd.DataFrame({"customer_id": ["a"] * 3, "timestamp": pd.to_datetime(
        ["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-03 10:00"]), "amount": [1.0, 2.0, 4.0]})
    day = rfm_summary(tx, observation_end="2024-01-08", time_unit="day")
    assert day.loc["a", "frequency"] == 1
    assert day.loc["a", "recency"] == 2.0 and day.loc["a", "T"] == 7.0
    none = rfm_summary(tx, observation_end="2024-01-08", time_unit="day", merge="none")
    assert none.loc["a", "frequency"] == 2
    assert none.loc["a", "monetary_value"] == pytest.approx(3.0)
    assert none.loc["a", "recency"] == pytest.approx(2 + 1 / 24)


def test_customers_first_seen_after_calibration_are_excluded():
    tx = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": pd.to_datetime(["2024-01-01", "2024-02-01"]),
                       "amount": [1.0, 1.0]})
    rfm = rfm_summary(tx, observation_end="2024-03-01", calibration_end="2024-01-15")
    assert rfm.index.tolist() == ["a"]
    assert rfm.loc["a", "frequency_holdout"] == 0


@pytest.mark.parametrize("kwargs, error", [
    ({"time_unit": "month"}, ParameterError),
    ({"merge": "week"}, ParameterError),
    ({"calibration_end": "2024-12-31"}, ParameterError),
    ({"amount_col": "price"}, DataContractError),
])
def test_bad_arguments_raise(kwargs, error):
    tx = pd.DataFrame({"customer_id": ["a"], "timestamp": pd.to_datetime(["2024-01-01"]), "amount": [1.0]})
    with pytest.raises(error):
        rfm_summary(tx, observation_end="2024-02-01", **kwargs)
