"""Tests of cxlib.clv.gammagamma.GammaGamma: FHL (2005b) on CDNOW and the lifetimes oracle."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import GammaGamma, repeat_buyers, rfm_summary
from cxlib.errors import NotFittedError, ParameterError

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=1)
def cdnow_rfm() -> pd.DataFrame:
    tx = pd.read_csv(DATA / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["timestamp"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return rfm_summary(tx, observation_end="1997-09-30", time_unit="week")


def test_reproduces_fhl_2005b_on_946_repeat_buyers():
    # Fader, Hardie & Lee (2005b) / Fader & Hardie (2013) note: p = 6.25, q = 3.74, gamma = 15.44
    gg = GammaGamma().fit(repeat_buyers(cdnow_rfm()))
    assert gg.n_ == 946
    np.testing.assert_allclose(gg.params_.to_numpy(), [6.25, 3.74, 15.44], atol=6e-3)
    # reference SEs: lifetimes 0.11.3 GammaGammaFitter().fit(frequency, monetary_value).summary["se(coef)"]
    np.testing.assert_allclose(gg.standard_errors_.to_numpy(), [1.190055, 0.290133, 4.159423], rtol=1e-3)
    assert gg.population_mean_spend() == pytest.approx(6.2496 * 15.4435 / 2.7442, rel=1e-3)


def test_expected_spend_matches_lifetimes_oracle():
    o = json.loads((DATA / "lifetimes_oracle_cdnow.json").read_text())
    rows = pd.DataFrame({"frequency": o["frequency"], "monetary_value": o["monetary_value"]})
    gg = GammaGamma().fit(repeat_buyers(cdnow_rfm()))
    gg.params_ = pd.Series({"p": 6.25, "q": 3.74, "gamma": 15.44})
    got = gg.predict_spend(rows).to_numpy()
    np.testing.assert_allclose(got, o["gammagamma"]["expected_spend"], rtol=1e-10)
    # a customer without repeat purchases gets the population mean p gamma / (q - 1)
    assert got[2] == pytest.approx(6.25 * 15.44 / 2.74)


def test_gradient_matches_finite_differences():
    rb = repeat_buyers(cdnow_rfm())
    data = (rb["frequency"].to_numpy(float), rb["monetary_value"].to_numpy())
    gg = GammaGamma()
    logp = np.log([5.0, 3.0, 12.0])
    w = np.ones(len(rb))
    np.testing.assert_allclose(gg._negll(logp, data, w)[1], gg._numeric_grad(logp, data, w), rtol=1e-6)


def test_errors():
    with pytest.raises(ParameterError, match="repeat buyers"):
        GammaGamma().fit(cdnow_rfm())  # includes frequency == 0 rows
    with pytest.raises(NotFittedError):
        GammaGamma().population_mean_spend()
    with pytest.raises(ParameterError, match="alpha"):
        GammaGamma(alpha=1.5)
