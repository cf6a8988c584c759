"""Tests of cxlib.clv.sbg.ShiftedBetaGeometric against Fader & Hardie (2007)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import ShiftedBetaGeometric
from cxlib.errors import ParameterError

# Fader & Hardie (2007), "How to project customer retention", Table 1 (active customers, years 0-7)
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def cohort(alive):
    return pd.DataFrame({"period": range(len(alive)), "alive": alive})


@pytest.mark.parametrize("alive, expected", [(HIGH_END, (0.668, 3.806)), (REGULAR, (0.704, 1.182))])
def test_reproduces_fader_hardie_2007(alive, expected):
    m = ShiftedBetaGeometric().fit(cohort(alive))
    np.testing.assert_allclose(m.params_.to_numpy(), expected, atol=6e-4)
    s = m.summary
    assert s["n"].iloc[0] == 1000 and (s["se"] > 0).all()


def test_survival_and_retention_are_consistent():
    m = ShiftedBetaGeometric().fit(cohort(HIGH_END))
    t = np.arange(0, 13)
    s = m.survival_function(t).to_numpy()
    assert s[0] == 1.0
    np.testing.assert_allclose(s[1:] / s[:-1], m.retention_rate(t[1:]), rtol=1e-12)
    # the fitted curve tracks the observed retention within 2 points over the 7 calibration years
    np.testing.assert_allclose(s[:8], np.array(HIGH_END) / 1000, atol=0.02)


def test_discounted_expected_lifetime_matches_the_sum():
    m = ShiftedBetaGeometric().fit(cohort(REGULAR))
    d = 0.1
    t = np.arange(0, 4000)
    direct = (m.survival_function(t).to_numpy() / (1 + d) ** t).sum()
    assert m.discounted_expected_lifetime(discount_rate_per_period=d) == pytest.approx(direct, rel=1e-9)


def test_two_cohorts_share_parameters():
    both = pd.concat([cohort(HIGH_END).assign(c="a"), cohort(HIGH_END).assign(c="b")])
    m2 = ShiftedBetaGeometric().fit(both, cohort_col="c")
    m1 = ShiftedBetaGeometric().fit(cohort(HIGH_END))
    np.testing.assert_allclose(m2.params_, m1.params_, rtol=1e-6)
    np.testing.assert_allclose(m2.standard_errors_, m1.standard_errors_ / np.sqrt(2), rtol=1e-4)


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"period": [0, 2], "alive": [10, 5]}),
    pd.DataFrame({"period": [0, 1], "alive": [10, 12]}),
])
def test_bad_cohorts_raise(frame):
    with pytest.raises(ParameterError):
        ShiftedBetaGeometric().fit(frame)
