"""Donor weights of a synthetic control: outcome matching, and predictors with nested V/W optimisation.

Two ways to choose the convex weights ``W`` (``W >= 0``, ``sum W = 1``) of the donor units:

- :func:`simplex_weights`: match the treated unit's pre-period outcome path directly (the
  outcomes-only synthetic control);
- :func:`nested_weights`: match a small set of *predictors* (covariate averages, outcome lags) in a
  metric ``V`` that is itself chosen to reproduce the pre-period outcome path best, as Abadie,
  Diamond & Hainmueller (2010) and R's ``Synth`` do.  :func:`predictor_matrix` computes the
  predictors from a tidy panel.

The estimator and its inference are in :mod:`cxlib.evaluation.synthetic_control`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from ..display import displayable
from ..errors import ConvergenceError, DataContractError, ParameterError

__all__ = ["simplex_weights", "nested_weights", "NestedWeights", "predictor_matrix", "Predictor"]

#: A predictor: a column (its mean over the default predictor periods) or ``(column, periods)``.
Predictor = str | tuple[str, Sequence[Any]]


def simplex_weights(target: np.ndarray, donors: np.ndarray) -> np.ndarray:
    """Convex weights ``w`` (``w >= 0``, ``sum w = 1``) minimising ``||target - donors @ w||^2``.

    Parameters
    ----------
    target : ndarray, shape (T0,)
        Pre-period outcomes of the unit to reproduce.
    donors : ndarray, shape (T0, J)
        Pre-period outcomes of the J donor units.

    Returns
    -------
    ndarray, shape (J,)

    Notes
    -----
    Solved exactly as a non-negative least-squares problem (Lawson & Hanson
    1974) with the sum-to-one constraint appended as a heavily weighted row,
    ``min ||[X; lam 1'] w - [y; lam]||``, ``lam = 1e4 (1 + max|X|)`` on data
    scaled by the target's spread, then renormalised (the constraint holds to
    about ``1e-8`` before renormalising).

    Examples
    --------
    >>> x = np.array([[1.0, 3.0], [2.0, 4.0], [3.0, 5.0]])
    >>> np.round(simplex_weights(x @ np.array([0.25, 0.75]), x), 6)
    array([0.25, 0.75])
    """
    target = np.asarray(target, dtype=float)
    donors = np.asarray(donors, dtype=float)
    j = donors.shape[1]
    if j == 1:
        return np.ones(1)
    scale = float(np.std(target)) or 1.0
    y, x = target / scale, donors / scale
    lam = 1e4 * (1.0 + float(np.abs(x).max()))
    try:
        w, _ = optimize.nnls(np.vstack([x, np.full(j, lam)]), np.append(y, lam), maxiter=100 * j)
    except RuntimeError as exc:
        raise ConvergenceError(f"Synthetic-control weights did not converge ({exc}). Likely causes: "
                               "1. donors with near-identical paths (drop duplicates); 2. a very short "
                               "pre-period; 3. outcomes on wildly different scales (rescale).") from exc
    return w / w.sum()


@displayable()
@dataclass(frozen=True)
class NestedWeights:
    """Predictor weights ``V``, donor weights ``W`` and the fit they give.

    Attributes
    ----------
    v : ndarray, shape (k,)
        Diagonal of ``V`` (non-negative, summing to one), in the order of the predictors.
    w : ndarray, shape (J,)
        Donor weights (non-negative, summing to one).
    loss_v : float
        Mean squared prediction error of the outcome over the optimisation periods with these weights.
    loss_w : float
        ``(X1 - X0 W)' V (X1 - X0 W)`` on the scaled predictors.
    start : str
        The start the best ``V`` was reached from: ``"regression"``, ``"equal"``, ``"random 1"``...,
        or ``"given"`` for a fixed ``V``.
    n_starts : int
        Starts tried.
    """

    v: np.ndarray
    w: np.ndarray
    loss_v: float
    loss_w: float
    start: str
    n_starts: int


def _scaled(x1: np.ndarray, x0: np.ndarray, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Predictors divided by their standard deviation over the treated and donor units (as R's ``Synth``)."""
    sd = np.std(np.column_stack([x1, x0]), axis=1, ddof=1)
    flat = ~(sd > 1e-12 * (1.0 + np.abs(x1)))
    if flat.any():
        raise ParameterError(f"Predictor(s) {[names[i] for i in np.flatnonzero(flat)]} take the same value for "
                             "every unit and cannot tell donors apart; drop them from predictors=.")
    return x1 / sd, x0 / sd[:, None]


