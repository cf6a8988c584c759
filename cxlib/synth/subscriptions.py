"""Memberships and their cancellation: a Weibull proportional-hazards model.

A share of customers starts a membership shortly after signup.  Time to
cancellation ``T`` (days since ``start_date``) has survival

.. math:: S(t \\mid x) = \\exp\\left(-(t/\\text{scale})^{\\text{shape}} e^{x^\\top\\beta}\\right)

with covariates measured *at the start* (no immortal-time bias):

* ``detractor``: an onboarding survey response on the start date with NPS <= 6;
* ``unresolved_ticket``: a ticket of the customer opened before the start date
  and not resolved by it (``resolved_at`` empty or on/after the start date);
* ``plan_plus``, ``plan_premium``: plan indicators (basic is the reference).

``end_date = start_date + floor(T)`` days when that is on or before the
observation end, otherwise empty (right-censored); so a subscription with
follow-up ``F = (end - start_date).days + 1`` days is observed to end with
probability ``1 - S(F | x)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import World
from .config import SubscriptionParams
from .customers import Customers
from .tickets import Tickets

COVARIATES = ("detractor", "unresolved_ticket", "plan_plus", "plan_premium")


def log_hazard_ratios(params: SubscriptionParams) -> np.ndarray:
    """``beta`` in ``COVARIATES`` order."""
    return np.log([params.hr_detractor, params.hr_unresolved_ticket, params.hr_plus, params.hr_premium])


def weibull_ph_survival(t, x, *, shape: float, scale: float, beta) -> np.ndarray:
    """Survival ``S(t | x) = exp(-(t/scale)^shape * exp(x @ beta))``.

    Parameters
    ----------
    t : array_like, shape (n,)
        Time since start, days.
    x : array_like, shape (n, k)
        Covariates in ``COVARIATES`` order.
    shape, scale : float
        Weibull baseline (scale in days).
    beta : array_like, shape (k,)
        Log-hazard ratios.

    Examples
    --------
    >>> s = weibull_ph_survival([0.0, 608.75], [[0, 0, 0, 0], [0, 0, 0, 0]], shape=1.3, scale=608.75,
    ...                         beta=[0.5, 0.4, -0.2, -0.5])
    >>> [round(float(v), 4) for v in s]
    [1.0, 0.3679]
    """
    t = np.asarray(t, dtype=float)
    eta = np.asarray(x, dtype=float) @ np.asarray(beta, dtype=float)
    return np.exp(-((t / scale) ** shape) * np.exp(eta))


@dataclass(frozen=True)
class Subscriptions:
    """Subscriptions of one chunk (local customer index, plan index, start/end day; end -1 = censored)."""

    cust: np.ndarray
    plan: np.ndarray
    start: np.ndarray
    end: np.ndarray
    covariates: np.ndarray  # (n, 4) in COVARIATES order
    p_observed_end: np.ndarray  # 1 - S(F | x): probability the end is observed


def choose_subscribers(cust: Customers, *, world: World, params: SubscriptionParams,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who subscribes, to which plan, from which day: ``(local index, plan, start_day)``.

    The start is ``1 + Poisson(start_delay_mean_days)`` days after signup;
    subscriptions that would start after the window are not created.
    """
    n = len(cust)
    start = cust.signup_day + 1 + rng.poisson(params.start_delay_mean_days, n)
    sub = (rng.random(n) < params.share) & (start < world.n_days)
    probs = np.asarray(params.plan_probs)[cust.tier]
    cum = np.cumsum(probs, axis=1)
    plan = (rng.random(n)[:, None] * cum[:, -1:] >= cum).sum(axis=1).clip(max=len(params.monthly_fee) - 1)
    idx = np.flatnonzero(sub)
    return idx, plan[idx], start[idx]


def ticket_covariate(tickets: Tickets, sub_cust: np.ndarray, start: np.ndarray, n_customers: int) -> np.ndarray:
    """1 where the subscriber has a ticket opened before the start date and unresolved at it."""
    start_of = np.full(n_customers, -np.inf)
    start_of[sub_cust] = start
    s = start_of[tickets.cust]
    resolved = np.where(np.isnan(tickets.resolved), np.inf, tickets.resolved)
    hit = (tickets.opened < s) & (resolved >= s)
    return (np.bincount(tickets.cust[hit], minlength=n_customers) > 0)[sub_cust].astype(int)


def draw_churn(sub_cust: np.ndarray, plan: np.ndarray, start: np.ndarray, detractor: np.ndarray,
               ticket: np.ndarray, *, world: World, params: SubscriptionParams,
               rng: np.random.Generator) -> Subscriptions:
    """Draw cancellation times by inversion: ``T = scale * (E * exp(-x'beta))^(1/shape)``, ``E ~ Exp(1)``."""
    x = np.column_stack([detractor, ticket, plan == 1, plan == 2]).astype(float)
    beta = log_hazard_ratios(params)
    e = rng.exponential(1.0, sub_cust.size)
    t = params.weibull_scale_days * (e * np.exp(-(x @ beta))) ** (1.0 / params.weibull_shape)
    follow_up = world.n_days - start
    end = np.where(t < follow_up, start + np.floor(t).astype(int), -1)
    p_end = 1.0 - weibull_ph_survival(follow_up, x, shape=params.weibull_shape,
                                      scale=params.weibull_scale_days, beta=beta)
    return Subscriptions(cust=sub_cust, plan=plan, start=start, end=end, covariates=x.astype(int),
                         p_observed_end=p_end)
