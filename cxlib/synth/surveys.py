"""Survey responses from a latent-normal model, with their exact expected scores.

For a response with covariates giving ``mu`` (see ``SurveyParams``) the latent
satisfaction is ``L ~ N(mu, 1)`` (a customer effect plus own noise), and

* ``nps = #{j : L >= c_j}`` with thresholds ``c_1..c_10``;
* ``csat = 1 + #{j : L + e_c >= d_j}``, ``e_c ~ N(0, s_c^2)``;
* ``ces = 1 + #{j : -L + e_e >= w_j}``, ``e_e ~ N(0, s_e^2)`` (higher = harder).

So, exactly and conditional on ``mu``,

.. math::

    E[\\text{NPS}] = 100\\,[1 - \\Phi(c_9 - \\mu) - \\Phi(c_7 - \\mu)],\\quad
    P(\\text{csat} \\ge 4) = 1 - \\Phi\\left(\\frac{d_3 - \\mu}{\\sqrt{1 + s_c^2}}\\right),\\quad
    E[\\text{ces}] = 1 + \\sum_{j=1}^{6} \\Phi\\left(\\frac{-w_j - \\mu}{\\sqrt{1 + s_e^2}}\\right).

These per-respondent expectations, averaged over a group's respondents (those
with the score present; scores are missing at random), are the planted
"truth" of every survey contrast.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from ..periods import Period
from .calendar import World
from .config import SURVEY_TOUCHPOINTS, SurveyParams

PURCHASE, STORE_VISIT, DELIVERY, SUPPORT, APP, ONBOARDING = range(6)


def thresholds(params: SurveyParams) -> dict[str, np.ndarray]:
    """Cut points of NPS (on ``L``), CSAT (on ``L + e_c``) and CES (on ``-L + e_e``).

    They are the quantiles of the score distributions at ``mu = 0`` (``*_pmf``).

    >>> th = thresholds(SurveyParams())
    >>> [len(th[k]) for k in ("nps", "csat", "ces")]
    [10, 4, 6]
    """
    def cuts(pmf, sd):
        return sd * ndtri(np.cumsum(np.asarray(pmf, dtype=float) / sum(pmf))[:-1])
    return {"nps": cuts(params.nps_pmf, 1.0),
            "csat": cuts(params.csat_pmf, np.hypot(1.0, params.csat_noise)),
            "ces": cuts(params.ces_pmf, np.hypot(1.0, params.ces_noise))}


def expected_scores(mu, params: SurveyParams) -> dict[str, np.ndarray]:
    """Exact ``E[NPS]`` (x100 scale, per respondent), ``P(csat >= 4)`` and ``E[ces]`` given ``mu``.

    >>> {k: round(float(v[0]), 3) for k, v in expected_scores(np.array([0.0]), SurveyParams()).items()}
    {'nps': 25.0, 'csat_top2': 0.7, 'ces_mean': 2.93}
    """
    mu = np.asarray(mu, dtype=float)
    th = thresholds(params)
    nps = 100.0 * (1.0 - ndtr(th["nps"][8] - mu) - ndtr(th["nps"][6] - mu))
    top2 = 1.0 - ndtr((th["csat"][2] - mu) / np.hypot(1.0, params.csat_noise))
    ces = 1.0 + ndtr((-th["ces"][:, None] - mu[None, :]) / np.hypot(1.0, params.ces_noise)).sum(axis=0)
    return {"nps": nps, "csat_top2": top2, "ces_mean": ces}


@dataclass(frozen=True)
class Invitations:
    """Answered survey invitations before scoring: customer, touchpoint, time (days), store (-1 none)."""

    cust: np.ndarray
    touchpoint: np.ndarray
    t: np.ndarray
    unit: np.ndarray

    @staticmethod
    def concat(parts: list[Invitations]) -> Invitations:
        return Invitations(*[np.concatenate([getattr(p, f) for p in parts]) for f in Invitations.__dataclass_fields__])


def invitations(*, tx_cust, tx_t, tx_unit, tk_cust, tk_opened, tk_resolved, tk_unit, app_cust, app_t,
                world: World, params: SurveyParams, rng: np.random.Generator) -> Invitations:
    """Answered surveys after transactions, tickets and app journeys (onboarding is separate)."""
    u = rng.random(tx_cust.size)
    r1, r2 = params.purchase_rate, params.purchase_rate + params.store_visit_rate
    tp = np.where(u < r1, PURCHASE, np.where(u < r2, STORE_VISIT, DELIVERY))
    sel = u < r2 + params.delivery_rate
    tx = Invitations(tx_cust[sel], tp[sel], tx_t[sel], np.where(tp[sel] == DELIVERY, -1, tx_unit[sel]))
    s = rng.random(tk_cust.size) < params.support_rate
    base = np.where(np.isnan(tk_resolved), tk_opened + 2.0, tk_resolved)[s]
    tk = Invitations(tk_cust[s], np.full(int(s.sum()), SUPPORT), base, tk_unit[s])
    app = Invitations(app_cust, np.full(app_cust.size, APP), app_t, np.full(app_cust.size, -1))
    inv = Invitations.concat([tx, tk, app])
    delay = rng.exponential(1.0, inv.cust.size) * np.asarray(params.delay_mean_hours)[inv.touchpoint] / 24.0
    t = inv.t + delay
    keep = t < world.n_days
    return Invitations(inv.cust[keep], inv.touchpoint[keep], t[keep], inv.unit[keep])


@dataclass(frozen=True)
class Responses:
    """Scored responses (sorted by customer and time); scores -1 = missing."""

    cust: np.ndarray
    touchpoint: np.ndarray
    t: np.ndarray
    unit: np.ndarray
    nps: np.ndarray
    csat: np.ndarray
    ces: np.ndarray
    mu: np.ndarray
    treated_post: np.ndarray
    quarter: np.ndarray  # quarter index of the window


def score(inv: Invitations, *, tier, region, home_unit, customer_effect, world: World, params: SurveyParams,
          rng: np.random.Generator, group_shift: np.ndarray | None = None) -> Responses:
    """Draw the scores of every invitation (``tier`` etc. are per local customer).

    ``group_shift`` (per customer, default 0) is the latent behavioural group's shift of ``mu``
    (``GroupParams.cx_shift``); it is part of ``mu``, so the exact expectations stay exact.
    """
    order = np.lexsort((inv.t, inv.cust))
    c, tp, t, unit = inv.cust[order], inv.touchpoint[order], inv.t[order], inv.unit[order]
    month = world.month_index(t)
    treated = world.treated_post(np.where(unit >= 0, unit, home_unit[c]), t)
    mu = (np.asarray(params.tier_effect)[tier[c]] + np.asarray(params.touchpoint_effect)[tp]
          + np.asarray(params.region_effect)[region[c]] + params.quarter_trend * world.quarter_index[month]
          + np.asarray(params.month_effect, dtype=float)[world.month_of_year[month]]
          + np.where(world.post_shock(t), params.shock_effect, 0.0) + np.where(treated, params.program_lift, 0.0))
    if group_shift is not None:
        mu = mu + np.asarray(group_shift, dtype=float)[c]
    n = c.size
    latent = mu + customer_effect[c] + rng.normal(0.0, np.sqrt(1.0 - params.customer_share), n)
    th = thresholds(params)
    nps = np.searchsorted(th["nps"], latent, side="right")
    csat = 1 + np.searchsorted(th["csat"], latent + rng.normal(0.0, params.csat_noise, n), side="right")
    ces = 1 + np.searchsorted(th["ces"], -latent + rng.normal(0.0, params.ces_noise, n), side="right")
    miss = rng.random((3, n)) < np.asarray(params.missing)[:, None]
    miss[0] &= ~(miss[1] & miss[2])
    miss[0] &= tp != ONBOARDING  # onboarding always carries NPS (the churn covariate)
    return Responses(cust=c, touchpoint=tp, t=t, unit=unit, nps=np.where(miss[0], -1, nps),
                     csat=np.where(miss[1], -1, csat), ces=np.where(miss[2], -1, ces), mu=mu,
                     treated_post=treated, quarter=world.quarter_index[month])


def onboarding(sub_cust: np.ndarray, start: np.ndarray, home_unit: np.ndarray, *, params_rate: float,
               rng: np.random.Generator) -> Invitations:
    """Onboarding responses on the subscription start date (during the day, in the home store)."""
    answer = rng.random(sub_cust.size) < params_rate
    c = sub_cust[answer]
    t = start[answer] + rng.uniform(8 / 24, 22 / 24, c.size)
    return Invitations(c, np.full(c.size, ONBOARDING), t, home_unit[c])


def quarter_labels(world: World) -> list[str]:
    """``"YYYYQn"`` of every quarter index of the window."""
    first = Period.parse(np.datetime64(world.month_label[0], "M"), kind="quarter")
    return [str(first.shift(i)) for i in range(int(world.quarter_index.max()) + 1)]


__all__ = ["SURVEY_TOUCHPOINTS", "thresholds", "expected_scores", "invitations", "score", "onboarding",
           "quarter_labels", "Invitations", "Responses"]
