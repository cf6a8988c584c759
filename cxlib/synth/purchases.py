"""Purchases: BG/NBD transactions, Gamma-Gamma spend, program and shock, returns and stock-outs.

The baseline process of each customer is exactly BG/NBD (Fader, Hardie &
Lee 2005): the first purchase at ``birth`` (inside the signup day), repeat
purchases from a Poisson process with rate ``lambda``, and after every
repeat purchase a dropout with probability ``p``.  Two things change it
after the first rollout only:

* **program**: customers of a treated home store get an *independent* extra
  Poisson process with rate ``(effect - 1) * lambda`` from the rollout while
  alive (dropout is driven by the baseline process only), so the expected
  number of purchases is exactly ``effect`` times the baseline;
* **common shock**: from the shock date every repeat or extra purchase is
  kept with probability ``shock_purchase_keep`` (thinned purchases still count
  for dropout: the customer tried, the store lost the sale).

So before the first rollout date the data are pure BG/NBD.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from .calendar import World, daytime
from .config import PanelParams, PurchaseParams
from .customers import Customers

SEGMENTS = ("occasional", "regular", "high_value")
FIRST, REPEAT, EXTRA = 0, 1, 2


def bgnbd_expected_repeat(t, *, r: float, alpha: float, a: float, b: float):
    """Expected number of repeat purchases in ``(0, t]`` under BG/NBD.

    Parameters
    ----------
    t : float or array_like
        Time since the first purchase, in the unit of ``alpha`` (weeks here).
    r, alpha, a, b : float
        BG/NBD parameters: ``lambda ~ Gamma(r, rate=alpha)``, ``p ~ Beta(a, b)``.

    Returns
    -------
    float or ndarray
        ``E[X(t)]``.

    Notes
    -----
    Fader, Hardie & Lee (2005), eq. (9):

    .. math:: E[X(t)] = \\frac{a+b-1}{a-1}\\left[1 - \\left(\\frac{\\alpha}{\\alpha+t}\\right)^r
              {}_2F_1\\left(r, b; a+b-1; \\frac{t}{\\alpha+t}\\right)\\right]

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers"
    the easy way: an alternative to the Pareto/NBD model. Marketing Science 24(2).

    Examples
    --------
    >>> round(float(bgnbd_expected_repeat(52.0, r=0.8, alpha=8.0, a=0.6, b=2.5)), 4)
    3.0983
    >>> abs(bgnbd_expected_repeat(0.0, r=0.8, alpha=8.0, a=0.6, b=2.5)) < 1e-12
    True
    """
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    out = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
    return out if out.ndim else float(out)


def gamma_gamma_mean(*, p: float, q: float, gamma: float) -> float:
    """Population mean spend per transaction under Gamma-Gamma: ``p * gamma / (q - 1)``.

    >>> gamma_gamma_mean(p=6.0, q=4.0, gamma=30.0)
    60.0
    """
    return p * gamma / (q - 1)


def segment_thresholds(params: PurchaseParams) -> tuple[float, float]:
    """Medians of ``lambda`` (per week) and ``nu`` that split customers into the three segments."""
    return (float(stats.gamma.ppf(0.5, params.r, scale=1 / params.alpha)),
            float(stats.gamma.ppf(0.5, params.gg_q, scale=1 / params.gg_gamma)))


@dataclass(frozen=True)
class Purchases:
    """Transactions of one chunk (sorted by customer, then time) and the customers' latent traits."""

    cust: np.ndarray  # local customer index
    t: np.ndarray  # continuous time, days since window start
    kind: np.ndarray  # FIRST, REPEAT or EXTRA
    unit: np.ndarray
    amount: np.ndarray
    items: np.ndarray
    returned: np.ndarray
    stockout: np.ndarray
    lam: np.ndarray  # per customer, per week
    p: np.ndarray
    nu: np.ndarray
    dropout: np.ndarray  # time of dropout (days), n_days if alive at the end
    alive_at_end: np.ndarray
    segment: np.ndarray
    group: np.ndarray  # latent behavioural group (GroupParams.names order): 2 * heavy + premium

    def store_time(self, open_hour: float, close_hour: float) -> np.ndarray:
        """Purchase times mapped into opening hours (monotone within each day; the day is kept)."""
        return daytime(self.t, open_hour, close_hour)


