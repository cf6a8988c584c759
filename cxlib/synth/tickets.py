"""Support tickets: store-month Poisson volumes, channel mix and lognormal service times.

Complaints about store ``u`` in month ``m`` are Poisson with mean

    n_um / 1000 * base_u * season[month] * shock * effect^(treated & post) * coverage_m

where ``n_um`` counts the customers of home store ``u`` who signed up before
the first day of ``m``.  Each chunk of customers draws its own Poisson counts
from its own ``n_um``; sums of independent Poissons are Poisson, so the
store-month totals follow exactly the formula above for any chunking.
Inquiries and requests follow the same scheme with flat rates.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import World, daytime
from .config import TICKET_CATEGORIES, TICKET_CHANNELS, PanelParams, TicketParams
from .customers import Customers

MIN_PER_DAY = 1440.0
COMPLAINT, INQUIRY, REQUEST = 0, 1, 2
BILLING = TICKET_CATEGORIES.index("billing")
PHONE, CHAT, CHATBOT = TICKET_CHANNELS.index("phone"), TICKET_CHANNELS.index("chat"), TICKET_CHANNELS.index("chatbot")


@dataclass(frozen=True)
class Tickets:
    """Tickets of one chunk; times in days since the window start, NaN = null; unit -1 = none."""

    cust: np.ndarray
    unit: np.ndarray
    channel: np.ndarray
    ttype: np.ndarray
    category: np.ndarray
    opened: np.ndarray
    first_response: np.ndarray
    resolved: np.ndarray
    hold: np.ndarray
    handle: np.ndarray
    planted: np.ndarray

    def __len__(self) -> int:
        return len(self.cust)

    @staticmethod
    def concat(parts: list[Tickets]) -> Tickets:
        merged = Tickets(*[np.concatenate([getattr(p, f) for p in parts]) for f in Tickets.__dataclass_fields__])
        order = np.lexsort((merged.opened, merged.cust))
        return Tickets(*[getattr(merged, f)[order] for f in Tickets.__dataclass_fields__])


def eligible_counts(cust: Customers, world: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customers per home store signed up before each month start.

    Returns ``(counts, order, unit_offset)``: ``counts[u, m]``; ``order`` sorts
    the chunk's customers by (home store, first eligible month) so that the
    eligible customers of ``(u, m)`` are ``order[unit_offset[u]:unit_offset[u] + counts[u, m]]``.
    """
    n_m = world.n_months
    m0 = np.searchsorted(world.month_start[:-1], cust.signup_day, side="right")  # first month after signup
    flat = np.bincount(cust.home_unit * (n_m + 1) + m0, minlength=world.n_units * (n_m + 1))
    counts = np.cumsum(flat.reshape(world.n_units, n_m + 1), axis=1)[:, :n_m]
    order = np.lexsort((m0, cust.home_unit))
    unit_offset = np.concatenate([[0], np.cumsum(np.bincount(cust.home_unit, minlength=world.n_units))[:-1]])
    return counts, order, unit_offset


def monthly_means(counts: np.ndarray, world: World, tickets: TicketParams, panel: PanelParams) -> np.ndarray:
    """Expected tickets per (type, store, month), shape (3, n_units, n_months)."""
    ms = world.month_start[:-1]
    season = np.asarray(panel.season_complaints)[world.month_of_year]
    shock = np.where(ms >= world.shock_day, panel.shock_complaints, 1.0)
    treated = ms[None, :] >= world.rollout_day[:, None]
    complaint = (counts / 1000.0 * world.complaint_base[:, None] * (season * shock * world.month_coverage)[None, :]
                 * np.where(treated, panel.effect_complaints, 1.0))
    flat = counts / 1000.0 * world.month_coverage[None, :]
    return np.stack([complaint, flat * tickets.inquiries_per_1000, flat * tickets.requests_per_1000])


