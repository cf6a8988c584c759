"""CLV models fitted by segment (issue 11): ``fit(data, segment=...)`` is one model per segment's own rows."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.clv import BetaGeo, GammaGamma, ParetoNBD, ShiftedBetaGeometric
from cxlib.clv._base import SUMMARY_COLUMNS
from cxlib.errors import NotFittedError, ParameterError


def _rfm(model_cls, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = model_cls.simulate(dict(r=0.5, alpha=5.0, a=0.8, b=2.5) if model_cls is BetaGeo
                           else dict(r=0.5, alpha=5.0, s=0.6, beta=8.0), T=np.full(800, 40.0), rng=rng)
    b = model_cls.simulate(dict(r=1.5, alpha=4.0, a=0.5, b=3.5) if model_cls is BetaGeo
                           else dict(r=1.5, alpha=4.0, s=0.3, beta=12.0), T=np.full(600, 30.0), rng=rng)
    out = pd.concat([a.assign(tier="gold"), b.assign(tier="basic")], ignore_index=True)
    out = out.sample(frac=1.0, random_state=1)  # interleave the segments
    out.attrs["time_unit"] = "week"
    return out


@pytest.mark.parametrize("model_cls", [BetaGeo, ParetoNBD])
def test_transaction_models_by_segment_equal_the_fit_on_each_segment(model_cls):
    data = _rfm(model_cls)
    model = model_cls().fit(data, segment="tier")
    assert list(model.segments_) == ["basic", "gold"] and model.params_ is None
    tidy = model.params_by_segment_
    assert tidy.columns.tolist() == ["segment", *SUMMARY_COLUMNS] and len(tidy) == 2 * 4
    for level in ("basic", "gold"):
        own = model_cls().fit(data[data.tier == level])
        mine = tidy[tidy.segment == level]
        assert mine["estimate"].to_numpy() == pytest.approx(own.params_.to_numpy(), rel=1e-6)
        assert mine["se"].to_numpy() == pytest.approx(own.standard_errors_.to_numpy(), rel=1e-4)
        assert mine["n"].iloc[0] == (data.tier == level).sum()
        assert model.segments_[level].params_.to_numpy() == pytest.approx(own.params_.to_numpy(), rel=1e-6)
    # each row is scored by its own segment's model, in the order of data
    alive = model.predict_by_segment("predict_alive", data)
    assert alive.index.equals(data.index)
    gold = data[data.tier == "gold"]
    assert alive[gold.index].to_numpy() == pytest.approx(
        model_cls().fit(gold).predict_alive(gold).to_numpy(), rel=1e-5)
    assert model.summary is tidy


def test_none_keeps_the_single_model_and_refit_clears_segments():
    data = _rfm(BetaGeo)
    pooled = BetaGeo().fit(data)
    same = BetaGeo().fit(data, segment=None)
    assert same.params_.to_numpy() == pytest.approx(pooled.params_.to_numpy()) and same.segments_ is None
    model = BetaGeo().fit(data, segment="tier")
    with pytest.raises(NotFittedError, match="tier"):
        model.predict_alive(data)
    with pytest.raises(NotFittedError, match="not fitted by segment"):
        pooled.predict_by_segment("predict_alive", data)
    model.fit(data)
    assert model.segments_ is None and model.params_ is not None


def test_gamma_gamma_by_segment():
    rng = np.random.default_rng(5)
    n = 500
    x = rng.integers(1, 8, 2 * n).astype(float)
    tier = np.repeat(["gold", "basic"], n)
    scale = np.where(tier == "gold", 60.0, 20.0)
    m = rng.gamma(6.0, scale / 6.0) * rng.gamma(4.0, 0.25, 2 * n)
    data = pd.DataFrame({"frequency": x, "monetary_value": m, "tier": tier})
    model = GammaGamma().fit(data, segment="tier")
    for level in ("basic", "gold"):
        own = GammaGamma().fit(data[data.tier == level])
        mine = model.params_by_segment_.query("segment == @level")
        assert mine["param"].tolist() == ["p", "q", "gamma"]
        assert mine["estimate"].to_numpy() == pytest.approx(own.params_.to_numpy(), rel=1e-6)
    spend = model.predict_by_segment("predict_spend", data)
    assert spend[data.tier == "gold"].mean() > spend[data.tier == "basic"].mean()


def test_sbg_one_curve_per_segment():
    frame = pd.DataFrame({"period": list(range(8)) * 2,
                          "alive": [1000, 869, 743, 653, 593, 551, 517, 491, 1000, 631, 468, 382, 326, 289, 262, 241],
                          "plan": ["high end"] * 8 + ["regular"] * 8})
    model = ShiftedBetaGeometric().fit(frame, segment="plan")
    tidy = model.params_by_segment_.set_index(["segment", "param"])["estimate"].round(3)
    assert tidy[("high end", "alpha")] == 0.668 and tidy[("high end", "beta")] == 3.806
    assert tidy[("regular", "alpha")] == 0.704 and tidy[("regular", "beta")] == 1.182


def test_unknown_column_and_unfittable_segment_are_named():
    data = _rfm(BetaGeo)
    with pytest.raises(ParameterError, match="segment='region' is not a column"):
        BetaGeo().fit(data, segment="region")
    tiny = pd.concat([data, pd.DataFrame({"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [10.0, 12.0],
                                          "tier": ["new", "new"]})], ignore_index=True)
    tiny.attrs["time_unit"] = "week"
    with pytest.raises(ParameterError, match=r"segment tier='new' \(2 rows\)"):
        BetaGeo().fit(tiny, segment="tier")
    with pytest.raises(ParameterError, match="time unit"):  # reported once, for the whole data
        BetaGeo().fit(pd.DataFrame(data), segment="tier")  # (a copy without attrs)
    missing = data.assign(tier=data["tier"].where(data.index > 3))
    with pytest.raises(ParameterError, match="no 'tier' label"):
        BetaGeo().fit(missing, segment="tier")
