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

from .errors import DataContractError, ParameterError

__all__ = ["Period", "Kind", "KINDS", "FORMATS", "parse_period", "is_period_label", "period_bounds",
           "recent_periods", "in_period", "period_labels", "data_span", "default_periods", "check_in_span",
           "COLUMN_FORMATS", "parse_period_column"]

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
    """Label each timestamp with its period (``"2025Q4"`` for ``freq="Q"``), a column to split by (``segment=``).

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


# --------------------------------------------------------------------------- periods from the data

def data_span(data: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The first and last instant of the data: a ``(first, last)`` pair, or an object with a ``span``.

    A :class:`cxlib.data.Dataset` has one (:attr:`cxlib.data.Dataset.span`: its activity tables'
    first and last timestamps).

    >>> data_span(("2024-01-05", "2025-12-31 23:05"))
    (Timestamp('2024-01-05 00:00:00'), Timestamp('2025-12-31 23:05:00'))
    """
    span = getattr(data, "span", data)
    if not (isinstance(span, (tuple, list)) and len(span) == 2):
        raise ParameterError(f"Cannot read the time span of a {type(data).__name__}; pass a cxlib.data.Dataset "
                             "or a (first, last) pair of timestamps.")
    first, last = pd.Timestamp(span[0]), pd.Timestamp(span[1])
    if pd.isna(first) or pd.isna(last) or first > last:
        raise ParameterError(f"The data span {span!r} is not a (first, last) pair of timestamps with first <= last; "
                             "are the data's tables empty or without time columns?")
    return first, last


def _span_text(first: pd.Timestamp, last: pd.Timestamp) -> str:
    return f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"


def default_periods(data: Any, kind: str = "quarter") -> tuple[Period, Period | None]:
    """The report period and the comparison period a report takes from its data when the plan sets none.

    The report period is the last *complete* period of ``kind`` in the data (the data cover it from its
    first day through its last day); the comparison period is the one before it, or None when that one
    lies wholly before the data.

    Parameters
    ----------
    data : Dataset or (first, last)
        Anything :func:`data_span` reads.
    kind : {"quarter", "month", "year"}, default "quarter"
        The length of the periods (the quarterly review by default).

    Raises
    ------
    ParameterError
        No period of ``kind`` is complete within the data's span (the message states the span).

    Examples
    --------
    >>> [str(p) for p in default_periods(("2024-01-01", "2025-12-31 23:05"))]
    ['2025Q4', '2025Q3']
    >>> [str(p) for p in default_periods(("2024-01-01", "2025-12-30"))]
    ['2025Q3', '2025Q2']
    >>> [str(p) for p in default_periods(("2024-03-10", "2024-12-31"), kind="month")]
    ['2024-12', '2024-11']
    >>> str(default_periods(("2025-10-01", "2025-12-31"))[0]), default_periods(("2025-10-01", "2025-12-31"))[1]
    ('2025Q4', None)
    """
    first, last = data_span(data)
    kind = _kind(kind)
    through = last.normalize() + pd.Timedelta(days=1)  # the data cover their last day in full
    period = Period.parse(last, kind=kind)
    if period.end > through:
        period = period.previous()
    if period.start < first.normalize():
        raise ParameterError(f"No complete {kind} in the data, which span {_span_text(first, last)}; "
                             f"give the report period explicitly ({FORMATS}).")
    previous = period.previous()
    return period, (previous if previous.end > first else None)


def check_in_span(period: Any, data: Any, *, name: str = "period") -> Period:
    """``period`` as a :class:`Period` if it overlaps the data's span; otherwise a clear error stating the span.

    Raises
    ------
    ParameterError
        The period lies wholly before or after the data.

    Examples
    --------
    >>> str(check_in_span("2024-11", ("2024-01-01", "2025-12-31")))
    '2024-11'
    >>> check_in_span("2026Q1", ("2024-01-01", "2025-12-31 23:05"))
    Traceback (most recent call last):
    ...
    cxlib.errors.ParameterError: period='2026Q1' (2026-01-01 to 2026-03-31) lies outside the data, which span 2024-01-01 to 2025-12-31; choose a period within it.
    """
    first, last = data_span(data)
    p = Period.parse(period)
    if p.end <= first or p.start > last:
        raise ParameterError(f"{name}={str(p)!r} ({_span_text(p.start, p.last_day)}) lies outside the data, which "
                             f"span {_span_text(first, last)}; choose a period within it.")
    return p


# --------------------------------------------------------------------------- columns of period labels

#: The text formats :func:`parse_period_column` reads, as quoted in its error messages.
COLUMN_FORMATS = ("quarters '1999Q1', '1999-Q1', '1999 Q1', 'Q1-1999', 'Q1 1999'; months '2001-10', '2001/10', "
                  "'10/2001', '10-2001', 'Oct 2001', 'October-2001'; years '2001'; days '2001-10-03'")
_MONTH_NAMES = {name.lower(): i + 1 for i, name in enumerate(
    ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
     "November", "December"))}
