"""Customer journeys from a known first-order Markov chain, and its exact attribution truth.

States are the contract's ``TOUCHPOINTS`` plus ``"abandon"``.  ``purchase``
(conversion) and ``abandon`` are absorbing; a converting journey ends with a
'purchase' event, an abandoned one simply stops (no event).  The removal
effect of touchpoint ``k`` redirects every transition into ``k`` (including
starting in ``k``) to abandonment:

.. math:: RE_k = 1 - P(\\text{conversion} \\mid k \\text{ removed}) / P(\\text{conversion})

and is computed exactly from the absorbing chain: with ``Q`` the
transient-to-transient block and ``r`` the transient-to-purchase column,
the conversion probabilities from each transient state solve
``(I - Q) b = r`` (Kemeny & Snell 1960; Anderl et al. 2016 for the removal effect).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError
from .calendar import World, daytime
from .config import CHANNELS, TOUCHPOINTS, JourneyParams
from .customers import Customers

STATES = (*TOUCHPOINTS, "abandon")
PURCHASE = TOUCHPOINTS.index("purchase")
ABANDON = len(TOUCHPOINTS)
STORE = CHANNELS.index("store")
APP = CHANNELS.index("app")


def chain(params: JourneyParams) -> tuple[np.ndarray, np.ndarray]:
    """Transition matrix over ``STATES`` (rows sum to 1) and start distribution.

    >>> P, s = chain(JourneyParams())
    >>> P.shape, bool(np.allclose(P.sum(axis=1), 1.0)), float(s.sum())
    ((14, 14), True, 1.0)
    """
    n = len(STATES)
    P = np.zeros((n, n))
    for a, b, p in params.transitions:
        for name in (a, b):
            if name not in TOUCHPOINTS:
                raise ParameterError(f"Journey transition {a!r} -> {b!r}: {name!r} is not one of {TOUCHPOINTS}.")
        if a == "purchase":
            raise ParameterError("'purchase' is absorbing: it cannot have outgoing transitions.")
        if p < 0:
            raise ParameterError(f"Journey transition {a!r} -> {b!r} has a negative probability {p}.")
        P[TOUCHPOINTS.index(a), TOUCHPOINTS.index(b)] += p
    leftover = 1.0 - P.sum(axis=1)
    if (leftover < -1e-12).any():
        bad = [STATES[i] for i in np.flatnonzero(leftover < -1e-12)]
        raise ParameterError(f"Journey transition probabilities out of {bad} sum to more than 1.")
    P[:, ABANDON] += np.clip(leftover, 0, None)
    P[PURCHASE] = 0.0
    P[PURCHASE, PURCHASE] = 1.0
    P[ABANDON] = 0.0
    P[ABANDON, ABANDON] = 1.0
    s = np.zeros(n)
    for name, p in params.start:
        if name not in TOUCHPOINTS or name == "purchase":
            raise ParameterError(f"Journey start state {name!r} must be a touchpoint other than 'purchase'.")
        s[TOUCHPOINTS.index(name)] += p
    if not np.isclose(s.sum(), 1.0):
        raise ParameterError(f"Journey start probabilities sum to {s.sum()}, not 1.")
    if params.fail_touchpoint not in TOUCHPOINTS:
        raise ParameterError(f"fail_touchpoint={params.fail_touchpoint!r} is not one of {TOUCHPOINTS}.")
    return P, s


def conversion_probability(P: np.ndarray, start: np.ndarray, removed: int | None = None) -> float:
    """Exact probability that a journey ends in 'purchase', optionally with touchpoint ``removed``.

    >>> P, s = chain(JourneyParams())
    >>> round(conversion_probability(P, s), 4)
    0.1865
    """
    transient = [i for i in range(len(STATES)) if i not in (PURCHASE, ABANDON)]
    Q = P[np.ix_(transient, transient)].copy()
    r = P[transient, PURCHASE].copy()
    s = start[transient].copy()
    if removed is not None:
        k = transient.index(removed)
        Q[:, k] = 0.0
        s[k] = 0.0
    b = np.linalg.solve(np.eye(len(transient)) - Q, r)
    return float(s @ b)


def removal_effects(P: np.ndarray, start: np.ndarray) -> dict[str, float]:
    """Exact removal effect of every non-absorbing touchpoint (see the module docstring)."""
    base = conversion_probability(P, start)
    return {STATES[k]: 1.0 - conversion_probability(P, start, removed=k) / base
            for k in range(len(TOUCHPOINTS)) if k != PURCHASE}


def simulate_chain(P: np.ndarray, start: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Simulate ``n`` journeys, stepping all live journeys at once.

    Returns ``(journey, step, state, converted)``: one row per event (the
    final 'purchase' included, abandonment excluded), sorted by journey and
    step, and a boolean per journey.
    """
    cum_start = np.cumsum(start)
    cum = np.cumsum(P, axis=1)
    state = np.minimum(np.searchsorted(cum_start, rng.random(n) * cum_start[-1], side="right"), len(start) - 1)
    live = np.arange(n)
    rows_j, rows_s, rows_k = [live], [np.zeros(n, int)], [state]
    converted = np.zeros(n, bool)
    step = 0
    while live.size:
        step += 1
        c = cum[state]
        nxt = np.minimum((rng.random(live.size)[:, None] * c[:, -1:] >= c).sum(axis=1), len(STATES) - 1)
        event = nxt != ABANDON
        rows_j.append(live[event])
        rows_s.append(np.full(int(event.sum()), step))
        rows_k.append(nxt[event])
        converted[live[nxt == PURCHASE]] = True
        go = event & (nxt != PURCHASE)
        live, state = live[go], nxt[go]
    j, s, k = np.concatenate(rows_j), np.concatenate(rows_s), np.concatenate(rows_k)
    order = np.lexsort((s, j))
    return j[order], s[order], k[order], converted


