"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b; Colombo & Jiang 1999)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from .._deprecation import renamed_arguments
from ..errors import ParameterError
from ._base import MLEFitter, compress, frame_columns


class GammaGamma(MLEFitter):
    """Gamma-Gamma model of the mean spend of repeat buyers.

    Each transaction value is ``Gamma(p, nu)`` with a customer-specific
    ``nu ~ Gamma(q, gamma)``; spend is assumed independent of the purchase
    process.  The model is fitted on customers with ``frequency > 0`` and uses
    the *mean* value ``m`` of their ``x`` repeat transactions.

    Notes
    -----
    Density of the observed mean (FHL 2005b, eq. 1; Fader & Hardie 2013 note):

    .. math::
        f(m | x) = \\frac{\\Gamma(px+q)}{\\Gamma(px)\\Gamma(q)}
            \\frac{\\gamma^q m^{px-1} x^{px}}{(\\gamma + m x)^{px+q}}

    Expected spend per transaction given a history (a credibility-weighted
    mean of the population mean and the customer's own mean):

    .. math::
        E[M | m, x] = \\frac{q-1}{px+q-1}\\frac{p\\gamma}{q-1} + \\frac{px}{px+q-1} m

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b). RFM and CLV: using
    iso-value curves for customer base analysis. Journal of Marketing Research
    42(4), 415-430.  Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma
    model of monetary value.  CDNOW (946 repeat buyers): p = 6.25, q = 3.74,
    gamma = 15.44.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> x = rng.integers(1, 8, 4000)
    >>> nu = rng.gamma(4.0, 1 / 20.0, 4000)
    >>> m = rng.gamma(6.0 * x, 1 / (nu * x))  # mean of x Gamma(6, nu) values
    >>> gg = GammaGamma().fit(pd.DataFrame({"frequency": x, "monetary_value": m}))
    >>> gg.params_.round(0).tolist()
    [6.0, 4.0, 19.0]
    """

    _param_names = ("p", "q", "gamma")
    _method = "Gamma-Gamma maximum likelihood"

    @renamed_arguments(segment_col="segment")
    def fit(self, data: pd.DataFrame, *, frequency_col: str = "frequency", monetary_col: str = "monetary_value",
            weights_col: str | None = None, initial_params: dict[str, float] | None = None,
            segment: str | None = None) -> GammaGamma:
        """Fit on repeat buyers; rows with ``frequency == 0`` must be removed by the caller.

        Raises ``ParameterError`` if any row has frequency 0 or a non-positive
        mean spend (use :func:`cxlib.clv.rfm.repeat_buyers`).

        ``segment`` (a column; ``segment_col`` is its deprecated old name) fits one model per level of that
        column, each on its own rows only: the fitted
        models are in ``segments_``, their parameters in the tidy ``params_by_segment_`` (and ``summary``),
        and ``predict_by_segment(method, data)`` scores each row with its segment's model.
        """
        if segment is not None:
            return self._fit_segments(data, segment, dict(
                frequency_col=frequency_col, monetary_col=monetary_col, weights_col=weights_col,
                initial_params=initial_params))
        self._cols = dict(frequency=frequency_col, monetary=monetary_col)
        c = frame_columns(data, self._cols)
        x, m = c["frequency"], c["monetary"]
        bad = ~(np.isfinite(x) & np.isfinite(m) & (x > 0) & (m > 0))
        if bad.any():
            raise ParameterError(f"{int(bad.sum())} row(s) have frequency 0 or a missing/non-positive mean spend; "
                                 "Gamma-Gamma is fitted on repeat buyers only: pass repeat_buyers(rfm).")
        (x, m), w, inv = compress(x, m)
        if weights_col is not None:
            w = np.bincount(inv, weights=data[weights_col].to_numpy(dtype=float), minlength=len(w))
        mean_m = float(np.average(m, weights=w))
        x0 = np.log([1.0, 2.0, mean_m])  # population mean p*gamma/(q-1) = mean spend at the start
        self._optimize((x, m), w, x0, initial_params)
        self.__dict__.pop("_stats_cache", None)
        return self

    def _negll(self, logp, data, weights):
        # Sufficient statistics: terms in x alone are evaluated once per distinct frequency, terms in log m
        # are two weighted sums fixed before the optimisation; only log(gamma + m x) is left per row.
        st = self._stats(data, weights)
        p, q, g = np.exp(logp)
        pxs = p * st["xs"]
        wx, W = st["wx"], st["W"]
        lgm = np.log(g + st["mx"])
        wpxq = p * st["w_x"] + q * weights
        ll = (wx @ (special.gammaln(pxs + q) - special.gammaln(pxs) + pxs * st["log_xs"])
              - W * special.gammaln(q) + W * q * np.log(g) + p * st["S1"] - st["S0"] - wpxq @ lgm)
        dig = special.digamma(pxs + q)
        dp = wx @ (st["xs"] * (dig - special.digamma(pxs) + st["log_xs"])) + st["S1"] - st["w_x"] @ lgm
        dq = wx @ dig - W * special.digamma(q) + W * np.log(g) - weights @ lgm
        dg = W * q / g - wpxq @ (1.0 / (g + st["mx"]))
        return -float(ll), -np.array([dp, dq, dg]) * np.array([p, q, g])

    def _stats(self, data, weights) -> dict:
        cache = getattr(self, "_stats_cache", None)
        if cache is not None and cache[0] is data[0] and cache[1] is data[1] and cache[2] is weights:
            return cache[3]
        x, m = data
        xs, inv = np.unique(x, return_inverse=True)
        log_m = np.log(m)
        st = dict(xs=xs, log_xs=np.log(xs), wx=np.bincount(inv, weights=weights, minlength=len(xs)),
                  W=float(weights.sum()), mx=m * x, w_x=weights * x, S1=float((weights * x) @ log_m),
                  S0=float(weights @ log_m))
        self._stats_cache = (data[0], data[1], weights, st)
        return st

    def population_mean_spend(self) -> float:
        """Mean spend per transaction in the population, ``p gamma / (q - 1)`` (infinite if q <= 1)."""
        p, q, g = self._check_fitted().to_numpy()
        return float(p * g / (q - 1)) if q > 1 else np.inf

    def predict_spend(self, data: pd.DataFrame) -> pd.Series:
        """Expected spend per future transaction of each customer.

        Customers with ``frequency == 0`` (any spend value, NaN included) get
        the population mean.
        """
        p, q, g = self._check_fitted().to_numpy()
        c = frame_columns(data, self._cols)
        x, m = c["frequency"], c["monetary"]
        if np.any(x < 0) or np.any((x > 0) & ~(m > 0)):
            raise ParameterError("predict_spend needs frequency >= 0 and a positive mean spend when frequency > 0.")
        m = np.where(x > 0, m, 0.0)
        out = (p * g + p * x * m) / (p * x + q - 1)
        return pd.Series(out, index=data.index, name="expected_spend")