_MONTH_NAMES.update({name[:3]: i for name, i in list(_MONTH_NAMES.items())})
_MONTH_NAMES["sept"] = 9
_COLUMN_PATTERNS = (
    ("quarter", re.compile(r"^(?P<y>\d{4})[-/ ]?Q(?P<q>[1-4])$", re.IGNORECASE)),
    ("quarter", re.compile(r"^Q(?P<q>[1-4])[-/ ]?(?P<y>\d{4})$", re.IGNORECASE)),
    ("month", re.compile(r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})$")),
    ("month", re.compile(r"^(?P<m>\d{1,2})[-/](?P<y>\d{4})$")),
    ("month", re.compile(r"^(?P<mon>[A-Za-z]{3,9})\.?[-/ ]?(?P<y>\d{4})$")),
    ("month", re.compile(r"^(?P<y>\d{4})[-/ ]?(?P<mon>[A-Za-z]{3,9})$")),
    ("year", re.compile(r"^(?P<y>\d{4})$")),
    ("day", re.compile(r"^(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})$")),
)


def _column_label(value: Any) -> Period | None:
    """The period a cell of a period column names, or None when it is in no known format."""
    if isinstance(value, Period):
        return value
    if isinstance(value, pd.Period):
        try:
            return Period._read(value)
        except ParameterError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    for kind, pattern in _COLUMN_PATTERNS:
        m = pattern.match(text)
        if m is None:
            continue
        parts = m.groupdict()
        year = int(parts["y"])
        if kind == "quarter":
            month = 3 * int(parts["q"]) - 2
        elif parts.get("mon") is not None:
            month = _MONTH_NAMES.get(parts["mon"].lower())
            if month is None:
                return None
        else:
            month = int(parts.get("m") or 1)
        try:
            return Period(kind, pd.Timestamp(year, month, int(parts.get("d") or 1)))
        except ValueError:  # month 13, 30 February...
            return None
    return None


def parse_period_column(values: pd.Series | Sequence[Any], *, column: str = "period") -> pd.Series:
    """Read a column of period labels (text such as ``"Q1-1999"`` or ``"10/2001"``) as ordered periods.

    Text sorts as text: ``"10/2001" < "2/2001"`` and ``"Q1-2000" < "Q2-1999"``, so a panel whose time
    column holds such labels would be put in a wrong order without a word.  This reads every label as
    the period it names and returns the period's first instant, a timestamp that sorts in time order.

    Parameters
    ----------
    values : pandas.Series or sequence
        Period labels in any of :data:`COLUMN_FORMATS` (case and surrounding spaces are ignored), or
        :class:`Period` / ``pandas.Period`` objects.  Missing values (None, NaN, empty text) stay missing
        (``NaT``).  Every label must name the same kind of period.
    column : str
        The column's name, quoted in error messages.

    Returns
    -------
    pandas.Series
        ``datetime64[ns]``: the start of each label's period (:attr:`Period.start`), with the index and
        name of ``values``.

    Raises
    ------
    DataContractError
        A value is in no known format (the message quotes up to three of them and the formats read), or
        the labels mix kinds of period (quarters and months...), whose order would be ambiguous.

    Examples
    --------
    >>> parse_period_column(pd.Series(["Q2-1999", "Q1-2000", "Q1-1999"])).dt.strftime("%Y-%m").tolist()
    ['1999-04', '2000-01', '1999-01']
    >>> parse_period_column(["10/2001", "2/2002", "2001-11"]).tolist()
    [Timestamp('2001-10-01 00:00:00'), Timestamp('2002-02-01 00:00:00'), Timestamp('2001-11-01 00:00:00')]
    >>> parse_period_column(["week 3", "2001"], column="t")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cxlib.errors.DataContractError: column 't' holds 1 value(s) that are not periods, e.g. 'week 3'; expected ...
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values))
    missing = series.isna().to_numpy() | series.map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(dtype=bool)
    distinct = pd.unique(series[~missing].astype(object))
    read = {v: _column_label(v) for v in distinct}
    bad = [v for v, p in read.items() if p is None]
    if bad:
        examples = ", ".join(repr(v) for v in bad[:3])
        raise DataContractError(
            f"column {column!r} holds {len(bad)} value(s) that are not periods, e.g. {examples}; expected "
            f"{COLUMN_FORMATS}. Convert the column to dates or numbers that sort in time order first.",
            column=column, rule="period labels")
    kinds: dict[str, Any] = {}
    for v, p in read.items():
        kinds.setdefault(p.kind, v)
    if len(kinds) > 1:
        examples = ", ".join(f"{k} {v!r}" for k, v in kinds.items())
        raise DataContractError(
            f"column {column!r} mixes kinds of period ({examples}); their order is ambiguous. Give every "
            "row the same kind of period.", column=column, rule="one kind of period")
    starts = {v: p.start for v, p in read.items()}
    out = pd.Series(pd.NaT, index=series.index, name=series.name, dtype="datetime64[ns]")
    if (~missing).any():
        out[~missing] = pd.to_datetime(series[~missing].astype(object).map(starts)).to_numpy()
    return out

