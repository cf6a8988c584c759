"""The world's clock and stores: window, months, rollout and shock dates, store base rates.

Time inside the generator is a float number of days since the window start
(``t = 0`` is ``start`` at 00:00 UTC); the observation ends at
``t = n_days``, i.e. at midnight after ``end`` (``end`` is the last observed day).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import ParameterError
from .config import REGIONS, SynthConfig

US_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class World:
    """Calendar and stores shared by every chunk of customers.

    Attributes
    ----------
    start, end : numpy.datetime64 (day)
        First and last observed day.
    n_days : int
        Window length in days; observation end is ``t = n_days``.
    month_start : ndarray of float, shape (n_months + 1,)
        Day of each month start in the window; the last entry is ``n_days``.
    month_of_year : ndarray of int, shape (n_months,)
        0 = January.
    month_label : tuple of str
        ``"YYYY-MM"`` of each month.
    quarter_index : ndarray of int, shape (n_months,)
        Quarters since the first month's quarter.
    month_coverage : ndarray of float, shape (n_months,)
        Share of each calendar month inside the window (1 except for partial
        first or last months); monthly rates are scaled by it.
    unit_region : ndarray of int, shape (n_units,)
        Index into ``REGIONS``.
    rollout_day : ndarray of float, shape (n_units,)
        Day the program starts in each store; ``inf`` if never treated.
    wave : ndarray of int, shape (n_units,)
        Rollout wave (1..), 0 if never treated.
    shock_day : float
        First day of the common shock.
    return_base, oos_base, complaint_base : ndarray of float, shape (n_units,)
        Store base rates (return probability per item, out-of-stock rate,
        complaints per 1000 customers per month).
    """

    start: np.datetime64
    end: np.datetime64
    n_days: int
    month_start: np.ndarray
    month_of_year: np.ndarray
    month_label: tuple[str, ...]
    quarter_index: np.ndarray
    month_coverage: np.ndarray
    unit_ids: tuple[str, ...]
    unit_names: tuple[str, ...]
    unit_region: np.ndarray
    unit_size: np.ndarray
    rollout_day: np.ndarray
    wave: np.ndarray
    shock_day: float
    return_base: np.ndarray
    oos_base: np.ndarray
    complaint_base: np.ndarray

    @property
    def n_units(self) -> int:
        return len(self.unit_ids)

    @property
    def n_months(self) -> int:
        return len(self.month_of_year)

    @property
    def first_rollout_day(self) -> float:
        return float(self.rollout_day[np.isfinite(self.rollout_day)].min())

    def day_to_date(self, day: float) -> str:
        """ISO date of window day ``day`` (floored)."""
        return str(self.start + np.timedelta64(int(np.floor(day)), "D"))

    def month_index(self, t: np.ndarray) -> np.ndarray:
        """Month of the window (0..n_months-1) containing each time ``t`` (days)."""
        return np.clip(np.searchsorted(self.month_start, t, side="right") - 1, 0, self.n_months - 1)

    def treated_post(self, unit: np.ndarray, t: np.ndarray) -> np.ndarray:
        """True where store ``unit`` runs the program at time ``t`` (unit < 0 means none)."""
        unit = np.asarray(unit)
        ok = unit >= 0
        out = np.zeros(np.shape(unit), dtype=bool)
        out[ok] = np.asarray(t)[ok] >= self.rollout_day[unit[ok]]
        return out

    def post_shock(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(t) >= self.shock_day

    def to_us(self, t: np.ndarray) -> np.ndarray:
        """Microseconds since the Unix epoch of window times ``t`` (days)."""
        base = self.start.astype("datetime64[us]").astype(np.int64)
        return base + np.round(np.asarray(t, dtype=float) * US_PER_DAY).astype(np.int64)

    def to_epoch_days(self, day: np.ndarray) -> np.ndarray:
        """Days since the Unix epoch (Arrow date32) of window days (floored)."""
        return self.start.astype(np.int64) + np.floor(np.asarray(day, dtype=float)).astype(np.int64)


def daytime(t: np.ndarray, start_hour: float, end_hour: float) -> np.ndarray:
    """Map times into ``[start_hour, end_hour)`` of their own day, monotonically (the day never changes).

    >>> float(daytime(np.array([3.5]), 9.0, 21.0)[0] * 24 % 24)
    15.0
    """
    t = np.asarray(t, dtype=float)
    day = np.floor(t)
    return day + (start_hour + (t - day) * (end_hour - start_hour)) / 24.0


def _month_add(day: np.datetime64, months: int) -> np.datetime64:
    m = day.astype("datetime64[M]") + np.timedelta64(months, "M")
    return m.astype("datetime64[D]")


def build_world(*, start: str, end: str, n_units: int, config: SynthConfig,
                rng: np.random.Generator) -> World:
    """Lay out the calendar, the stores, the rollout waves and the store base rates.

    Rollout and shock dates are the first days of the months at the configured
    offsets from the start month.  Waves get an equal share of the treated
    stores (extra stores to the earliest waves); the assignment is a random
    permutation, independent of everything else.
    """
    try:
        s, e = np.datetime64(pd.Timestamp(start).date(), "D"), np.datetime64(pd.Timestamp(end).date(), "D")
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"start={start!r} / end={end!r} must be ISO dates like '2024-01-01'.") from exc
    n_days = int((e - s).astype(int)) + 1
    panel = config.panel
    offsets = (*panel.rollout_month_offsets, panel.shock_month_offset)
    last = _month_add(s, max(offsets))
    if last > e:
        raise ParameterError(
            f"The window {s}..{e} is too short: the rollout waves and the shock need month offsets "
            f"{offsets} from the start month, i.e. the window must reach at least {last}. "
            "Use a later end date or smaller offsets in SynthConfig.panel.")
    if n_units < 2 + len(panel.rollout_month_offsets):
        raise ParameterError(f"n_units={n_units} is too small: need at least one store per rollout wave "
                             f"({len(panel.rollout_month_offsets)}) and one never-treated store.")
    if n_units > 999:
        raise ParameterError(f"n_units={n_units} is too large (at most 999 stores).")

    first = s.astype("datetime64[M]")
    months = np.arange(first, e.astype("datetime64[M]") + np.timedelta64(1, "M"))
    ms = np.maximum((months.astype("datetime64[D]") - s).astype(int), 0).astype(float)
    month_start = np.append(ms, float(n_days))
    month_of_year = (months.astype(int) % 12).astype(int)
    full = ((months + np.timedelta64(1, "M")).astype("datetime64[D]") - months.astype("datetime64[D]")).astype(float)
    month_coverage = np.diff(month_start) / full
    quarter_index = (months.astype(int) // 3 - first.astype(int) // 3).astype(int)

    width = max(2, len(str(n_units)))
    unit_ids = tuple(f"S{i + 1:0{width}d}" for i in range(n_units))
    unit_region = np.arange(n_units) % len(REGIONS)
    unit_names = tuple(f"{REGIONS[r]} {_STREETS[i % len(_STREETS)]}" + (f" {i // len(_STREETS) + 1}"
                       if i >= len(_STREETS) else "") for i, r in enumerate(unit_region))
    unit_size = np.round(rng.uniform(600, 2000, n_units), -1)

    n_never = max(1, int(round(panel.never_treated_share * n_units)))
    n_treated = n_units - n_never
    n_waves = len(panel.rollout_month_offsets)
    per_wave = np.full(n_waves, n_treated // n_waves)
    per_wave[: n_treated % n_waves] += 1
    wave_of_rank = np.concatenate([np.repeat(np.arange(1, n_waves + 1), per_wave), np.zeros(n_never, int)])
    wave = np.empty(n_units, dtype=int)
    wave[rng.permutation(n_units)] = wave_of_rank
    rollout_day = np.full(n_units, np.inf)
    for w, off in enumerate(panel.rollout_month_offsets, start=1):
        rollout_day[wave == w] = float((_month_add(s, off) - s).astype(int))
    shock_day = float((_month_add(s, panel.shock_month_offset) - s).astype(int))

    return World(
        start=s, end=e, n_days=n_days, month_start=month_start, month_of_year=month_of_year,
        month_label=tuple(str(m) for m in months), quarter_index=quarter_index,
        month_coverage=month_coverage,
        unit_ids=unit_ids, unit_names=unit_names, unit_region=unit_region, unit_size=unit_size,
        rollout_day=rollout_day, wave=wave, shock_day=shock_day,
        return_base=rng.uniform(*panel.return_base, n_units),
        oos_base=rng.uniform(*panel.out_of_stock_base, n_units),
        complaint_base=rng.uniform(*panel.complaints_per_1000_base, n_units),
    )


_STREETS = ("High Street", "Market Square", "Station Road", "Riverside", "Old Town", "Mall Centre",
            "Park Lane", "Harbour", "Cathedral Walk", "King's Road", "Victoria Arcade", "Mill Yard")
