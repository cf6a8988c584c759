"""Shared maximum-likelihood machinery of the CLV models.

Every model of :mod:`cxlib.clv` speaks the lifelines verbs: it is constructed
with options, ``fit(...)`` returns ``self``, learned values end in an
underscore (``params_``, ``log_likelihood_``, ``variance_matrix_``) and
``summary`` is a table with one row per parameter.

The optimisation runs on the log of the (strictly positive) parameters with
BFGS.  Standard errors come from the inverse of the observed information
(the Hessian of the negative log-likelihood at the optimum, obtained by
central differences of the gradient), mapped back to the natural scale by the
delta method.  Confidence intervals are computed on the log scale and
exponentiated, so they never cross zero.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from .._deprecation import renamed_attribute
from ..display import displayable
from ..errors import ConvergenceError, NotFittedError, ParameterError, check_choice
from ..stats import check_alpha, z_value

#: Length of one model time unit in days; months are deliberately absent (no hidden 30-day month).
TIME_UNITS: dict[str, float] = {"day": 1.0, "week": 7.0}

SUMMARY_COLUMNS = ("param", "estimate", "se", "ci_lower", "ci_upper", "ci_level", "n", "method")

CONVERGENCE_CHECKLIST = (
    "1. Are there enough customers with repeat purchases (frequency > 0)? A handful cannot identify the model.",
    "2. Are frequency, recency and T in the same time unit, with 0 <= recency <= T and integer frequency >= 0?",
    "3. Is the time unit sensible for the purchase rate (weeks for CDNOW-like data)? Extreme scales slow BFGS.",
    "4. Is the model a poor fit (e.g. nobody ever drops out)? A parameter running to 0 or infinity shows it.",
    "5. Try other starting values with fit(..., initial_params={...}), or another model.",
)


def check_time_unit(time_unit: Any) -> str:
    """Validate a time unit against :data:`TIME_UNITS` and return it."""
    return check_choice("time_unit", time_unit, TIME_UNITS)


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Collapse identical rows of several equally long columns.

    Returns the unique columns, the weight (count) of each unique row, and the
    inverse index that maps every original row to its unique row.

    >>> u, w, inv = compress(np.array([1, 1, 2]), np.array([0.5, 0.5, 3.0]))
    >>> [c.tolist() for c in u], w.tolist(), inv.tolist()
    ([[1.0, 2.0], [0.5, 3.0]], [2.0, 1.0], [0, 0, 1])
    """
    cols = [np.asarray(c, dtype=float) for c in columns]
    n = len(cols[0])
    if n == 0:
        return [c[:0] for c in cols], np.zeros(0), np.zeros(0, dtype=np.int64)
    order = np.lexsort(cols[::-1])  # sort by the first column, then the next...
    srt = [c[order] for c in cols]
    new = np.ones(n, dtype=bool)
    new[1:] = np.any(np.stack([c[1:] != c[:-1] for c in srt]), axis=0)
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = group
    counts = np.bincount(group).astype(float)
    return [c[new] for c in srt], counts, inverse


def model_fields(model: MLEFitter) -> dict[str, Any]:
    """What a model's display shows above its :attr:`~MLEFitter.summary` (parameters with intervals)."""
    fitted = model.params_ is not None
    return {"fitted": fitted or model.segments_ is not None, "alpha": model.alpha,
            **({"n": model.n_, "log_likelihood": model.log_likelihood_} if fitted else {}),
            **({"segment": model.segment_, "segments": len(model.segments_)} if model.segments_ is not None else {})}