@dataclass(frozen=True)
class Journeys:
    """Events of one chunk, sorted by customer, journey start and step."""

    cust: np.ndarray  # per event
    journey: np.ndarray  # per event: local journey number (0..n_journeys-1, in output order)
    t: np.ndarray
    touchpoint: np.ndarray
    channel: np.ndarray
    unit: np.ndarray  # -1 = none
    n_journeys: int
    converted: int
    truncated: int  # journeys that lost events after the observation end
    app_journey_cust: np.ndarray  # per journey with an app event: customer and time of its last event
    app_journey_t: np.ndarray


def draw_journeys(cust: Customers, *, world: World, params: JourneyParams, rng: np.random.Generator,
                  engagement: np.ndarray | None = None) -> Journeys:
    """Poisson journeys per customer at uniform times after signup, walked through the chain.

    ``engagement`` (per customer, default 1) multiplies ``journeys_per_year``: the latent behavioural
    group's engagement level (``GroupParams.engagement``).  Journeys themselves follow the same chain.
    """
    P, start = chain(params)
    exposure = np.maximum(world.n_days - 1 - cust.birth, 0.0)
    rate = params.journeys_per_year * (1.0 if engagement is None else np.asarray(engagement, dtype=float))
    count = rng.poisson(rate / 365.25 * exposure)
    jc = np.repeat(np.arange(len(cust)), count)
    t0 = daytime(cust.birth[jc] + rng.random(jc.size) * exposure[jc], *params.active_hours)
    order = np.lexsort((t0, jc))
    jc, t0 = jc[order], t0[order]
    j, _, k, converted = simulate_chain(P, start, jc.size, rng)
    gap = rng.exponential(1.0, j.size) * np.asarray(params.gap_mean_min)[k] / 1440.0
    first = np.r_[True, j[1:] != j[:-1]]
    gap[first] = 0.0
    csum = np.cumsum(gap)
    t = t0[j] + csum - np.maximum.accumulate(np.where(first, csum, 0.0))
    probs = np.asarray(params.channel_probs, dtype=float)[k]
    cum = np.cumsum(probs, axis=1)
    channel = np.minimum((rng.random(j.size)[:, None] * cum[:, -1:] >= cum).sum(axis=1), len(CHANNELS) - 1)
    c = jc[j]
    unit = np.where(channel == STORE, cust.home_unit[c], -1)
    inside = t < world.n_days
    truncated = int(np.unique(j[~inside]).size)
    has_app = np.zeros(jc.size, bool)
    has_app[j[inside & (channel == APP)]] = True
    last_t = np.full(jc.size, -np.inf)
    np.maximum.at(last_t, j[inside], t[inside])
    # app surveys per customer-year do not depend on engagement (the share is divided by it), so engaged
    # customers do not dominate the app touchpoint's respondents
    share = params.app_survey_share / (1.0 if engagement is None else np.asarray(engagement, dtype=float)[jc])
    pick = has_app & (rng.random(jc.size) < np.minimum(share, 1.0))
    return Journeys(cust=c[inside], journey=j[inside], t=t[inside], touchpoint=k[inside], channel=channel[inside],
                    unit=unit[inside], n_journeys=int(jc.size), converted=int(converted.sum()),
                    truncated=truncated, app_journey_cust=jc[pick], app_journey_t=last_t[pick])
