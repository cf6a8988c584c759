"""A small panel simulator with a known program effect, for examples and validation tests.

The simulated world has what fools a naive before/after comparison:
seasonality, a market-wide shock that starts with the program, a common
trend, and stores of different size.  The truth it returns is what every
proper design should recover.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..errors import ParameterError

__all__ = ["simulate_panel"]


def simulate_panel(*, n_units: int = 40, n_periods: int = 24, effect: float = -0.3,
                   cohorts: Sequence[int] | None = None, treated_share: float = 0.5, base: float = 50.0,
                   unit_sd: float = 8.0, noise_sd: float = 2.0, season_amplitude: float = 4.0,
                   season_period: int = 12, shock: float = 3.0, trend: float = 0.1, treated_trend: float = 0.0,
                   rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """Simulate a unit x period panel with a planted relative program effect.

    Parameters
    ----------
    n_units, n_periods : int
        Panel size.
    effect : float
        Relative effect of the program on the treated (-0.3 = -30 % of the
        counterfactual mean of each treated unit-period).
    cohorts : sequence of int, optional
        Period indices at which the treated units start (treated units are split
        evenly between them); default: one start at ``n_periods // 2``.
    treated_share : float
        Share of units ever treated (the rest never are).
    base, unit_sd, noise_sd : float
        Mean level, between-unit standard deviation of levels, idiosyncratic noise.
    season_amplitude, season_period : float, int
        Sine seasonality common to all units.
    shock : float
        Market-wide level shift from the first program start on (hits control
        units too: it is what the naive comparison mistakes for an effect).
    trend : float
        Common linear trend per period.
    treated_trend : float
        Extra trend per period of the treated units only (0 = parallel trends
        hold; non-zero breaks them, for testing the pre-trend check).
    rng : numpy.random.Generator
        Source of all randomness.

    Returns
    -------
    panel : pandas.DataFrame
        Columns ``unit`` (str), ``period`` (int), ``y``, ``first_treated``
        (float period index, NaN if never treated), ``treated`` (0/1: treated in that
        period), ``y0`` (the noise-free counterfactual mean).
    truth : dict
        ``att`` (mean absolute effect over treated unit-periods), ``relative``
        (= ``effect``), ``att_by_event_time`` (dict event time -> mean effect).

    Examples
    --------
    >>> panel, truth = simulate_panel(n_units=4, n_periods=6, rng=np.random.default_rng(0))
    >>> panel.shape, truth["relative"]
    ((24, 6), -0.3)
    """
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng must be a numpy.random.Generator (for example np.random.default_rng(seed)); "
                             f"got {type(rng).__name__}.")
    cohorts = [n_periods // 2] if cohorts is None else sorted(int(c) for c in cohorts)
    if not cohorts or cohorts[0] < 1 or cohorts[-1] >= n_periods:
        raise ParameterError(f"cohorts={cohorts} must be period indices in 1..{n_periods - 1}.")
    n_treated = int(round(treated_share * n_units))
    if not 1 <= n_treated <= n_units:
        raise ParameterError(f"treated_share={treated_share} gives {n_treated} treated units of {n_units}.")
    t = np.arange(n_periods)
    levels = base + unit_sd * rng.standard_normal(n_units)
    first = np.full(n_units, np.nan)
    treated_units = rng.permutation(n_units)[:n_treated]
    first[treated_units] = np.array(cohorts)[np.arange(n_treated) % len(cohorts)]
    common = (season_amplitude * np.sin(2 * np.pi * t / season_period) + trend * t
              + shock * (t >= cohorts[0]))
    ever = np.isfinite(first)
    y0 = levels[:, None] + common[None, :] + treated_trend * ever[:, None] * (t[None, :] - cohorts[0])
    d = ever[:, None] & (t[None, :] >= np.where(ever, first, np.inf)[:, None])
    tau = effect * y0 * d
    y = y0 + tau + noise_sd * rng.standard_normal((n_units, n_periods))
    width = len(str(n_units - 1))
    panel = pd.DataFrame({
        "unit": np.repeat([f"u{i:0{width}d}" for i in range(n_units)], n_periods),
        "period": np.tile(t, n_units), "y": y.ravel(), "first_treated": np.repeat(first, n_periods),
        "treated": d.ravel().astype(int), "y0": y0.ravel()})
    event = (t[None, :] - first[:, None])[d]
    by_e = pd.Series(tau[d]).groupby(event).mean()
    truth = {"att": float(tau[d].mean()), "relative": float(effect),
             "att_by_event_time": {int(k): float(v) for k, v in by_e.items()}}
    return panel, truth
