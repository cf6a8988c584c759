"""One period type: a calendar year, quarter, month or day, its bounds and its neighbours.

Every module and notebook that reads a period (``"2025Q4"``, ``"2025-11"``, ``"2025"``) reads it here.

**The end convention.** A period is the half-open interval ``[start, end)``: ``start`` is its first
instant (midnight of its first day) and ``end`` the first instant of the *next* period, so an event
exactly at ``end`` belongs to the next period and consecutive periods tile time without gaps or
overlaps.  Where a caller needs the last day itself (an inclusive "data up to and including this
day" parameter such as ``observation_end``), :attr:`Period.last_day` is midnight of that day,
``end - 1 day``.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = ["Period", "Kind", "KINDS", "FORMATS", "parse_period", "is_period_label", "period_bounds",
           "recent_periods", "in_period", "period_labels"]

Kind = Literal["year", "quarter", "month", "day"]
#: The kinds of period, longest first.
KINDS: tuple[str, ...] = ("year", "quarter", "month", "day")
#: The accepted text formats, as quoted in error messages.
FORMATS = "'2025Q4' (quarter), '2025-11' (month), '2025' (year) or '2025-11-03' (day)"

_MONTHS = {"year": 12, "quarter": 3, "month": 1}
_PATTERNS = (("quarter", re.compile(r"^(\d{4})Q([1-4])$")), ("month", re.compile(r"^(\d{4})-(\d{2})$")),
             ("year", re.compile(r"^(\d{4})$")), ("day", re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")))
#: pandas frequency aliases (and the kinds themselves) -> kind.
_ALIASES = {"Y": "year", "A": "year", "YE": "year", "Y-DEC": "year", "A-DEC": "year", "Q": "quarter",
            "Q-DEC": "quarter", "QE": "quarter", "M": "month", "ME": "month", "D": "day",
            **{k: k for k in KINDS}}
_EXAMPLE = {"year": "'2025'", "quarter": "'2025Q4'", "month": "'2025-11'", "day": "'2025-11-03'"}


def _kind(freq: Any, name: str = "kind") -> str:
    text = str(freq)
    kind = _ALIASES.get(text) or _ALIASES.get(text.upper())
    if kind is None:
        raise ParameterError(f"{name}={freq!r} is not a kind of period; expected one of {list(KINDS)} "
                             "(or the pandas aliases 'Y', 'Q', 'M', 'D').")
    return kind


@dataclass(frozen=True)
class Period:
    """A calendar period ``[start, end)``: a year, quarter, month or day.

    Build one with :meth:`parse` (or :func:`parse_period`); ``str(period)`` gives its label back.

    Attributes
    ----------
    kind : {"year", "quarter", "month", "day"}
        Its length.
    start : pandas.Timestamp
        Its first instant, midnight of its first day (inclusive).

    Examples
    --------
    >>> q = Period.parse("2025Q4")
    >>> q.start, q.end
    (Timestamp('2025-10-01 00:00:00'), Timestamp('2026-01-01 00:00:00'))
    >>> q.last_day
    Timestamp('2025-12-31 00:00:00')
    >>> str(q.previous()), str(q.previous(4)), str(Period.parse("2026Q1").previous())
    ('2025Q3', '2024Q4', '2025Q4')
    >>> [str(p) for p in Period.parse("2025-01").recent(3)]
    ['2024-11', '2024-12', '2025-01']
    """

    kind: Kind
    start: pd.Timestamp

    def __post_init__(self) -> None:
        kind = _kind(self.kind)
        start = pd.Timestamp(self.start)
        months = _MONTHS.get(kind)
        aligned = start == start.normalize() and (months is None or (start.day == 1 and (start.month - 1) % months == 0))
        if not aligned:
            raise ParameterError(f"start={start} is not the first instant of a {kind}.")
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "start", start)

    @classmethod
    def parse(cls, value: Any, *, kind: str | None = None) -> Period:
        """Read a period from a label, a :class:`Period`, a ``pandas.Period`` or (with ``kind``) a timestamp.

        Parameters
        ----------
        value : str, Period, pandas.Period, or date-like
            ``"2025Q4"`` (quarter), ``"2025-11"`` (month), ``"2025"`` (year) or ``"2025-11-03"``
            (day); a ``pandas.Period`` of one of those frequencies; or a timestamp, read as the
            period of ``kind`` that contains it.
        kind : {"year", "quarter", "month", "day"}, optional
            The kind required (a label of another kind is an error) or, for a timestamp, the kind
            of the period containing it.  Pandas aliases (``"Q"``, ``"M"``...) are accepted.

        Raises
        ------
        ParameterError
            Naming the bad value and the accepted formats.

        Examples
        --------
        >>> Period.parse("2025-11")
        Period(kind='month', start=Timestamp('2025-11-01 00:00:00'))
        >>> str(Period.parse(pd.Timestamp("2025-11-03 14:00"), kind="quarter"))
        '2025Q4'
        >>> str(Period.parse(pd.Period("2025", freq="Y")))
        '2025'
        >>> Period.parse("2025-11", kind="quarter")
        Traceback (most recent call last):
        ...
        cxlib.errors.ParameterError: period='2025-11' is a month; expected a quarter such as '2025Q4'.
        """
        want = None if kind is None else _kind(kind)
        if isinstance(value, (pd.Timestamp, datetime, date, np.datetime64)):
            return cls._containing(value, want)
        try:
            got = cls._read(value)
        except ParameterError:
            if want is None:
                raise
            raise ParameterError(f"period={value!r} is not a {want}; expected a {want} such as "
                                 f"{_EXAMPLE[want]}.") from None
        if want is not None and got.kind != want:
            raise ParameterError(f"period={value!r} is a {got.kind}; expected a {want} such as {_EXAMPLE[want]}.")
        return got

    @classmethod
    def _containing(cls, value: Any, kind: str | None) -> Period:
        if kind is None:
            raise ParameterError(f"period={value!r} is a point in time, not a period; pass kind= "
                                 f"(one of {list(KINDS)}) to take the period containing it.")
        ts = pd.Timestamp(value)
        if pd.isna(ts):
            raise ParameterError(f"period={value!r} is not a date.")
        months = _MONTHS.get(kind)
        return cls(kind, pd.Timestamp(ts.year, ts.month, ts.day) if months is None
                   else pd.Timestamp(ts.year, (ts.month - 1) // months * months + 1, 1))

    @classmethod
    def _read(cls, value: Any) -> Period:
        if isinstance(value, Period):
            return value
        if isinstance(value, pd.Period):
            if _ALIASES.get(value.freqstr.upper()) is None:  # weeks, fiscal quarters, hours...
                raise ParameterError(f"period={value!r} has a frequency this type does not read; "
                                     f"expected a year, quarter, month or day ({FORMATS}).")
            return cls._from_text(str(value))
        if not isinstance(value, str):
            raise ParameterError(f"period={value!r} is not a period; expected {FORMATS}.")
        return cls._from_text(value)

    @classmethod
    def _from_text(cls, text: str) -> Period:
        for name, pattern in _PATTERNS:
            m = pattern.match(text.strip())
            if m is None:
                continue
            year, *rest = (int(g) for g in m.groups())
            if name == "quarter":
                rest = [3 * rest[0] - 2]
            month, day = (rest + [1, 1])[:2]
            try:
                return cls(name, pd.Timestamp(year, month, day))
            except ValueError:
                break  # month 13, 30 February...
        raise ParameterError(f"period={text!r} is not a period; expected {FORMATS}.")

    @property
    def end(self) -> pd.Timestamp:
        """First instant of the next period (exclusive end)."""
        months = _MONTHS.get(self.kind)
        return self.start + (pd.DateOffset(months=months) if months else pd.Timedelta(days=1))

    @property
    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(start, end)``, start inclusive and end exclusive."""
        return self.start, self.end

    @property
    def last_day(self) -> pd.Timestamp:
        """Midnight of the period's last day (``end - 1 day``), for inclusive "up to this day" parameters."""
        return self.end - pd.Timedelta(days=1)

    def shift(self, n: int) -> Period:
        """The period ``n`` periods later (earlier when ``n < 0``)."""
        months = _MONTHS.get(self.kind)
        step = pd.DateOffset(months=months * int(n)) if months else pd.Timedelta(days=int(n))
        return Period(self.kind, self.start + step)

    def previous(self, n: int = 1) -> Period:
        """The period ``n`` periods earlier (``n = 1``: the one just before)."""
        return self.shift(-int(n))

    def recent(self, count: int) -> tuple[Period, ...]:
        """The ``count`` periods ending with this one, oldest first."""
        if int(count) < 1:
            raise ParameterError(f"count={count!r} must be a positive number of periods.")
        return tuple(self.previous(k) for k in range(int(count) - 1, -1, -1))

    def contains(self, when: Any) -> bool:
        """Whether the instant ``when`` falls in ``[start, end)``."""
        ts = pd.Timestamp(when)
        return bool(self.start <= ts < self.end)

    def to_pandas(self) -> pd.Period:
        """The equivalent ``pandas.Period``."""
        return pd.Period(str(self), freq={"year": "Y", "quarter": "Q", "month": "M", "day": "D"}[self.kind])

    def __str__(self) -> str:
        s = self.start
        if self.kind == "year":
            return f"{s.year:04d}"
        if self.kind == "quarter":
            return f"{s.year:04d}Q{(s.month - 1) // 3 + 1}"
        return f"{s.year:04d}-{s.month:02d}" + (f"-{s.day:02d}" if self.kind == "day" else "")


