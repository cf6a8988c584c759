"""Glue for the CLV notebook: per-customer CLV with delta-method intervals, segments, value at stake, findings.

Kept here (not in notebook cells) so that ``notebooks/35_clv.ipynb`` stays a few calls and the logic is
tested.  Results keep full precision; formatting is the report layer's job.
"""
from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import ParameterError
from ..findings import Finding
from ..clv.bgnbd import BetaGeo
from ..clv.gammagamma import GammaGamma

__all__ = ["ClvSample", "customer_clv", "segment_clv", "holdout_check", "value_at_stake", "top_at_risk",
           "clv_findings", "SEGMENT_COLUMNS"]

SECTION = "clv"
SEGMENT_COLUMNS = ("segment_column", "segment", "n", "mean_clv", "ci_lower", "ci_upper", "total_clv",
                   "total_lower", "total_upper", "ci_level", "method")
HOLDOUT_COLUMNS = ("frequency_bucket", "n", "predicted", "observed", "difference")
_DELTA_STEP = 1e-4


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
        if not 0 < alpha < 1:
            raise ParameterError(f"alpha={alpha!r} must lie strictly between 0 and 1.")
        v = self.clv.to_numpy(dtype=float)
        est = float(statistic(v))
        eps = _DELTA_STEP
        grad = np.array([(statistic(v + eps * d) - statistic(v - eps * d)) / (2 * eps) for d in self.derivatives])
        se = float(math.sqrt(max(grad @ self.cov_log @ grad, 0.0)))
        z = stats.norm.ppf(1 - alpha / 2)
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


def segment_clv(sample: ClvSample, segments: pd.DataFrame, *, segment_columns: Sequence[str],
                alpha: float = 0.05) -> pd.DataFrame:
    """Mean and total CLV per segment level with delta-method intervals, overall first.

    ``segments`` is indexed like ``sample.clv`` (customer id) and holds the ``segment_columns``.
    Columns :data:`SEGMENT_COLUMNS`.
    """
    missing = [c for c in segment_columns if c not in segments.columns]
    if missing:
        raise ParameterError(f"segment columns {missing} not found; the frame has {list(segments.columns)}.")
    seg = segments.reindex(sample.clv.index)
    rows = []
    for col in [None, *segment_columns]:
        labels = np.full(len(seg), "all", dtype=object) if col is None else seg[col].astype(str).to_numpy()
        for level in (["all"] if col is None else sorted(pd.unique(labels))):
            mask = labels == level
            n = int(mask.sum())
            m, _, lo, hi = sample.interval(lambda v, k=mask: float(v[k].mean()), alpha=alpha)
            rows.append(dict(segment_column=col or "all", segment=level, n=n, mean_clv=m, ci_lower=lo,
                             ci_upper=hi, total_clv=m * n, total_lower=lo * n, total_upper=hi * n,
                             ci_level=1 - alpha, method=sample.method))
    return pd.DataFrame(rows, columns=list(SEGMENT_COLUMNS))


def holdout_check(bg: BetaGeo, rfm_holdout: pd.DataFrame, *, max_bucket: int = 5) -> pd.DataFrame:
    """Mean predicted vs observed repeat purchases in the holdout period by calibration frequency.

    ``rfm_holdout`` comes from :func:`cxlib.clv.rfm_summary` with a ``calibration_end`` (it has
    ``frequency_holdout`` and ``duration_holdout``).  Buckets ``0 .. max_bucket-1`` and ``max_bucket+``,
    then ``all``.  Columns :data:`HOLDOUT_COLUMNS`.
    """
    if "frequency_holdout" not in rfm_holdout.columns:
        raise ParameterError("rfm_holdout has no holdout columns: call rfm_summary with calibration_end.")
    pred = bg.predict_purchases(rfm_holdout, t=float(rfm_holdout["duration_holdout"].iloc[0])).to_numpy()
    obs = rfm_holdout["frequency_holdout"].to_numpy(dtype=float)
    f = rfm_holdout["frequency"].to_numpy()
    bucket = np.where(f >= max_bucket, f"{max_bucket}+", f.astype(str))
    rows = []
    for b in [*[str(i) for i in range(max_bucket)], f"{max_bucket}+", "all"]:
        sel = np.ones(len(f), dtype=bool) if b == "all" else bucket == b
        if sel.any():
            rows.append(dict(frequency_bucket=b, n=int(sel.sum()), predicted=float(pred[sel].mean()),
                             observed=float(obs[sel].mean()), difference=float(obs[sel].mean() - pred[sel].mean())))
    return pd.DataFrame(rows, columns=list(HOLDOUT_COLUMNS))