def _regression_start(x1: np.ndarray, x0: np.ndarray, z1: np.ndarray, z0: np.ndarray) -> np.ndarray | None:
    """``diag(B B')`` of the regression of the outcomes on the scaled predictors (R ``Synth``'s start)."""
    design = np.column_stack([np.ones(x0.shape[1] + 1), np.column_stack([x1, x0]).T])
    coef, _, rank, _ = np.linalg.lstsq(design, np.column_stack([z1, z0]).T, rcond=None)
    if rank < design.shape[1]:
        return None
    v = np.sum(coef[1:] ** 2, axis=1)
    return v / v.sum() if v.sum() > 0 else None


def _metric_weights(x1: np.ndarray, x0: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``W(V)``: :func:`simplex_weights` of ``V^(1/2) x1`` on ``V^(1/2) x0``, with its buffers allocated once.

    The problem of ``simplex_weights(s * x1, s[:, None] * x0)`` with ``s = sqrt(V)``, scaled by the
    largest target value instead of its spread (the same weights up to rounding), about twice as
    fast: the search calls it tens of thousands of times.
    """
    k, j = x0.shape
    a, b = np.empty((k + 1, j)), np.empty(k + 1)

    def weights(v: np.ndarray) -> np.ndarray:
        if j == 1:
            return np.ones(1)
        s = np.sqrt(v)
        y = s * x1
        scale = float(np.abs(y).max()) or 1.0
        np.multiply(x0, (s / scale)[:, None], out=a[:k])
        lam = 1e4 * (1.0 + float(np.abs(a[:k]).max()))
        a[k], b[:k], b[k] = lam, y / scale, lam
        try:
            w, _ = optimize.nnls(a, b, maxiter=100 * j)
        except RuntimeError as exc:
            raise ConvergenceError(f"Synthetic-control weights did not converge ({exc}). Likely causes: 1. donors "
                                   "with near-identical predictors (drop duplicates); 2. predictors on wildly "
                                   "different scales.") from exc
        return w / w.sum()

    return weights


def _softmax(theta: np.ndarray) -> np.ndarray:
    e = np.exp(theta - theta.max())
    return e / e.sum()


def _descend(loss: Callable[[np.ndarray], float], v0: np.ndarray, max_rounds: int = 4) -> tuple[np.ndarray, float]:
    """Nelder-Mead on ``log V``, restarted from its own end point until it stops improving."""
    k = len(v0)
    theta = np.log(np.clip(v0, 1e-10, None))
    best = loss(theta)
    for _ in range(max_rounds):
        res = optimize.minimize(loss, theta, method="Nelder-Mead",
                                options={"maxfev": 100 * k, "xatol": 1e-4, "fatol": 1e-11, "adaptive": True})
        if not res.fun < best - 1e-10 * (1.0 + abs(best)):
            break
        theta, best = res.x, float(res.fun)
    return _softmax(theta), best


def nested_weights(x1: np.ndarray, x0: np.ndarray, z1: np.ndarray, z0: np.ndarray, *,
                   names: Sequence[str] | None = None, v: Sequence[float] | None = None, restarts: int = 3,
                   rng: np.random.Generator | None = None) -> NestedWeights:
    """Donor weights ``W`` matching predictors in a metric ``V`` chosen to reproduce the outcome path.

    Parameters
    ----------
    x1 : ndarray, shape (k,)
        Predictors of the treated unit.
    x0 : ndarray, shape (k, J)
        Predictors of the J donors.
    z1 : ndarray, shape (T,)
        Outcome of the treated unit in the optimisation periods (pre-program).
    z0 : ndarray, shape (T, J)
        Outcomes of the donors in the same periods.
    names : sequence of str, optional
        Predictor names, for error messages.
    v : sequence of float, optional
        A fixed diagonal of ``V`` (normalised to sum to one); skips the search.
    restarts : int
        Random starts (Dirichlet(1) draws from ``rng``) tried besides the regression-based and the
        equal-weights starts (default 3: the loss surface of ``V`` has flat regions and several
        local minima).
    rng : numpy.random.Generator, optional
        Seeded generator of the random starts; needed when ``restarts > 0`` and ``v`` is not given.

    Returns
    -------
    NestedWeights

    Notes
    -----
    Predictors are divided by their standard deviation over the treated and donor units.  For a
    given ``V``, ``W(V) = argmin (X1 - X0 W)' V (X1 - X0 W)`` over the simplex, solved exactly
    (:func:`simplex_weights` on ``V^(1/2) X``).  ``V`` minimises the outcome loss
    ``mean_t (Z1t - Z0t W(V))^2`` (Abadie, Diamond & Hainmueller 2010, section 2.3; R ``Synth``'s
    ``fn.V``).  ``W(V)`` is piecewise smooth and often constant over whole regions of ``V``, so the
    search is derivative-free: Nelder-Mead on ``log V`` (which reaches weights several orders of
    magnitude apart), restarted from its end point until it stops improving, from the start of
    R ``Synth`` (the squared coefficients of a regression of the pre-period outcomes on the
    predictors, ``diag(B B')``), from equal weights and from ``restarts`` random points; the best
    loss wins, the earlier start on ties.  ``V`` itself is often not identified (many ``V`` give the
    same ``W``); read it as a tuning parameter, not as the importance of a predictor.

    References
    ----------
    Abadie, A., Diamond, A. & Hainmueller, J. (2010). Synthetic control methods for comparative case
    studies. *JASA* 105(490), 493-505.
    Abadie, A., Diamond, A. & Hainmueller, J. (2011). Synth: an R package for synthetic control
    methods in comparative case studies. *Journal of Statistical Software* 42(13).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x0, z0 = rng.normal(size=(3, 6)), rng.normal(size=(8, 6)).cumsum(axis=0)
    >>> w_true = np.array([0.6, 0.4, 0, 0, 0, 0])
    >>> fit = nested_weights(x0 @ w_true, x0, z0 @ w_true, z0, restarts=2, rng=rng)
    >>> np.round(fit.w, 4).tolist(), fit.loss_v < 1e-12
    ([0.6, 0.4, 0.0, 0.0, 0.0, 0.0], True)
    """
    x1, x0 = np.asarray(x1, dtype=float), np.asarray(x0, dtype=float)
    z1, z0 = np.asarray(z1, dtype=float), np.asarray(z0, dtype=float)
    k = len(x1)
    names = list(names) if names is not None else [f"predictor {i + 1}" for i in range(k)]
    x1s, x0s = _scaled(x1, x0, names)
    weights = _metric_weights(x1s, x0s)

    def finish(vv: np.ndarray, start: str, n_starts: int) -> NestedWeights:
        w = weights(vv)
        gap = x1s - x0s @ w
        return NestedWeights(v=vv, w=w, loss_v=float(np.mean((z1 - z0 @ w) ** 2)),
                             loss_w=float(gap @ (vv * gap)), start=start, n_starts=n_starts)

    if v is not None:
        vv = np.asarray(v, dtype=float)
        if vv.shape != (k,) or (vv < 0).any() or not vv.sum() > 0:
            raise ParameterError(f"predictor_weights must be {k} non-negative numbers, not all zero (one per "
                                 f"predictor {names}); got {list(v)}.")
        return finish(vv / vv.sum(), "given", 0)
    if k == 1:
        return finish(np.ones(1), "equal", 1)
    if restarts < 0:
        raise ParameterError(f"restarts={restarts!r} must be 0 or a positive number of random starts.")
    if restarts and rng is None:
        raise ParameterError("The random restarts of the predictor-weight search need a seeded generator: pass "
                             "rng=np.random.default_rng(seed) (or an int seed), or restarts=0.")

    def loss(theta: np.ndarray) -> float:
        return float(np.mean((z1 - z0 @ weights(_softmax(theta))) ** 2))

    starts: list[tuple[str, np.ndarray]] = []
    reg = _regression_start(x1s, x0s, z1, z0)
    if reg is not None:
        starts.append(("regression", reg))
    starts.append(("equal", np.full(k, 1.0 / k)))
    starts += [(f"random {i + 1}", rng.dirichlet(np.ones(k))) for i in range(restarts)]
    best: tuple[float, np.ndarray, str] | None = None
    for label, v0 in starts:
        vv, value = _descend(loss, v0)
        if best is None or value < best[0] - 1e-12 * (1.0 + abs(best[0])):
            best = (value, vv, label)
    if best is None or not math.isfinite(best[0]):
        raise ConvergenceError("The predictor-weight search found no finite loss. Likely causes: 1. missing "
                               "outcomes in the optimisation periods; 2. predictors on extreme scales.")
    return finish(best[1], best[2], len(starts))


def _period_text(p: Any) -> str:
    if isinstance(p, np.datetime64):
        p = pd.Timestamp(p)
    if isinstance(p, pd.Timestamp) and p == p.normalize():
        return f"{p:%Y-%m-%d}"
    return str(p)


def predictor_matrix(data: pd.DataFrame, *, predictors: Sequence[Predictor], unit: str, times: pd.Series,
                     units: Sequence[Any], periods: np.ndarray, pre: np.ndarray,
                     default_periods: np.ndarray, read_period: Callable[[Any, str], Any],
                     what: str) -> tuple[list[str], np.ndarray]:
    """Predictor values per unit: each predictor's mean over its periods.

    Parameters
    ----------
    data : pandas.DataFrame
        Tidy panel.
    predictors : sequence
        Column names (mean over ``default_periods``) or ``(column, periods)`` pairs.
    unit : str
        Unit column.
    times : pandas.Series
        The panel's time values in time order (text periods already parsed), aligned with ``data``.
    units : sequence
        Units wanted, in the order of the output columns.
    periods, pre : ndarray
        The panel's sorted periods and which of them are before the program.
    default_periods : ndarray
        Periods of the plain-column predictors.
    read_period : callable
        ``read_period(value, name)`` turns a period given by the caller into the terms of ``times``.
    what : str
        Caller, for messages.

    Returns
    -------
    (names, values) : list of str, ndarray of shape (k, len(units))
        Names: the column for plain predictors, ``"column (periods)"`` for pairs.  Missing values in
        a window are skipped (as R ``Synth``'s ``mean(..., na.rm = TRUE)``).

    Raises
    ------
    ParameterError
        An unknown column, a period not in the panel or not before the program, a duplicated predictor.
    DataContractError
        A non-numeric predictor, or a unit without any value in a predictor's window.
    """
    names, rows = [], []
    pre_index = pd.Index(periods[pre])
    for spec in predictors:
        if isinstance(spec, str):
            column, window, name = spec, default_periods, spec
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
            column = spec[0]
            given = [spec[1]] if isinstance(spec[1], (str, int, float, np.integer, pd.Timestamp)) else list(spec[1])
            window = np.array([read_period(p, f"predictor {column!r} period") for p in given])
            shown = [_period_text(p) for p in given]
            name = f"{column} ({shown[0]})" if len(shown) == 1 else f"{column} ({shown[0]}-{shown[-1]})"
            if len(window) == 0:
                raise ParameterError(f"{what}: predictor {spec!r} has no periods.")
        else:
            raise ParameterError(f"{what}: predictor {spec!r} must be a column name or a (column, periods) pair, "
                                 "e.g. ('cigsale', [1975]).")
        if column not in data.columns:
            raise ParameterError(f"{what}: predictor column {column!r} is not in the data; columns are "
                                 f"{list(data.columns)}.")
        outside = [_period_text(p) for p in window if p not in pre_index]
        if outside:
            raise ParameterError(f"{what}: predictor {name!r} uses period(s) {outside[:5]} that are not pre-program "
                                 "periods of the panel; predictors may only use periods before treatment_start.")
        if name in names:
            raise ParameterError(f"{what}: predictor {name!r} is given twice.")
        values = pd.to_numeric(data[column], errors="coerce")
        bad = values.isna() & data[column].notna()
        if bad.any():
            raise DataContractError(f"{what}: predictor column {column!r} has {int(bad.sum())} non-numeric value(s).",
                                    column=column, rule="numeric predictor", rows=data.loc[bad].head(5))
        means = values[times.isin(window).to_numpy()].groupby(data[unit]).mean().reindex(list(units))
        empty = means.index[means.isna()].tolist()
        if empty:
            raise DataContractError(f"{what}: predictor {name!r} has no value for unit(s) {empty[:5]} in its "
                                    "periods; choose periods where every unit is observed.", column=column,
                                    rule="predictor observed")
        names.append(name)
        rows.append(means.to_numpy(dtype=float))
    if not rows:
        raise ParameterError(f"{what}: predictors= is empty; give at least one, or None for outcome matching.")
    return names, np.vstack(rows)
