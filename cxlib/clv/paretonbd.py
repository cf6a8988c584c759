"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from ..errors import ParameterError
from ._base import MLEFitter, check_rfm, compress, frame_columns, resolve_time_unit
from .value import discounted_purchases


def _log_a0_part(r, alpha, s, beta, x, y):
    """log of the hypergeometric part of the Pareto/NBD likelihood at ``y`` (t_x or T).

    With ``k = r + s + x`` the paper's term is ``2F1(k, b; k+1; z) / (max(alpha, beta) + y)^k``.
    An Euler transform turns it into ``2F1(1, B; k+1; z)`` with ``B < k + 1`` and ``0 <= z < 1``,
    whose series has terms below ``z^n``: no overflow for any number of purchases.
    """
    k = r + s + x
    if alpha >= beta:
        z = (alpha - beta) / (alpha + y)
        h = special.hyp2f1(1.0, r + x, k + 1, z)
        return -s * np.log(beta + y) - (r + x) * np.log(alpha + y) + np.log(h)
    z = (beta - alpha) / (beta + y)
    h = special.hyp2f1(1.0, s + 1, k + 1, z)
    return (1 - r - x) * np.log(alpha + y) - (s + 1) * np.log(beta + y) + np.log(h)


class ParetoNBD(MLEFitter):
    """Pareto/NBD model: Poisson purchases (rate ~ Gamma(r, alpha)) and exponential lifetimes (~ Gamma(s, beta)).

    Parameters ``r, alpha, s, beta`` carry the paper's names; ``alpha`` and
    ``beta`` are in the time unit of the data.  The constructor's ``alpha``
    is the level of the confidence intervals (0.05 gives 95%).

    Notes
    -----
    Individual likelihood (Fader & Hardie 2005 note, eq. 22), ``k = r+s+x``:

    .. math::
        L = \\frac{\\Gamma(r+x)\\alpha^r\\beta^s}{\\Gamma(r)}\\Big[
            \\frac{1}{(\\alpha+T)^{r+x}(\\beta+T)^s} + \\frac{s}{k} A_0\\Big]

    with, for :math:`\\alpha \\ge \\beta`,
    :math:`A_0 = \\frac{{}_2F_1(k, s+1; k+1; \\frac{\\alpha-\\beta}{\\alpha+t_x})}{(\\alpha+t_x)^k}
    - \\frac{{}_2F_1(k, s+1; k+1; \\frac{\\alpha-\\beta}{\\alpha+T})}{(\\alpha+T)^k}`
    (and symmetrically for :math:`\\alpha < \\beta`).  Every term is evaluated in
    log space after an Euler transform (see ``_log_a0_part``), so histories
    with hundreds or thousands of purchases stay finite.  The gradient is
    numerical (central differences); the Hessian uses second differences.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting your
    customers: who are they and what will they do next? Management Science
    33(1), 1-24.  Fader, P. S. and Hardie, B. G. S. (2005). A note on deriving
    the Pareto/NBD model and related expressions.  CDNOW estimates:
    r = 0.55, alpha = 10.58, s = 0.61, beta = 11.67, LL = -9595.0.

    Examples
    --------
    >>> rng = np.random.default_rng(7)
    >>> data = ParetoNBD.simulate(dict(r=0.6, alpha=10.0, s=0.7, beta=12.0), T=np.full(4000, 40.0), rng=rng)
    >>> model = ParetoNBD().fit(data, time_unit="week")
    >>> ci = model.conf_int()  # the planted values lie inside the 95% intervals
    >>> ((ci["ci_lower"] < [0.6, 10.0, 0.7, 12.0]) & ([0.6, 10.0, 0.7, 12.0] < ci["ci_upper"])).all()
    np.True_
    """

    _param_names = ("r", "alpha", "s", "beta")
    _method = "Pareto/NBD maximum likelihood"

    def fit(self, data: pd.DataFrame, *, frequency_col: str = "frequency", recency_col: str = "recency",
            T_col: str = "T", weights_col: str | None = None, time_unit: str | None = None,
            initial_params: dict[str, float] | None = None) -> ParetoNBD:
        """Fit by maximum likelihood to one row per customer (compressed to unique histories)."""
        self.time_unit = resolve_time_unit(data, time_unit)
        self._cols = dict(frequency=frequency_col, recency=recency_col, T=T_col)
        c = frame_columns(data, self._cols)
        check_rfm(c["frequency"], c["recency"], c["T"])
        (x, tx, T), w, inv = compress(c["frequency"], c["recency"], c["T"])
        if weights_col is not None:
            w = np.bincount(inv, weights=data[weights_col].to_numpy(dtype=float), minlength=len(w))
        if (x > 0).sum() == 0:
            raise ParameterError("No customer has a repeat purchase (frequency > 0): Pareto/NBD cannot be fitted.")
        rate = float(np.average(x + 1, weights=w) / np.average(T, weights=w))
        span = float(np.average(T, weights=w))
        x0 = np.log([1.0, 1.0 / rate, 1.0, span])
        self._optimize((x, tx, T), w, x0, initial_params)
        return self

    @staticmethod
    def _log_terms(p, x, tx, T):
        r, alpha, s, beta = p
        log_c = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        term1 = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
        la_tx = _log_a0_part(r, alpha, s, beta, x, tx)
        la_T = _log_a0_part(r, alpha, s, beta, x, T)
        with np.errstate(divide="ignore"):
            log_a0 = la_tx + np.log1p(-np.exp(np.minimum(la_T - la_tx, 0.0)))
        term2 = np.log(s / (r + s + x)) + log_a0
        return log_c, term1, term2

    def _negll(self, logp, data, weights):
        x, tx, T = data
        log_c, term1, term2 = self._log_terms(np.exp(logp), x, tx, T)
        ll = log_c + np.logaddexp(term1, term2)
        return -float((weights * ll).sum()), None

    def _history(self, data):
        self._check_fitted()
        c = frame_columns(data, self._cols)
        check_rfm(c["frequency"], c["recency"], c["T"])
        return c["frequency"], c["recency"], c["T"]

    def predict_alive(self, data: pd.DataFrame) -> pd.Series:
        """P(alive at T | x, t_x, T) = 1 / (1 + (s/k) A_0 (alpha+T)^{r+x} (beta+T)^s)."""
        p = self._check_fitted().to_numpy()
        x, tx, T = self._history(data)
        _, term1, term2 = self._log_terms(p, x, tx, T)
        return pd.Series(special.expit(term1 - term2), index=data.index, name="p_alive")

    @staticmethod
    def _ratio(s, base, t):
        """``[1 - (base/(base+t))^(s-1)] / (s-1)``, continuous at s = 1."""
        lg = np.log(base / (base + t))
        if abs(s - 1) < 1e-10:
            return -lg
        return -np.expm1((s - 1) * lg) / (s - 1)

    def expected_purchases_new(self, t) -> np.ndarray:
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] for a new customer."""
        r, alpha, s, beta = self._check_fitted().to_numpy()
        t = np.asarray(t, dtype=float)
        return r * beta / alpha * self._ratio(s, beta, t)

    def predict_purchases(self, data: pd.DataFrame, *, t: float) -> pd.Series:
        """Expected purchases in the next ``t`` time units given each history (Fader & Hardie 2005 note, eq. 24)."""
        r, alpha, s, beta = self._check_fitted().to_numpy()
        x, tx, T = self._history(data)
        out = (r + x) * (beta + T) / (alpha + T) * self._ratio(s, beta + T, t) \
            * self.predict_alive(data).to_numpy()
        return pd.Series(out, index=data.index, name="expected_purchases")

    def predict_clv(self, data: pd.DataFrame, *, spend, horizon: float, annual_discount_rate: float,
                    margin: float = 1.0, step: float = 1.0) -> pd.Series:
        """Discounted expected value of future purchases over ``horizon`` time units (see BetaGeo.predict_clv)."""
        self._check_fitted()
        purchases = discounted_purchases(lambda t: self.predict_purchases(data, t=t).to_numpy(),
                                         horizon=horizon, step=step, time_unit=self.time_unit,
                                         annual_discount_rate=annual_discount_rate)
        return pd.Series(margin * np.asarray(spend, dtype=float) * purchases, index=data.index, name="clv")

    @staticmethod
    def simulate(params: dict[str, float], *, T, rng: np.random.Generator) -> pd.DataFrame:
        """Draw (frequency, recency, T) histories from the Pareto/NBD process (first purchase at 0)."""
        T = np.asarray(T, dtype=float)
        n = len(T)
        lam = rng.gamma(params["r"], 1.0 / params["alpha"], n)
        mu = rng.gamma(params["s"], 1.0 / params["beta"], n)
        death = np.minimum(rng.exponential(1.0, n) / mu, T)
        freq = rng.poisson(lam * death)
        # given the count, purchase times are uniform on (0, death): the last is death * U^(1/n)
        rec = np.where(freq > 0, death * rng.random(n) ** (1.0 / np.maximum(freq, 1)), 0.0)
        return pd.DataFrame({"frequency": freq.astype(np.int64), "recency": rec, "T": T})