def value_at_stake(sample: ClvSample, risk: pd.DataFrame, *, customer_ids: pd.Series,
                   alpha: float = 0.05) -> tuple[pd.DataFrame, tuple[float, float, float, float]]:
    """Churn probability x CLV for each active subscriber, and the total with its delta-method interval.

    ``risk`` is :func:`cxlib.survival.churn_risk` output; ``customer_ids`` maps its index to customer ids.
    Subscribers without a purchase history get no CLV (NaN) and count 0 in the total.  Returns the
    per-customer frame (``customer_id, churn_probability, clv, value_at_stake``, sorted by value at stake)
    and ``(total, se, ci_lower, ci_upper)``; churn probabilities are taken as estimated.
    """
    ids = customer_ids.reindex(risk.index)
    frame = pd.DataFrame({"customer_id": ids.to_numpy(), "churn_probability": risk["churn_probability"].to_numpy()})
    frame = frame.groupby("customer_id", as_index=False)["churn_probability"].max()
    frame["clv"] = sample.clv.reindex(frame["customer_id"]).to_numpy()
    frame["value_at_stake"] = frame["churn_probability"] * frame["clv"]
    weights = pd.Series(frame["churn_probability"].to_numpy(), index=frame["customer_id"]).reindex(sample.clv.index)
    w = weights.fillna(0.0).to_numpy()
    total = sample.interval(lambda v: float(w @ v), alpha=alpha)
    order = frame.sort_values(["value_at_stake", "customer_id"], ascending=[False, True], na_position="last")
    return order.reset_index(drop=True), total


def top_at_risk(stake: pd.DataFrame, *, n: int = 10, pseudonymize: Callable[[pd.DataFrame], pd.DataFrame]
                ) -> tuple[pd.DataFrame, str]:
    """The ``n`` subscribers with the most value at stake, ids replaced by pseudonyms, and a note.

    ``pseudonymize`` is :func:`cxlib.privacy.pseudonymize_frame`.  A missing pseudonym key (the
    ``PseudonymKeyWarning``) becomes a one-sentence note for the report instead of a warning block.
    """
    top = stake.dropna(subset=["value_at_stake"]).head(n)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shown = pseudonymize(top)
    keyless = any(type(w.message).__name__ == "PseudonymKeyWarning" for w in caught)
    note = ("Customer ids are replaced by keyed pseudonyms" + (
        "; the project key (CX_PSEUDONYM_KEY) was not set, so the public fallback key was used: acceptable for "
        "synthetic data only." if keyless else "."))
    return shown.rename(columns={"customer_id": "customer"}).reset_index(drop=True), note


def clv_findings(*, sample: ClvSample, segments: pd.DataFrame, total_at_stake: tuple[float, float, float, float],
                 n_at_risk: int, risk_horizon_days: float, bg: BetaGeo | None = None, gg: GammaGamma | None = None,
                 period: str, currency: str = "EUR", alpha: float = 0.05) -> list[Finding]:
    """Headline findings: median and total CLV, CLV at stake among subscribers and, optionally, the parameters.

    ``clv_median`` (median customer CLV), ``clv_total`` (sum over the customer base), ``clv_at_risk`` (sum of
    churn probability x CLV over active subscribers), all with delta-method intervals; with ``bg``/``gg``,
    one ``clv_param_<name>`` finding per model parameter (log-scale Wald interval) for model checks.
    """
    out = []
    n = float(len(sample.clv))
    med = sample.interval(lambda v: float(np.median(v)), alpha=alpha)
    common = dict(section=SECTION, ci_level=1 - alpha, period=period, unit=currency)
    out.append(Finding(key="clv_median", label="Median customer lifetime value", estimate=med[0],
                       ci_lower=med[2], ci_upper=med[3], n=n, better="higher", method=sample.method, **common))
    total = segments[segments["segment_column"] == "all"].iloc[0]
    out.append(Finding(key="clv_total", label="Total customer lifetime value of the customer base",
                       estimate=float(total.total_clv), ci_lower=float(total.total_lower),
                       ci_upper=float(total.total_upper), n=n, better="higher", method=sample.method, **common))
    t = total_at_stake
    out.append(Finding(key="clv_at_risk",
                       label=f"Customer lifetime value at stake (churn probability within {risk_horizon_days:g} "
                             "days x CLV, active subscribers)",
                       estimate=t[0], ci_lower=t[2], ci_upper=t[3], n=float(n_at_risk), better="lower",
                       method="Cox churn probability x " + sample.method, **common))
    for model in (m for m in (bg, gg) if m is not None):
        s = model.summary
        for r in s.itertuples():
            out.append(Finding(key=f"clv_param_{type(model).__name__.lower()}_{r.param}", section=SECTION,
                               label=f"{type(model).__name__} parameter {r.param}", estimate=float(r.estimate),
                               ci_lower=float(r.ci_lower), ci_upper=float(r.ci_upper), ci_level=float(r.ci_level),
                               n=float(r.n), method=str(r.method), period=period, unit="", better="neutral"))
    return out
