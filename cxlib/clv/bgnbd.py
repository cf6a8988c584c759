"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from .._deprecation import renamed_arguments
from ..errors import ParameterError
from ._base import MLEFitter, check_rfm, compressed_histories, frame_columns
from .value import discounted_purchases


class BetaGeo(MLEFitter):
    """Beta-geometric/NBD model for non-contractual repeat purchases.

    While alive, a customer buys as a Poisson process with rate
    ``lambda ~ Gamma(r, alpha)``; after each purchase she drops out with
    probability ``p ~ Beta(a, b)``.  Parameters carry the paper's names
    ``r, alpha, a, b``; ``alpha`` is in the time unit of the data.

    Parameters
    ----------
    alpha : float
        Level of the confidence intervals of ``summary`` (0.05 gives 95%).
        Note the clash with the model's ``alpha`` parameter is only in the
        constructor; ``params_["alpha"]`` is the model parameter.

    Notes
    -----
    Individual likelihood (FHL 2005, eq. 6), with ``x`` repeat purchases, the
    last at ``t_x``, observed over ``(0, T]``:

    .. math::
        L = \\frac{B(a, b+x)}{B(a, b)} \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)(\\alpha+T)^{r+x}}
          + \\delta_{x>0} \\frac{B(a+1, b+x-1)}{B(a, b)}
            \\frac{\\Gamma(r+x)\\alpha^r}{\\Gamma(r)(\\alpha+t_x)^{r+x}}

    evaluated in log space (log-sum-exp), summed over the *unique* histories
    weighted by their counts, and maximised with BFGS on the log parameters
    with the analytic gradient.  Conditional expectations use the Euler
    transform of the Gauss hypergeometric function so that histories with
    hundreds of purchases neither overflow nor lose precision.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your
    customers" the easy way: an alternative to the Pareto/NBD model.
    Marketing Science 24(2), 275-284.  CDNOW estimates: r = 0.243,
    alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> data = BetaGeo.simulate(dict(r=0.5, alpha=5.0, a=0.8, b=2.5), T=np.full(3000, 40.0), rng=rng)
    >>> model = BetaGeo().fit(data, time_unit="week")
    >>> model.params_.round(2).tolist()
    [0.48, 4.83, 0.88, 2.75]
    >>> ci = model.conf_int()  # the planted values lie inside the 95% intervals
    >>> ((ci["ci_lower"] < [0.5, 5.0, 0.8, 2.5]) & ([0.5, 5.0, 0.8, 2.5] < ci["ci_upper"])).all()
    np.True_
    """

    _param_names = ("r", "alpha", "a", "b")
    _method = "BG/NBD maximum likelihood"

    @renamed_arguments(segment_col="segment")
    def fit(self, data: pd.DataFrame, *, frequency_col: str = "frequency", recency_col: str = "recency",
            T_col: str = "T", weights_col: str | None = None, time_unit: str | None = None,
            initial_params: dict[str, float] | None = None, segment: str | None = None) -> BetaGeo:
        """Fit by maximum likelihood to one row per customer (e.g. :func:`rfm_summary`).

        ``weights_col`` gives the number of customers each row stands for;
        identical histories are compressed automatically anyway.
        ``time_unit`` defaults to ``data.attrs['time_unit']``.
        ``segment`` (a column; ``segment_col`` is its deprecated old name) fits one model per level of that
        column, each on its own rows only: the fitted
        models are in ``segments_``, their parameters in the tidy ``params_by_segment_`` (and ``summary``),
        and ``predict_by_segment(method, data)`` scores each row with its segment's model.
        """
        if segment is not None:
            return self._fit_segments(data, segment, dict(
                frequency_col=frequency_col, recency_col=recency_col, T_col=T_col, weights_col=weights_col,
                time_unit=time_unit, initial_params=initial_params))
        (x, tx, T), w, rate = compressed_histories(
            self, data, frequency_col=frequency_col, recency_col=recency_col, T_col=T_col, weights_col=weights_col,
            time_unit=time_unit, model_name="BG/NBD")
        x0 = np.log([1.0, 1.0 / rate, 1.0, 1.0])
        self._optimize((x, tx, T), w, x0, initial_params)
        self.__dict__.pop("_x_cache", None)
        return self

    def _negll(self, logp, data, weights):
        # Terms that depend on x only are evaluated once per distinct x (few) and weighted by its count.
        x, tx, T = data
        p = np.exp(logp)
        r, alpha, a, b = p
        xs, inv = self._distinct_x(x)
        wx = np.bincount(inv, weights=weights, minlength=len(xs))
        a12 = (special.gammaln(r + xs) - special.gammaln(r) + r * np.log(alpha) + special.gammaln(a + b)
               + special.gammaln(b + xs) - special.gammaln(b) - special.gammaln(a + b + xs))
        pos = x > 0
        log_at = np.log(alpha + T)
        log_atx = np.log(alpha + tx)
        u = -(r + x) * log_at
        bx1 = np.where(pos, b + x - 1, 1.0)
        v = np.where(pos, np.log(a) - np.log(bx1) - (r + x) * log_atx, -np.inf)
        lse = np.logaddexp(u, v)
        wu = np.exp(u - lse) * weights
        wv = np.exp(v - lse) * weights
        psi_ab = special.digamma(a + b)
        psi_abx = special.digamma(a + b + xs)
        g_r = wx @ (special.digamma(r + xs) - special.digamma(r) + np.log(alpha)) - wu @ log_at - wv @ log_atx
        g_alpha = r / alpha * wx.sum() - wu @ ((r + x) / (alpha + T)) - wv @ ((r + x) / (alpha + tx))
        g_a = wx @ (psi_ab - psi_abx) + wv.sum() / a
        g_b = wx @ (psi_ab + special.digamma(b + xs) - special.digamma(b) - psi_abx) - wv @ (1.0 / bx1)
        ll = wx @ a12 + weights @ lse
        return -float(ll), -np.array([g_r, g_alpha, g_a, g_b]) * p

    def _distinct_x(self, x):
        cache = getattr(self, "_x_cache", None)
        if cache is None or cache[0] is not x:
            xs, inv = np.unique(x, return_inverse=True)
            cache = (x, xs, inv)
            self._x_cache = cache
        return cache[1], cache[2]

    # ------------------------------------------------------------------ predictions
    def _history(self, data):
        self._check_fitted()
        c = frame_columns(data, self._cols)
        check_rfm(c["frequency"], c["recency"], c["T"])
        return c["frequency"], c["recency"], c["T"]

    def expected_purchases_new(self, t) -> np.ndarray:
        """Expected purchases in ``(0, t]`` of a customer who made the first purchase at 0 (FHL eq. 9).

        .. math:: E[X(t)] = \\frac{a+b-1}{a-1}\\Big[1 - (\\tfrac{\\alpha}{\\alpha+t})^r
                   {}_2F_1(r, b; a+b-1; \\tfrac{t}{\\alpha+t})\\Big]
        """
        r, alpha, a, b = self._check_fitted().to_numpy()
        t = np.asarray(t, dtype=float)
        z = t / (alpha + t)
        # Euler: (1-z)^r 2F1(r,b;c;z) = (1-z)^(c-b) 2F1(c-r, c-b; c; z), with c = a+b-1
        c = a + b - 1
        return (c / (a - 1)) * (1 - (1 - z) ** (a - 1) * special.hyp2f1(c - r, a - 1, c, z))

    def predict_purchases(self, data: pd.DataFrame, *, t: float) -> pd.Series:
        """Expected purchases in the next ``t`` time units given each history (FHL eq. 10)."""
        x, tx, T = self._history(data)
        r, alpha, a, b = self.params_.to_numpy()
        z = t / (alpha + T + t)
        c = a + b + x - 1
        # (1-z)^(r+x) 2F1(r+x, b+x; c; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; c; z)  (Euler transform)
        num = 1 - (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, c, z)
        out = (c / (a - 1)) * num * self._alive(x, tx, T)
        return pd.Series(out, index=data.index, name="expected_purchases")

    def _alive(self, x, tx, T):
        r, alpha, a, b = self.params_.to_numpy()
        pos = x > 0
        log_odds = np.log(a) - np.log(np.where(pos, b + x - 1, 1.0)) + (r + x) * np.log((alpha + T) / (alpha + tx))
        return np.where(pos, special.expit(-log_odds), 1.0)

    def predict_alive(self, data: pd.DataFrame) -> pd.Series:
        """Probability that each customer is still alive at T (FHL 2008 note, eq. 2).

        .. math:: P(\\text{alive}) = 1 / \\big[1 + \\delta_{x>0}\\tfrac{a}{b+x-1}
                   (\\tfrac{\\alpha+T}{\\alpha+t_x})^{r+x}\\big]
        """
        x, tx, T = self._history(data)
        return pd.Series(self._alive(x, tx, T), index=data.index, name="p_alive")

    def probability_of_purchases(self, t: float, n) -> np.ndarray:
        """P(X(t) = n) for a new customer (FHL eq. 8), ``n`` scalar or array of counts."""
        r, alpha, a, b = self._check_fitted().to_numpy()
        n = np.asarray(n, dtype=float)
        if np.any((n < 0) | (n != np.round(n))):
            raise ParameterError("n must be non-negative integer counts.")
        q = alpha / (alpha + t)
        lbeta0 = special.betaln(a, b)
        first = special.betaln(a, b + n) - lbeta0 + stats.nbinom.logpmf(n, r, q)
        pos = n > 0
        second = np.where(pos, special.betaln(a + 1, np.where(pos, b + n - 1, 1.0)) - lbeta0, -np.inf) \
            + np.log(np.where(pos, stats.nbinom.sf(n - 1, r, q), 1.0))
        return np.exp(np.logaddexp(first, second))

    def predict_clv(self, data: pd.DataFrame, *, spend, horizon: float, annual_discount_rate: float,
                    margin: float = 1.0, step: float = 1.0) -> pd.Series:
        """Discounted expected value of future purchases over ``horizon`` time units.

        ``spend`` is the expected value per purchase (e.g.
        :meth:`GammaGamma.predict_spend`), ``margin`` the fraction kept;
        see :func:`cxlib.clv.value.discounted_purchases` for the discounting.
        """
        self._check_fitted()
        purchases = discounted_purchases(lambda t: self.predict_purchases(data, t=t).to_numpy(),
                                         horizon=horizon, step=step, time_unit=self.time_unit,
                                         annual_discount_rate=annual_discount_rate)
        return pd.Series(margin * np.asarray(spend, dtype=float) * purchases, index=data.index, name="clv")

    @staticmethod
    def simulate(params: dict[str, float], *, T, rng: np.random.Generator) -> pd.DataFrame:
        """Draw (frequency, recency, T) histories from the BG/NBD process (first purchase at 0).

        Exact simulation: a gamma rate, a beta drop-out probability, Poisson
        inter-purchase times, and a drop-out coin after every purchase.
        """
        T = np.asarray(T, dtype=float)
        n = len(T)
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
        pdrop = rng.beta(params["a"], params["b"], n)
        freq = np.zeros(n, dtype=np.int64)
        rec = np.zeros(n)
        t = np.zeros(n)
        active = np.ones(n, dtype=bool)
        while active.any():
            idx = np.flatnonzero(active)
            t[idx] += rng.exponential(1.0, idx.size) / lam[idx]
            bought = t[idx] <= T[idx]
            ok = idx[bought]
            freq[ok] += 1
            rec[ok] = t[ok]
            active[idx[~bought]] = False
            active[ok] = rng.random(ok.size) >= pdrop[ok]
        out = pd.DataFrame({"frequency": freq, "recency": rec, "T": T})
        return out