def parse_period(value: Any, *, kind: str | None = None) -> Period:
    """Shorthand for :meth:`Period.parse`.

    >>> parse_period("2025Q4").bounds
    (Timestamp('2025-10-01 00:00:00'), Timestamp('2026-01-01 00:00:00'))
    """
    return Period.parse(value, kind=kind)


def is_period_label(text: Any, *, kind: str | None = None) -> bool:
    """Whether ``text`` is the label of a period (of ``kind``, if given), written as :class:`Period` writes it.

    >>> is_period_label("2025Q3"), is_period_label("2025-11"), is_period_label("rest"), is_period_label("2025q3")
    (True, True, False, False)
    """
    if not isinstance(text, str):
        return False
    try:
        return str(Period.parse(text, kind=kind)) == text
    except ParameterError:
        return False


def period_bounds(period: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Start (inclusive) and end (exclusive) of a period.

    Parameters
    ----------
    period : str, Period, pandas.Period or (start, end)
        Anything :meth:`Period.parse` reads, or a pair of timestamps (start inclusive, end exclusive).

    Raises
    ------
    ParameterError
        A value that is not a period, or a pair with ``start >= end``.

    Examples
    --------
    >>> period_bounds("2025Q4")
    (Timestamp('2025-10-01 00:00:00'), Timestamp('2026-01-01 00:00:00'))
    >>> period_bounds(("2025-01-01", "2025-02-01"))
    (Timestamp('2025-01-01 00:00:00'), Timestamp('2025-02-01 00:00:00'))
    """
    if isinstance(period, tuple) and len(period) == 2:
        start, end = pd.Timestamp(period[0]), pd.Timestamp(period[1])
        if not start < end:
            raise ParameterError(f"period {period!r} must have start < end; found {start} and {end}.")
        return start, end
    if isinstance(period, (pd.Timestamp, datetime, date, np.datetime64)):
        raise ParameterError(f"period={period!r} is a point in time; expected {FORMATS} or a (start, end) pair.")
    return Period.parse(period).bounds


def recent_periods(period: Any, *, count: int = 6, freq: str | None = None) -> list[str]:
    """The labels of the ``count`` periods ending with ``period``, oldest first.

    Parameters
    ----------
    period : str or Period
        The last period, e.g. ``"2025Q4"``.
    count : int
        How many periods (default 6: a year and a half of quarters, the scorecard's trend).
    freq : str, optional
        The kind ``period`` must be (``"Q"``, ``"quarter"``...); None: whatever it is.

    Examples
    --------
    >>> recent_periods("2025Q4", count=3)
    ['2025Q2', '2025Q3', '2025Q4']
    >>> recent_periods("2026-01", count=2)
    ['2025-12', '2026-01']
    """
    return [str(p) for p in Period.parse(period, kind=freq).recent(count)]


def in_period(frame: pd.DataFrame, col: str, period: Any) -> pd.DataFrame:
    """The rows of ``frame`` whose ``col`` falls in ``period`` (start inclusive, end exclusive).

    ``period`` is anything :func:`period_bounds` reads.  A row exactly at the end belongs to the next period.

    >>> df = pd.DataFrame({"t": pd.to_datetime(["2025-09-30", "2025-10-01", "2026-01-01"])})
    >>> len(in_period(df, "t", "2025Q4"))
    1
    """
    start, end = period_bounds(period)
    t = frame[col]
    if not pd.api.types.is_datetime64_any_dtype(t):  # to_datetime on datetimes still samples values to cache
        t = pd.to_datetime(t)
    return frame[(t >= start) & (t < end)]


def period_labels(times: pd.Series | Sequence[Any], freq: str = "Q") -> pd.Series:
    """Label each timestamp with its period (``"2025Q4"`` for ``freq="Q"``), for ``by=``.

    ``freq`` is a kind or a pandas alias; labels are written as :class:`Period` writes them.

    Examples
    --------
    >>> period_labels(pd.Series(pd.to_datetime(["2025-11-03", "2025-07-01"]))).tolist()
    ['2025Q4', '2025Q3']
    >>> period_labels(pd.Series(pd.to_datetime(["2025-11-03"])), "month").tolist()
    ['2025-11']
    """
    alias = {"year": "Y", "quarter": "Q", "month": "M", "day": "D"}.get(str(freq), freq)
    return pd.to_datetime(times).dt.to_period(alias).astype(str)
