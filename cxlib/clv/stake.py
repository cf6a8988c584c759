"""Per-customer lifetime value with its delta-method uncertainty, and the value at stake of churn.

:func:`customer_clv` values every customer with BG/NBD x Gamma-Gamma and keeps what the delta method needs;
:func:`value_at_stake` multiplies a churn probability by that value.  The report builds both once, through
:func:`cxlib.clv.value_at_stake_pipeline`.  Results keep full precision.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..display import displayable
from ..errors import ParameterError
from ..stats import z_value
from .bgnbd import BetaGeo
from .gammagamma import GammaGamma

__all__ = ["ClvSample", "customer_clv", "value_at_stake", "stake_interval", "STAKE_COLUMNS"]

#: Columns of the per-customer frame of :func:`value_at_stake`.
STAKE_COLUMNS = ("customer_id", "churn_probability", "clv", "value_at_stake")
_DELTA_STEP = 1e-4


@displayable()
@dataclass(frozen=True)
class ClvSample:
    """Per-customer CLV with what the delta method needs: its derivatives with respect to the log parameters.

    Attributes
    ----------
    clv : pandas.Series
        CLV per customer (currency units), indexed like the RFM frame.
    derivatives : numpy.ndarray, shape (k, n)
        d clv_i / d log(theta_j) for the k = 7 parameters (BG/NBD r, alpha, a, b; Gamma-Gamma p, q, gamma).
    cov_log : numpy.ndarray, shape (k, k)
        Covariance of the log parameters (block diagonal: the two models are fitted separately).
    method : str
        How the CLV was computed.
    """

    clv: pd.Series
    derivatives: np.ndarray
    cov_log: np.ndarray
    method: str

    def interval(self, statistic: Callable[[np.ndarray], float], *, alpha: float = 0.05
                 ) -> tuple[float, float, float, float]:
        """``(estimate, se, ci_lower, ci_upper)`` of ``statistic(clv)`` by the delta method on the log scale.

        The gradient of the statistic with respect to the log parameters is taken by central
        differences along each derivative direction; the interval is
        ``est * exp(+/- z se / est)`` so that it stays positive.  It reflects the estimation uncertainty
        of the model parameters only (not the randomness of future purchases).
        """
        z = z_value(alpha)
        v = self.clv.to_numpy(dtype=float)
        est = float(statistic(v))
        eps = _DELTA_STEP
        grad = np.array([(statistic(v + eps * d) - statistic(v - eps * d)) / (2 * eps) for d in self.derivatives])
        se = float(math.sqrt(max(grad @ self.cov_log @ grad, 0.0)))
        if est > 0:
            return est, se, est * math.exp(-z * se / est), est * math.exp(z * se / est)
        return est, se, est - z * se, est + z * se


def _with_params(model, logp: np.ndarray):
    m = copy.copy(model)
    m.params_ = pd.Series(np.exp(logp), index=model.params_.index, name="estimate")
    return m


def _cov_log(model) -> np.ndarray:
    p = model.params_.to_numpy()
    return model.variance_matrix_.to_numpy() / np.outer(p, p)


def customer_clv(bg: BetaGeo, gg: GammaGamma, rfm: pd.DataFrame, *, horizon: float, annual_discount_rate: float,
                 margin: float, step: float = 1.0) -> ClvSample:
    """CLV of every customer: margin x expected spend per purchase x discounted expected purchases.

    Parameters
    ----------
    bg, gg : fitted :class:`BetaGeo` and :class:`GammaGamma`
    rfm : pandas.DataFrame
        Histories at the valuation date (:func:`cxlib.clv.rfm_summary`, same time unit as ``bg``).
    horizon, step : float
        Valuation horizon and discounting step, in the model's time unit (weeks: 52 and 1).
    annual_discount_rate : float
        Yearly rate (0.1 = 10%), converted with a 365.25-day year.
    margin : float
        Share of the spend kept as margin (0-1].

    Returns
    -------
    ClvSample

    Notes
    -----
    :math:`CLV_i = m \\, E[M_i] \\sum_k \\Delta E[X_i(t_k)] (1+d)^{-t_k}` with the BG/NBD conditional
    expectation (Fader, Hardie & Lee 2005, eq. 10) and the Gamma-Gamma conditional mean spend (Fader,
    Hardie & Lee 2005b).  Derivatives for the delta method are central differences in the log parameters.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> h = BetaGeo.simulate(dict(r=0.5, alpha=5.0, a=0.8, b=2.5), T=np.full(800, 40.0), rng=rng)
    >>> h["monetary_value"] = np.where(h["frequency"] > 0, rng.gamma(6.0, 10.0, len(h)), np.nan)
    >>> bg = BetaGeo().fit(h, time_unit="week")
    >>> gg = GammaGamma().fit(h[h["frequency"] > 0])
    >>> s = customer_clv(bg, gg, h, horizon=13, annual_discount_rate=0.1, margin=0.3, step=13)
    >>> s.derivatives.shape, bool((s.clv > 0).all())
    ((7, 800), True)
    """
    if not 0 < margin <= 1:
        raise ParameterError(f"margin={margin!r} must be a share in (0, 1] of the spend.")

    def purchases(model):
        return model.predict_clv(rfm, spend=np.ones(len(rfm)), horizon=horizon, step=step,
                                 annual_discount_rate=annual_discount_rate, margin=1.0).to_numpy()

    lb, lg = np.log(bg.params_.to_numpy()), np.log(gg.params_.to_numpy())
    base_p = purchases(bg)
    base_s = gg.predict_spend(rfm).to_numpy()
    derivs = []
    h = 1e-5
    for j in range(len(lb)):
        e = np.zeros_like(lb)
        e[j] = h
        dp = (purchases(_with_params(bg, lb + e)) - purchases(_with_params(bg, lb - e))) / (2 * h)
        derivs.append(margin * base_s * dp)
    for j in range(len(lg)):
        e = np.zeros_like(lg)
        e[j] = h
        ds = (_with_params(gg, lg + e).predict_spend(rfm).to_numpy()
              - _with_params(gg, lg - e).predict_spend(rfm).to_numpy()) / (2 * h)
        derivs.append(margin * base_p * ds)
    k1, k2 = len(lb), len(lg)
    cov = np.zeros((k1 + k2, k1 + k2))
    cov[:k1, :k1], cov[k1:, k1:] = _cov_log(bg), _cov_log(gg)
    clv = pd.Series(margin * base_s * base_p, index=rfm.index, name="clv")
    return ClvSample(clv=clv, derivatives=np.vstack(derivs), cov_log=cov,
                     method=f"BG/NBD x Gamma-Gamma, {horizon:g} {bg.time_unit}s, {annual_discount_rate:.0%} "
                            "discount; delta-method interval (parameter uncertainty)")


def value_at_stake(sample: ClvSample, risk: pd.DataFrame, *, customer_ids: pd.Series,
                   alpha: float = 0.05) -> tuple[pd.DataFrame, tuple[float, float, float, float]]:
    """Churn probability x CLV for each active subscriber, and the total with its delta-method interval.

    ``risk`` is :func:`cxlib.survival.churn_risk` output; ``customer_ids`` maps its index to customer ids.
    Subscribers without a purchase history get no CLV (NaN) and count 0 in the total.  Returns the
    per-customer frame (:data:`STAKE_COLUMNS`, sorted by value at stake, largest first) and
    ``(total, se, ci_lower, ci_upper)`` (:func:`stake_interval`); churn probabilities are taken as estimated.
    """
    ids = customer_ids.reindex(risk.index)
    frame = pd.DataFrame({"customer_id": ids.to_numpy(), "churn_probability": risk["churn_probability"].to_numpy()})
    frame = frame.groupby("customer_id", as_index=False)["churn_probability"].max()
    frame["clv"] = sample.clv.reindex(frame["customer_id"]).to_numpy()
    frame["value_at_stake"] = frame["churn_probability"] * frame["clv"]
    total = stake_interval(sample, pd.Series(frame["churn_probability"].to_numpy(), index=frame["customer_id"]),
                           alpha=alpha)
    order = frame.sort_values(["value_at_stake", "customer_id"], ascending=[False, True], na_position="last")
    return order.reset_index(drop=True), total


def stake_interval(sample: ClvSample, churn_probability: pd.Series, *, alpha: float = 0.05
                   ) -> tuple[float, float, float, float]:
    """Sum of churn probability x CLV over customers, ``(estimate, se, ci_lower, ci_upper)``.

    ``churn_probability`` is indexed by customer id; customers missing from it, or without a CLV,
    count 0.  The interval is :meth:`ClvSample.interval` of the weighted sum (parameter uncertainty of
    the CLV models; the probabilities are taken as estimated).

    >>> s = ClvSample(clv=pd.Series([10.0, 20.0], index=["a", "b"]), derivatives=np.zeros((1, 2)),
    ...               cov_log=np.zeros((1, 1)), method="toy")
    >>> stake_interval(s, pd.Series({"b": 0.5, "z": 0.9}))[0]
    10.0
    """
    w = churn_probability.reindex(sample.clv.index).fillna(0.0).to_numpy(dtype=float)
    return sample.interval(lambda v: float(w @ v), alpha=alpha)
