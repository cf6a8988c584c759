"""Survival tables from subscriptions: durations, censoring and the immortal-time guard."""
from __future__ import annotations

import pandas as pd

from ..errors import DataContractError, ParameterError

UNIT_DAYS = {"day": 1.0, "week": 7.0}


def survival_table(subscriptions: pd.DataFrame, *, observation_end, time_unit: str = "day",
                   start_col: str = "start_date", end_col: str = "end_date") -> pd.DataFrame:
    """One row per subscription: ``duration`` (in ``time_unit``), ``event`` (1 = cancelled) and the input columns.

    Subscriptions starting after ``observation_end`` are dropped; an end date
    missing or after ``observation_end`` is right-censored at
    ``observation_end`` (event 0).  ``attrs`` records the unit and the end.

    Examples
    --------
    >>> subs = pd.DataFrame({"start_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-03-01"]),
    ...                      "end_date": pd.to_datetime(["2024-01-31", None, "2024-02-01"])})
    >>> survival_table(subs.iloc[:2], observation_end="2024-03-01")[["duration", "event"]]
       duration  event
    0      30.0      1
    1      60.0      0
    """
    if time_unit not in UNIT_DAYS:
        raise ParameterError(f"time_unit={time_unit!r} is not allowed; choose one of {list(UNIT_DAYS)}.")
    for c in (start_col, end_col):
        if c not in subscriptions.columns:
            raise DataContractError(f"subscriptions lack column {c!r}; found {list(subscriptions.columns)}.",
                                    table="subscriptions", column=c, rule="required")
    end = pd.Timestamp(observation_end)
    start = pd.to_datetime(subscriptions[start_col])
    stop = pd.to_datetime(subscriptions[end_col])
    bad = stop.notna() & (stop < start)
    if bad.any():
        raise DataContractError(f"{int(bad.sum())} subscription(s) end before they start.", table="subscriptions",
                                column=end_col, rule=f"{start_col} <= {end_col}",
                                rows=subscriptions[bad].head())
    keep = start <= end
    out = subscriptions[keep].copy()
    start, stop = start[keep], stop[keep]
    event = stop.notna() & (stop <= end)
    last = stop.where(event, end)
    out["duration"] = (last - start).dt.total_seconds().to_numpy() / 86400.0 / UNIT_DAYS[time_unit]
    out["event"] = event.astype("int64").to_numpy()
    out.attrs.update(time_unit=time_unit, observation_end=str(end.date()))
    return out


def landmark(table: pd.DataFrame, *, at: float, duration_col: str = "duration") -> pd.DataFrame:
    """Landmark analysis: keep subjects still at risk at ``at`` and measure time from there.

    The guard against immortal-time bias: covariates measured during the
    first ``at`` time units (a survey answered, a ticket opened) may only be
    used for subjects who survived to ``at``, with follow-up restarting at
    ``at`` (Anderson, Cain & Gelber 1983).

    >>> t = pd.DataFrame({"duration": [5.0, 40.0, 90.0], "event": [1, 1, 0]})
    >>> landmark(t, at=30)["duration"].tolist()
    [10.0, 60.0]
    """
    if not at >= 0:
        raise ParameterError(f"at={at!r} must be >= 0.")
    out = table[table[duration_col] > at].copy()
    out[duration_col] = out[duration_col] - at
    out.attrs.update(table.attrs, landmark=float(at), dropped_before_landmark=int(len(table) - len(out)))
    return out


def covariates_as_of(table: pd.DataFrame, measurements: pd.DataFrame, *, key: str, measured_at_col: str,
                     value_cols: list[str], start_col: str = "start_date", landmark_days: float = 0.0,
                     how: str = "last") -> pd.DataFrame:
    """Attach covariates known at ``start + landmark_days`` only (the last measurement by then).

    Measurements taken later are ignored, so a covariate can never be
    informed by the subject having survived (immortal-time bias).  Use the
    same ``landmark_days`` with :func:`landmark` so follow-up starts when the
    covariate is known.  Subjects without a measurement get NaN.
    """
    if how != "last":
        raise ParameterError(f"how={how!r} is not allowed; choose one of ['last'].")
    m = measurements[[key, measured_at_col] + value_cols].copy()
    m[measured_at_col] = pd.to_datetime(m[measured_at_col])
    base = table[[key, start_col]].reset_index()
    merged = base.merge(m, on=key, how="left")
    cutoff = pd.to_datetime(merged[start_col]) + pd.to_timedelta(landmark_days, unit="D")
    merged = merged[merged[measured_at_col].notna() & (merged[measured_at_col] <= cutoff)]
    last = merged.sort_values(measured_at_col).groupby("index")[value_cols].last()
    out = table.copy()
    for c in value_cols:
        out[c] = last[c].reindex(out.index)
    out.attrs.update(table.attrs, covariates_as_of_days=float(landmark_days))
    return out

