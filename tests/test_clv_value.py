"""Tests of cxlib.clv.value: explicit-unit discounting and CLV from survival curves."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import ShiftedBetaGeometric, clv_from_survival, discount_factors, discounted_purchases
from cxlib.errors import ParameterError


def test_one_year_in_days_and_weeks_discounts_by_the_annual_rate():
    assert discount_factors([365.25], time_unit="day", annual_discount_rate=0.08)[0] == pytest.approx(1 / 1.08)
    assert discount_factors([365.25 / 7], time_unit="week", annual_discount_rate=0.08)[0] == pytest.approx(1 / 1.08)


def test_discounted_purchases_of_a_constant_rate():
    # 2 purchases a week for 10 weeks, no discount -> 20; with 100% a year the sum is below 20
    cum = lambda t: np.array([2.0 * t])  # noqa: E731
    assert discounted_purchases(cum, horizon=10, step=1, time_unit="week", annual_discount_rate=0)[0] == 20
    d = discounted_purchases(cum, horizon=10, step=1, time_unit="week", annual_discount_rate=1.0)[0]
    expected = sum(2 * 2.0 ** (-k * 7 / 365.25) for k in range(1, 11))
    assert d == pytest.approx(expected)
    # a horizon that is not a multiple of the step ends with a partial step
    assert discounted_purchases(cum, horizon=2.5, step=1, time_unit="day", annual_discount_rate=0)[0] == 5.0


def test_clv_from_survival_matches_sbg_expected_lifetime():
    m = ShiftedBetaGeometric().fit(pd.DataFrame({"period": range(8),
                                                 "alive": [1000, 631, 468, 382, 326, 289, 262, 241]}))
    t = np.arange(1, 3000)
    curve = m.survival_function(t)
    # weekly periods with an annual rate chosen to give 1% per period
    annual = 1.01 ** (365.25 / 7) - 1
    res = clv_from_survival(curve, margin_per_period=5.0, time_unit="week", annual_discount_rate=annual,
                            timing="start")
    del_ = m.discounted_expected_lifetime(discount_rate_per_period=0.01)
    assert res["clv"].iloc[0] == pytest.approx(5.0 * del_, rel=1e-6)
    assert list(res.columns) == ["segment", "expected_lifetime", "clv", "horizon", "time_unit",
                                 "annual_discount_rate", "margin_per_period", "method"]


def test_clv_from_survival_per_segment_and_horizon():
    curves = pd.DataFrame({"a": [0.9, 0.8, 0.7], "b": [0.5, 0.25, 0.125]}, index=[1.0, 2.0, 3.0])
    res = clv_from_survival(curves, margin_per_period=2.0, time_unit="day", annual_discount_rate=0.0, horizon=2)
    assert res["segment"].tolist() == ["a", "b"]
    np.testing.assert_allclose(res["clv"], [2 * 1.7, 2 * 0.75])
    assert res["horizon"].tolist() == [2.0, 2.0]


@pytest.mark.parametrize("kwargs", [{"time_unit": "month"}, {"annual_discount_rate": -1.0}, {"timing": "middle"}])
def test_bad_arguments(kwargs):
    args = dict(margin_per_period=1.0, time_unit="week", annual_discount_rate=0.1) | kwargs
    with pytest.raises(ParameterError):
        clv_from_survival(pd.Series([0.5], index=[1.0]), **args)