@displayable(tables=("summary",), fields=model_fields)
class MLEFitter:
    """Base class: log-parameter BFGS, Hessian standard errors and the summary table.

    Subclasses define ``_param_names`` (paper notation), ``_method`` (a short
    label) and implement ``_negll(logp, data, weights)`` returning the summed
    negative log-likelihood and its gradient with respect to the log
    parameters (or ``None`` for the gradient, which switches to numerical
    differences).
    """

    _param_names: tuple[str, ...] = ()
    _method: str = ""

    def __init__(self, *, alpha: float = 0.05):
        check_alpha(alpha)
        self.alpha = alpha
        self.params_: pd.Series | None = None
        self.segments_: dict[Any, MLEFitter] | None = None
        self.params_by_segment_: pd.DataFrame | None = None
        self.segment_: str | None = None

    # ------------------------------------------------------------------ by segment
    segment_col_ = renamed_attribute("segment_col_", "segment_")

    def _fit_segments(self, data: pd.DataFrame, segment: str, fit_kwargs: dict[str, Any]) -> MLEFitter:
        """Fit one model of this class per level of column ``segment`` (each on that segment's rows only).

        Sets ``segments_`` (level -> fitted model), ``params_by_segment_`` (one row per segment and parameter:
        ``segment`` then the :attr:`summary` columns) and ``segment_`` (the column; ``segment_col_`` is its
        deprecated old name); ``params_`` stays ``None``.
        """
        if not isinstance(data, pd.DataFrame):
            raise ParameterError(f"data must be a pandas DataFrame, got {type(data).__name__}.")
        if segment not in data.columns:
            raise ParameterError(f"segment={segment!r} is not a column of data; it has {list(data.columns)}.")
        labels = data[segment]
        if labels.isna().any():
            raise ParameterError(f"{int(labels.isna().sum())} row(s) have no {segment!r} label; fill them "
                                 "(e.g. 'unassigned') or drop them before fitting by segment.")
        levels = list(pd.unique(labels))
        try:
            levels = sorted(levels)
        except TypeError:  # pragma: no cover - mixed label types keep their order of appearance
            pass
        if "time_unit" in fit_kwargs:  # a data-wide problem is reported once, not as a segment's
            fit_kwargs = {**fit_kwargs, "time_unit": resolve_time_unit(data, fit_kwargs["time_unit"])}
        models: dict[Any, MLEFitter] = {}
        for level in levels:
            sub = data[(labels == level).to_numpy()]
            sub.attrs = dict(data.attrs)
            model = type(self)(alpha=self.alpha)
            try:
                model.fit(sub, **fit_kwargs)
            except (ParameterError, ConvergenceError) as exc:
                raise type(exc)(f"{type(self).__name__}: segment {segment}={level!r} ({len(sub)} rows) could not "
                                f"be fitted: {exc}\n(A segment too small to fit: merge it into a larger one or drop "
                                "it.)") from exc
            models[level] = model
        self.params_ = None
        self.segments_ = models
        self.segment_ = segment
        self.params_by_segment_ = pd.concat(
            [m.summary.assign(segment=level) for level, m in models.items()], ignore_index=True
        )[["segment", *SUMMARY_COLUMNS]]
        for attr in ("time_unit", "_cols"):
            if attr in vars(next(iter(models.values()))):
                setattr(self, attr, getattr(next(iter(models.values())), attr))
        return self

    def predict_by_segment(self, method: str, data: pd.DataFrame, **kwargs: Any) -> pd.Series:
        """Call ``method`` (e.g. ``"predict_alive"``) of each segment's model on that segment's rows of ``data``.

        Needs a model fitted with ``segment=``; ``data`` must carry the same column.  Returns one value per
        row of ``data``, in its order.
        """
        if self.segments_ is None:
            raise NotFittedError(f"This {type(self).__name__} was not fitted by segment: call "
                                 ".fit(data, segment=...) first.")
        col = self.segment_
        if col not in data.columns:
            raise ParameterError(f"data lacks the segment column {col!r} the model was fitted by.")
        unknown = sorted(map(str, set(data[col].dropna()) - set(self.segments_)))
        if unknown or data[col].isna().any():
            raise ParameterError(f"{col} has levels without a fitted model: {unknown or ['<missing>']}; "
                                 f"fitted levels are {list(self.segments_)}.")
        parts = []
        for level, model in self.segments_.items():
            sub = data[(data[col] == level).to_numpy()]
            if len(sub):
                parts.append(pd.Series(getattr(model, method)(sub, **kwargs), index=sub.index))
        return pd.concat(parts).reindex(data.index)

    # ------------------------------------------------------------------ fitting
    def _optimize(self, data: Sequence[np.ndarray], weights: np.ndarray, x0: np.ndarray,
                  initial_params: dict[str, float] | None = None) -> None:
        if initial_params is not None:
            unknown = set(initial_params) - set(self._param_names)
            if unknown:
                raise ParameterError(f"initial_params has unknown keys {sorted(unknown)}; "
                                     f"the parameters are {list(self._param_names)}.")
            x0 = x0.copy()
            for i, name in enumerate(self._param_names):
                if name in initial_params:
                    if not initial_params[name] > 0:
                        raise ParameterError(f"initial value of {name} must be > 0, got {initial_params[name]!r}.")
                    x0[i] = math.log(initial_params[name])
        total = float(weights.sum())

        def fun(logp: np.ndarray) -> tuple[float, np.ndarray]:
            f, g = self._negll(logp, data, weights)
            if g is None:
                g = self._numeric_grad(logp, data, weights)
            return f / total, g / total

        with np.errstate(all="ignore"):
            res = optimize.minimize(fun, x0, jac=True, method="BFGS", options={"gtol": 1e-8, "maxiter": 2000})
        ok = np.all(np.isfinite(res.x)) and np.isfinite(res.fun)
        grad_norm = float(np.max(np.abs(res.jac))) if ok else math.inf
        # BFGS often reports "precision loss" at a genuine optimum; accept it when the gradient is tiny.
        if not ok or (not res.success and grad_norm > 1e-5) or np.any(np.abs(res.x) > 30):
            raise ConvergenceError(
                f"{type(self).__name__} did not converge ({res.message}; max |gradient| = {grad_norm:.3g}, "
                f"log-parameters {dict(zip(self._param_names, np.round(res.x, 3)))}). Likely causes:\n"
                + "\n".join(CONVERGENCE_CHECKLIST))
        hess = self._hessian(res.x, data, weights)
        try:
            cov_log = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            cov_log = np.full_like(hess, np.nan)
        p = np.exp(res.x)
        cov = cov_log * np.outer(p, p)
        names = list(self._param_names)
        self.segments_ = self.params_by_segment_ = self.segment_ = None
        self._logp = res.x
        self._cov_log = cov_log
        self.params_ = pd.Series(p, index=names, name="estimate")
        self.variance_matrix_ = pd.DataFrame(cov, index=names, columns=names)
        self.standard_errors_ = pd.Series(np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan)),
                                          index=names, name="se")
        self.log_likelihood_ = -float(res.fun) * total
        self.n_iterations_ = int(res.nit)
        self.n_ = total
        self.n_unique_ = int(len(weights))
        self.AIC_ = 2 * len(names) - 2 * self.log_likelihood_

    def _numeric_grad(self, logp: np.ndarray, data: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
        g = np.empty_like(logp)
        for i in range(len(logp)):
            h = 1e-6 * max(1.0, abs(logp[i]))
            e = np.zeros_like(logp)
            e[i] = h
            g[i] = (self._negll(logp + e, data, weights)[0] - self._negll(logp - e, data, weights)[0]) / (2 * h)
        return g

    def _hessian(self, logp: np.ndarray, data: Sequence[np.ndarray], weights: np.ndarray) -> np.ndarray:
        k = len(logp)
        hess = np.empty((k, k))
        analytic = self._negll(logp, data, weights)[1] is not None
        if analytic:
            for i in range(k):
                h = 1e-5 * max(1.0, abs(logp[i]))
                e = np.zeros(k)
                e[i] = h
                hess[:, i] = (self._negll(logp + e, data, weights)[1]
                              - self._negll(logp - e, data, weights)[1]) / (2 * h)
        else:  # second differences of the log-likelihood itself
            f0 = self._negll(logp, data, weights)[0]
            hs = 1e-4 * np.maximum(1.0, np.abs(logp))
            for i in range(k):
                for j in range(i, k):
                    ei = np.zeros(k)
                    ej = np.zeros(k)
                    ei[i] = hs[i]
                    ej[j] = hs[j]
                    if i == j:
                        val = (self._negll(logp + ei, data, weights)[0] - 2 * f0
                               + self._negll(logp - ei, data, weights)[0]) / hs[i] ** 2
                    else:
                        val = (self._negll(logp + ei + ej, data, weights)[0]
                               - self._negll(logp + ei - ej, data, weights)[0]
                               - self._negll(logp - ei + ej, data, weights)[0]
                               + self._negll(logp - ei - ej, data, weights)[0]) / (4 * hs[i] * hs[j])
                    hess[i, j] = hess[j, i] = val
        return (hess + hess.T) / 2

    def _negll(self, logp: np.ndarray, data: Sequence[np.ndarray],
               weights: np.ndarray) -> tuple[float, np.ndarray | None]:  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------------ results
    def _check_fitted(self) -> pd.Series:
        if self.params_ is None and self.segments_ is not None:
            raise NotFittedError(f"This {type(self).__name__} was fitted one model per {self.segment_!r}: use "
                                 ".segments_[level], .params_by_segment_ or .predict_by_segment(method, data).")
        if self.params_ is None:
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet: call .fit(data) first.")
        return self.params_

    def conf_int(self, alpha: float | None = None) -> pd.DataFrame:
        """Confidence intervals of the parameters (log-scale Wald, exponentiated).

        ``[exp(log p - z se_log), exp(log p + z se_log)]`` with ``se_log = se / p``.
        """
        params = self._check_fitted()
        alpha = self.alpha if alpha is None else alpha
        z = z_value(alpha)
        se_log = np.sqrt(np.diag(self._cov_log))
        return pd.DataFrame({"ci_lower": np.exp(self._logp - z * se_log),
                             "ci_upper": np.exp(self._logp + z * se_log)}, index=params.index)

    @property
    def summary(self) -> pd.DataFrame:
        """One row per parameter: ``param, estimate, se, ci_lower, ci_upper, ci_level, n, method``.

        Fitted with ``segment=``: :attr:`params_by_segment_` (the same with a leading ``segment`` column).
        """
        if self.params_ is None and self.params_by_segment_ is not None:
            return self.params_by_segment_
        params = self._check_fitted()
        ci = self.conf_int()
        return pd.DataFrame({
            "param": params.index, "estimate": params.to_numpy(), "se": self.standard_errors_.to_numpy(),
            "ci_lower": ci["ci_lower"].to_numpy(), "ci_upper": ci["ci_upper"].to_numpy(),
            "ci_level": 1 - self.alpha, "n": self.n_, "method": self._method,
        }, columns=list(SUMMARY_COLUMNS))


def frame_columns(data: pd.DataFrame, cols: dict[str, str]) -> dict[str, np.ndarray]:
    """Pull named float columns out of ``data`` with a clear error when one is missing."""
    if not isinstance(data, pd.DataFrame):
        raise ParameterError(f"data must be a pandas DataFrame (e.g. from rfm_summary), got {type(data).__name__}.")
    missing = [c for c in cols.values() if c not in data.columns]
    if missing:
        raise ParameterError(f"data lacks column(s) {missing}; it has {list(data.columns)}. "
                             "Pass the right names with the *_col arguments.")
    return {k: data[c].to_numpy(dtype=float) for k, c in cols.items()}


def resolve_time_unit(data: pd.DataFrame, time_unit: str | None) -> str:
    """Take the time unit from the argument, else from ``data.attrs['time_unit']`` (set by rfm_summary)."""
    unit = time_unit if time_unit is not None else data.attrs.get("time_unit")
    if unit is None:
        raise ParameterError("The time unit of recency and T is unknown: pass time_unit='week' or 'day' "
                             "(rfm_summary records it in data.attrs['time_unit']).")
    return check_time_unit(unit)


def check_rfm(frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> None:
    """Raise ``ParameterError`` on impossible (frequency, recency, T) histories."""
    bad = (~np.isfinite(frequency) | ~np.isfinite(recency) | ~np.isfinite(T) | (frequency < 0)
           | (np.abs(frequency - np.round(frequency)) > 1e-9) | (recency < 0) | (recency > T + 1e-9) | (T <= 0)
           | ((frequency == 0) & (recency > 0)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ParameterError(
            f"{int(bad.sum())} row(s) have impossible histories; first at position {i}: frequency={frequency[i]}, "
            f"recency={recency[i]}, T={T[i]}. Expected integer frequency >= 0, 0 <= recency <= T, T > 0 and "
            "recency = 0 when frequency = 0.")


def compressed_histories(model: Any, data: pd.DataFrame, *, frequency_col: str, recency_col: str, T_col: str,
                         weights_col: str | None, time_unit: str | None, model_name: str
                         ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], np.ndarray, float]:
    """Checked, compressed (x, t_x, T) histories of a BG/NBD or Pareto/NBD fit, their weights and the mean rate.

    Sets ``model.time_unit`` and ``model._cols``; ``weights_col`` (customers per row) is summed over each
    unique history. The rate :math:`\\sum w(x+1) / \\sum wT` seeds the starting values.
    """
    model.time_unit = resolve_time_unit(data, time_unit)
    model._cols = dict(frequency=frequency_col, recency=recency_col, T=T_col)
    c = frame_columns(data, model._cols)
    check_rfm(c["frequency"], c["recency"], c["T"])
    (x, tx, T), w, inv = compress(c["frequency"], c["recency"], c["T"])
    if weights_col is not None:
        w = np.bincount(inv, weights=data[weights_col].to_numpy(dtype=float), minlength=len(w))
    if (x > 0).sum() == 0:
        raise ParameterError(f"No customer has a repeat purchase (frequency > 0): {model_name} cannot be fitted.")
    rate = float(np.average(x + 1, weights=w) / np.average(T, weights=w))
    return (x, tx, T), w, rate
