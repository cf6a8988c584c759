"""The shifted-beta-geometric (sBG) model of contractual retention (Fader & Hardie 2007)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from .._deprecation import renamed_arguments
from ..errors import ParameterError
from ._base import MLEFitter, frame_columns


class ShiftedBetaGeometric(MLEFitter):
    """Contractual retention: each customer churns at every renewal with probability ``theta ~ Beta(alpha, beta)``.

    Fitted on cohort counts of customers still active at the start of each
    period ``t = 0, 1, ..., n`` (the first row is the cohort size).

    Notes
    -----
    With ``B`` the beta function,

    .. math::
        P(T = t) = \\frac{B(\\alpha+1, \\beta+t-1)}{B(\\alpha, \\beta)}, \\qquad
        S(t) = \\frac{B(\\alpha, \\beta+t)}{B(\\alpha, \\beta)}, \\qquad
        r_t = \\frac{\\beta+t-1}{\\alpha+\\beta+t-1}

    and the log-likelihood of one cohort is
    :math:`\\sum_{t=1}^{n} (A_{t-1} - A_t) \\ln P(T=t) + A_n \\ln S(n)` for the
    active counts :math:`A_t`.  Gradient analytic (digamma).

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2007). How to project customer
    retention. Journal of Interactive Marketing 21(1), 76-90.  "High end"
    cohort 1000, 869, 743, 653, 593, 551, 517, 491 gives alpha = 0.668,
    beta = 3.806; "regular" 1000, 631, 468, 382, 326, 289, 262, 241 gives
    alpha = 0.704, beta = 1.182.

    Examples
    --------
    >>> sbg = ShiftedBetaGeometric().fit(pd.DataFrame({"period": range(8),
    ...     "alive": [1000, 869, 743, 653, 593, 551, 517, 491]}))
    >>> sbg.params_.round(3).tolist()
    [0.668, 3.806]
    """

    _param_names = ("alpha", "beta")
    _method = "shifted-beta-geometric maximum likelihood"

    @renamed_arguments(segment_col="segment")
    def fit(self, data: pd.DataFrame, *, period_col: str = "period", alive_col: str = "alive",
            cohort_col: str | None = None, initial_params: dict[str, float] | None = None,
            segment: str | None = None) -> ShiftedBetaGeometric:
        """Fit on active counts by period (0, 1, ..., n within each cohort; several cohorts share the parameters).

        ``segment`` (a column; ``segment_col`` is its deprecated old name) fits one model per level of that
        column, each on its own rows only: the fitted
        models are in ``segments_``, their parameters in the tidy ``params_by_segment_`` (and ``summary``),
        and ``predict_by_segment(method, data)`` scores each row with its segment's model.
        """
        if segment is not None:
            return self._fit_segments(data, segment, dict(
                period_col=period_col, alive_col=alive_col, cohort_col=cohort_col, initial_params=initial_params))
        cols = dict(period=period_col, alive=alive_col)
        c = frame_columns(data, cols)
        groups = data[cohort_col].to_numpy() if cohort_col else np.zeros(len(data))
        t_all, lost_all, surv_t, surv_n = [], [], [], []
        for g in pd.unique(groups):
            sel = groups == g
            order = np.argsort(c["period"][sel])
            per, alive = c["period"][sel][order], c["alive"][sel][order]
            if not np.array_equal(per, np.arange(len(per))) or len(per) < 2:
                raise ParameterError(f"cohort {g!r}: periods must be 0, 1, ..., n with n >= 1; got {per.tolist()}.")
            lost = -np.diff(alive)
            if np.any(lost < 0) or np.any(alive < 0):
                raise ParameterError(f"cohort {g!r}: active counts must be non-negative and non-increasing.")
            t_all.append(np.arange(1, len(per)))
            lost_all.append(lost)
            surv_t.append(len(per) - 1)
            surv_n.append(alive[-1])
        self.n_periods_ = int(max(surv_t))
        data_ = (np.concatenate(t_all), np.concatenate(lost_all), np.array(surv_t, float), np.array(surv_n, float))
        w = np.concatenate([data_[1], data_[3]])  # total customers, for the base's bookkeeping
        self._optimize(data_, w, np.zeros(2), initial_params)
        return self

    def _negll(self, logp, data, weights):
        t, lost, tn, an = data
        a, b = np.exp(logp)
        lb0 = special.betaln(a, b)
        log_p = special.betaln(a + 1, b + t - 1) - lb0
        log_s = special.betaln(a, b + tn) - lb0
        ll = (lost * log_p).sum() + (an * log_s).sum()
        psi_ab = special.digamma(a + b)
        d0a, d0b = special.digamma(a) - psi_ab, special.digamma(b) - psi_ab  # d betaln(a, b)
        dpa = special.digamma(a + 1) - special.digamma(a + b + t) - d0a
        dpb = special.digamma(b + t - 1) - special.digamma(a + b + t) - d0b
        dsa = special.digamma(a) - special.digamma(a + b + tn) - d0a
        dsb = special.digamma(b + tn) - special.digamma(a + b + tn) - d0b
        grad = np.array([(lost * dpa).sum() + (an * dsa).sum(), (lost * dpb).sum() + (an * dsb).sum()]) * [a, b]
        return -float(ll), -grad

    def survival_function(self, t) -> pd.Series:
        """S(t) = B(alpha, beta + t) / B(alpha, beta) at integer periods ``t``, indexed by t."""
        a, b = self._check_fitted().to_numpy()
        t = np.asarray(t, dtype=float)
        return pd.Series(np.exp(special.betaln(a, b + t) - special.betaln(a, b)), index=t, name="survival")

    def retention_rate(self, t) -> np.ndarray:
        """Retention rate from period t-1 to t: (beta + t - 1) / (alpha + beta + t - 1), t >= 1."""
        a, b = self._check_fitted().to_numpy()
        t = np.asarray(t, dtype=float)
        return (b + t - 1) / (a + b + t - 1)

    def discounted_expected_lifetime(self, *, discount_rate_per_period: float) -> float:
        """DEL = sum_{t>=0} S(t) / (1+d)^t = 2F1(1, beta; alpha+beta; 1/(1+d)) (Fader & Hardie 2010, eq. 6).

        The rate is per *period* of the model (the cohort's billing period);
        convert an annual rate yourself, e.g. ``1.1 ** (1/12) - 1`` for months.
        """
        a, b = self._check_fitted().to_numpy()
        if not discount_rate_per_period > 0:
            raise ParameterError("discount_rate_per_period must be > 0 for the infinite-horizon sum to converge.")
        return float(special.hyp2f1(1.0, b, a + b, 1.0 / (1.0 + discount_rate_per_period)))