def draw_tickets(cust: Customers, *, world: World, params: TicketParams, panel: PanelParams,
                 rng: np.random.Generator) -> Tickets:
    """Draw the chunk's complaints, inquiries and requests."""
    counts, order, unit_offset = eligible_counts(cust, world)
    k = rng.poisson(monthly_means(counts, world, params, panel))
    ttype, unit, month = np.nonzero(k)
    reps = k[ttype, unit, month]
    ttype, unit, month = np.repeat(ttype, reps), np.repeat(unit, reps), np.repeat(month, reps)
    pos = unit_offset[unit] + (rng.random(ttype.size) * counts[unit, month]).astype(int)
    c = order[pos]
    lo, hi = world.month_start[month], world.month_start[month + 1]
    opened = daytime(lo + rng.random(ttype.size) * (hi - lo), *params.open_hours)
    named = (ttype == COMPLAINT) | (rng.random(ttype.size) < params.store_named)
    unit_out = np.where(named, unit, -1)
    category = _categorical(rng, np.asarray(params.category_probs)[ttype])
    return _service(rng, cust=c, unit=unit_out, home=unit, ttype=ttype, category=category, opened=opened,
                    unresolved=rng.random(ttype.size) < params.unresolved_share, world=world, params=params,
                    planted=np.zeros(ttype.size, bool))


def planted_tickets(cust_local: np.ndarray, signup_day: np.ndarray, start_day: np.ndarray, home: np.ndarray, *,
                    world: World, params: TicketParams, rng: np.random.Generator) -> Tickets:
    """One billing request per given subscriber, opened between signup and subscription start.

    It is still open at the start: resolved (if ever; the usual unresolved
    share applies) ``Exponential(mean = planted_resolution_mean_days)`` days
    after the start date.
    """
    n = cust_local.size
    opened = daytime(signup_day + rng.random(n) * (start_day - signup_day), *params.open_hours)
    after = rng.exponential(params.planted_resolution_mean_days, n)
    return _service(rng, cust=cust_local, unit=np.full(n, -1), home=home, ttype=np.full(n, REQUEST),
                    category=np.full(n, BILLING), opened=opened,
                    unresolved=rng.random(n) < params.unresolved_share, world=world, params=params,
                    planted=np.ones(n, bool), resolution_min=(start_day + after - opened) * MIN_PER_DAY)


def _service(rng: np.random.Generator, *, cust, unit, home, ttype, category, opened, unresolved, world: World,
             params: TicketParams, planted, resolution_min: np.ndarray | None = None) -> Tickets:
    n = cust.size
    base = np.asarray(params.channel_shares, dtype=float)
    boosted = base.copy()
    boosted[CHATBOT] *= params.program_chatbot_weight
    treated = world.treated_post(np.where(unit >= 0, unit, home), opened)
    probs = np.where(treated[:, None], boosted / boosted.sum(), base / base.sum())
    channel = _categorical(rng, probs)
    frt = rng.lognormal(np.log(np.asarray(params.first_response_median_min)[channel]),
                        np.asarray(params.first_response_sigma)[channel])
    res_med = (np.asarray(params.resolution_median_min)[channel]
               * np.asarray(params.category_resolution_factor)[category])
    res = rng.lognormal(np.log(res_med), np.asarray(params.resolution_sigma)[channel])
    if resolution_min is not None:
        res = resolution_min
    first = opened + np.where(unresolved, frt, np.minimum(frt, res)) / MIN_PER_DAY
    resolved = np.where(unresolved, np.nan, opened + res / MIN_PER_DAY)
    first = np.where(first < world.n_days, first, np.nan)
    resolved = np.where(resolved < world.n_days, resolved, np.nan)
    live = np.isin(channel, (PHONE, CHAT))
    j = np.where(channel == PHONE, 0, 1)
    hold = np.where(live, rng.lognormal(np.log(np.asarray(params.hold_median_min)[j]), params.hold_sigma), np.nan)
    handle = np.where(live, rng.lognormal(np.log(np.asarray(params.handle_median_min)[j]), params.handle_sigma),
                      np.nan)
    return Tickets(cust=cust, unit=unit, channel=channel, ttype=ttype, category=category, opened=opened,
                   first_response=first, resolved=resolved, hold=np.round(hold, 2), handle=np.round(handle, 2),
                   planted=planted)


def _categorical(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row of ``probs`` (rows need not be normalised)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return (u[:, None] >= cum).sum(axis=1).clip(max=probs.shape[1] - 1)