def draw_purchases(cust: Customers, *, world: World, params: PurchaseParams, panel: PanelParams,
                   rng: np.random.Generator) -> Purchases:
    """Simulate every customer's purchases, vectorized over the chunk."""
    n = len(cust)
    lam = rng.gamma(params.r, 1 / params.alpha, n)  # per week
    p = rng.beta(params.a, params.b, n)
    nu = rng.gamma(params.gg_q, 1 / params.gg_gamma, n)
    lam_day = lam / 7.0
    horizon = world.n_days - cust.birth

    # baseline: K Poisson points in (birth, end), dropout after the N-th; keep the first X = min(K, N)
    k = rng.poisson(lam_day * horizon)
    n_drop = rng.geometric(p)
    x = np.minimum(k, n_drop)
    owner = np.repeat(np.arange(n), x)
    e = rng.exponential(1.0, owner.size)
    csum = np.cumsum(e)
    starts = np.concatenate([[0], np.cumsum(x)[:-1]])
    within = csum - np.repeat(np.concatenate([[0.0], csum])[starts], x)  # cumulative sums restarted per customer
    total_x = np.zeros(n)
    np.add.at(total_x, owner, e)
    denom = total_x + rng.gamma(np.maximum(k + 1 - x, 1).astype(float))  # order statistics of K uniforms
    t_rep = cust.birth[owner] + horizon[owner] * within / denom[owner]
    dropped = n_drop <= k
    dropout = np.full(n, float(world.n_days))
    last = np.cumsum(x) - 1
    dropout[dropped] = t_rep[last[dropped]]

    # program: independent extra process at rate (effect - 1) * lambda while alive, after the rollout
    rollout = world.rollout_day[cust.home_unit]
    lo = np.maximum(rollout, cust.birth)
    treated_home = np.isfinite(rollout)
    span = np.zeros(n)
    span[treated_home] = np.maximum(dropout[treated_home] - lo[treated_home], 0.0)
    m = rng.poisson((params.program_frequency_effect - 1.0) * lam_day * span)
    owner_x = np.repeat(np.arange(n), m)
    t_extra = lo[owner_x] + rng.random(owner_x.size) * span[owner_x]

    c_all = np.concatenate([np.arange(n), owner, owner_x])
    t_all = np.concatenate([cust.birth, t_rep, t_extra])
    kind = np.concatenate([np.full(n, FIRST), np.full(owner.size, REPEAT), np.full(owner_x.size, EXTRA)])
    keep = ~((kind != FIRST) & world.post_shock(t_all) & (rng.random(t_all.size) >= panel.shock_purchase_keep))
    c_all, t_all, kind = c_all[keep], t_all[keep], kind[keep]
    order = np.lexsort((t_all, c_all))
    c_all, t_all, kind = c_all[order], t_all[order], kind[order]

    size = c_all.size
    home = cust.home_unit[c_all]
    unit = np.where(rng.random(size) < params.home_store_share, home, rng.integers(0, world.n_units, size))
    amount = np.round(rng.gamma(params.gg_p, 1.0, size) / nu[c_all], 2)
    items = 1 + rng.poisson(np.maximum(amount - params.items_offset, 0) / params.items_eur_per_item)
    month = world.month_index(t_all)
    moy = world.month_of_year[month]
    shock = world.post_shock(t_all)
    treated = world.treated_post(unit, t_all)
    p_ret = (world.return_base[unit] * np.asarray(panel.season_returns)[moy]
             * np.where(shock, panel.shock_returns, 1.0) * np.where(treated, panel.effect_returns, 1.0))
    s_oos = (world.oos_base[unit] * np.asarray(panel.season_out_of_stock)[moy]
             * np.where(shock, panel.shock_out_of_stock, 1.0) * np.where(treated, panel.effect_out_of_stock, 1.0))
    returned = rng.binomial(items, p_ret)
    stockout = rng.poisson(items * s_oos / (1 - s_oos))

    lam_med, nu_med = segment_thresholds(params)
    segment = np.where(lam < lam_med, 0, np.where(nu >= nu_med, 1, 2))
    return Purchases(cust=c_all, t=t_all, kind=kind, unit=unit, amount=amount, items=items,
                     returned=returned, stockout=stockout, lam=lam, p=p, nu=nu, dropout=dropout,
                     alive_at_end=~dropped, segment=segment, group=latent_group(lam, nu, params))


def latent_group(lam: np.ndarray, nu: np.ndarray, params: PurchaseParams) -> np.ndarray:
    """Latent behavioural group ``2 * (lambda >= median) + (nu < median)`` (see ``GroupParams``).

    A function of the independent draws, so the BG/NBD and Gamma-Gamma distributions are untouched and
    each group holds a quarter of the customers in expectation.

    >>> latent_group(np.array([0.01, 0.01, 0.5, 0.5]), np.array([1.0, 0.01, 1.0, 0.01]), PurchaseParams()).tolist()
    [0, 1, 2, 3]
    """
    lam_med, nu_med = segment_thresholds(params)
    return 2 * (np.asarray(lam) >= lam_med).astype(np.int64) + (np.asarray(nu) < nu_med).astype(np.int64)
