"""Tests of cxlib.periods: parsing, the half-open end convention, neighbours and the compatibility names."""
from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.periods import (
    FORMATS,
    Period,
    in_period,
    is_period_label,
    parse_period,
    period_bounds,
    period_labels,
    recent_periods,
)

T = pd.Timestamp


@pytest.mark.parametrize("text, kind, start, end", [
    ("2025Q4", "quarter", "2025-10-01", "2026-01-01"),
    ("2025Q1", "quarter", "2025-01-01", "2025-04-01"),
    ("2025-11", "month", "2025-11-01", "2025-12-01"),
    ("2025-12", "month", "2025-12-01", "2026-01-01"),
    ("2024-02", "month", "2024-02-01", "2024-03-01"),
    ("2025", "year", "2025-01-01", "2026-01-01"),
    ("2025-11-03", "day", "2025-11-03", "2025-11-04"),
])
def test_each_format_and_its_half_open_bounds(text, kind, start, end):
    p = Period.parse(text)
    assert (p.kind, p.start, p.end, p.bounds) == (kind, T(start), T(end), (T(start), T(end)))
    assert str(p) == text and is_period_label(text)
    assert p.last_day == T(end) - pd.Timedelta(days=1)


def test_last_day_matches_the_old_pandas_end_time_convention():
    # notebooks 30/35/60 and build_action_lists used pd.Period(period, freq="Q").end_time.normalize()
    for q in ("2024Q1", "2024Q4", "2025Q2"):
        assert Period.parse(q).last_day == pd.Period(q, freq="Q").end_time.normalize()


@pytest.mark.parametrize("value, text", [
    (pd.Period("2025Q4", freq="Q"), "2025Q4"),
    (pd.Period("2025-11", freq="M"), "2025-11"),
    (pd.Period("2025", freq="Y"), "2025"),
    (pd.Period("2025-11-03", freq="D"), "2025-11-03"),
])
def test_pandas_periods_are_read(value, text):
    assert str(Period.parse(value)) == text
    assert Period.parse(value).to_pandas() == value


@pytest.mark.parametrize("value", [T("2025-11-30 23:59:59"), dt.date(2025, 11, 30), dt.datetime(2025, 10, 1),
                                   np.datetime64("2025-12-31T12:00")])
def test_a_timestamp_gives_the_period_that_contains_it(value):
    assert str(Period.parse(value, kind="quarter")) == "2025Q4"
    assert str(Period.parse(T("2025-11-30 23:59"), kind="M")) == "2025-11"
    assert str(Period.parse(T("2025-11-30"), kind="year")) == "2025"
    assert str(Period.parse(T("2025-11-30 23:59"), kind="day")) == "2025-11-30"


def test_a_period_parses_to_itself_and_compares_by_value():
    p = Period.parse("2025Q4")
    assert Period.parse(p) is p
    assert p == parse_period("2025Q4") and hash(p) == hash(parse_period("2025Q4"))
    assert p != Period.parse("2025-10")


@pytest.mark.parametrize("bad", ["2025-Q4", "Q4 2025", "2025Q5", "2025-13", "2025-02-30", "last quarter", "",
                                 "25Q4", 2025.5, None])
def test_bad_input_names_the_value_and_the_formats(bad):
    with pytest.raises(ParameterError) as err:
        Period.parse(bad)
    assert repr(bad) in str(err.value) and FORMATS in str(err.value)


def test_kind_mismatches_and_unknown_frequencies_are_errors():
    with pytest.raises(ParameterError, match="period='2025-11' is a month; expected a quarter such as '2025Q4'"):
        Period.parse("2025-11", kind="quarter")
    with pytest.raises(ParameterError, match="period='2025-Q9' is not a quarter"):
        Period.parse("2025-Q9", kind="Q")
    with pytest.raises(ParameterError, match="point in time"):
        Period.parse(T("2025-11-03"))
    with pytest.raises(ParameterError, match="frequency"):
        Period.parse(pd.Period("2025-11-03", freq="W"))
    with pytest.raises(ParameterError, match="kind='fortnight' is not a kind of period"):
        Period.parse("2025Q4", kind="fortnight")
    with pytest.raises(ParameterError, match="first instant of a quarter"):
        Period("quarter", T("2025-11-01"))


@pytest.mark.parametrize("text, n, expected", [
    ("2026Q1", 1, "2025Q4"), ("2025Q4", 4, "2024Q4"), ("2025Q1", 5, "2023Q4"),
    ("2026-01", 1, "2025-12"), ("2025-03", 14, "2024-01"),
    ("2025", 1, "2024"), ("2025-01-01", 1, "2024-12-31"), ("2024-03-01", 1, "2024-02-29"),
])
def test_previous_across_year_boundaries(text, n, expected):
    assert str(Period.parse(text).previous(n)) == expected
    assert Period.parse(expected).shift(n) == Period.parse(text)


def test_recent_periods_oldest_first():
    assert recent_periods("2026Q2", count=4) == ["2025Q3", "2025Q4", "2026Q1", "2026Q2"]
    assert recent_periods("2026-02", count=3) == ["2025-12", "2026-01", "2026-02"]
    assert [str(p) for p in Period.parse("2025").recent(2)] == ["2024", "2025"]
    assert recent_periods("2025Q4", count=1, freq="Q") == ["2025Q4"]
    with pytest.raises(ParameterError, match="count=0"):
        recent_periods("2025Q4", count=0)
    with pytest.raises(ParameterError, match="is a month"):
        recent_periods("2025-11", freq="Q")


def test_in_period_boundaries_an_event_at_end_belongs_to_the_next_period():
    t = pd.to_datetime(["2025-09-30 23:59:59.999", "2025-10-01 00:00:00.000", "2025-12-31 23:59:59.999",
                        "2026-01-01 00:00:00.000"])
    df = pd.DataFrame({"t": t, "i": range(4)})
    assert in_period(df, "t", "2025Q4")["i"].tolist() == [1, 2]
    assert in_period(df, "t", "2026Q1")["i"].tolist() == [3]
    assert in_period(df, "t", "2025Q3")["i"].tolist() == [0]
    assert in_period(df, "t", Period.parse("2025-12"))["i"].tolist() == [2]
    # strings are parsed; a (start, end) window is half-open too
    assert in_period(df.assign(t=df["t"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")), "t", "2025Q4")["i"].tolist() == [1, 2]
    assert in_period(df, "t", ("2025-10-01", "2026-01-01"))["i"].tolist() == [1, 2]
    assert Period.parse("2025Q4").contains("2025-12-31 23:59") and not Period.parse("2025Q4").contains("2026-01-01")


def test_period_bounds_window_pairs_and_errors():
    assert period_bounds(("2025-01-01", "2025-02-01")) == (T("2025-01-01"), T("2025-02-01"))
    with pytest.raises(ParameterError, match="start < end"):
        period_bounds(("2025-02-01", "2025-01-01"))
    with pytest.raises(ParameterError, match="point in time"):
        period_bounds(T("2025-11-03"))
    with pytest.raises(ParameterError, match="'last quarter' is not a period"):
        period_bounds("last quarter")


def test_period_labels_agree_with_the_parser():
    times = pd.Series([T("2025-12-31 23:59"), T("2026-01-01"), T("2025-07-01")])
    assert period_labels(times).tolist() == ["2025Q4", "2026Q1", "2025Q3"]
    assert period_labels(times, "month").tolist() == period_labels(times, "M").tolist() == ["2025-12", "2026-01",
                                                                                             "2025-07"]
    assert period_labels(times, "Y").tolist() == ["2025", "2026", "2025"]
    for label, t in zip(period_labels(times), times, strict=True):
        assert Period.parse(label).contains(t) and Period.parse(t, kind="Q") == Period.parse(label)


def test_is_period_label():
    assert [is_period_label(x) for x in ("2025Q3", "2025", "2025-11-03", "rest", "gold", "2025q3", 2025)] == [
        True, True, True, False, False, False, False]
    assert is_period_label("2025Q3", kind="quarter") and not is_period_label("2025-11", kind="quarter")


def test_old_public_names_keep_working():
    from cxlib import metrics, significance
    from cxlib.sections import overview

    assert metrics.period_bounds is period_bounds and metrics.in_period is in_period
    assert metrics.period_labels is period_labels and significance.recent_periods is recent_periods
    with pytest.warns(DeprecationWarning, match="quarter_bounds"):
        assert overview.quarter_bounds("2024Q1") == (T("2024-01-01"), T("2024-04-01"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert period_bounds("2024Q1") == Period.parse("2024Q1").bounds


# --------------------------------------------------------------------------- columns of period labels

@pytest.mark.parametrize("labels, starts", [
    (["Q1-1999", "Q4-1999", "q2 2000", "Q3/2000"], ["1999-01", "1999-10", "2000-04", "2000-07"]),
    (["1999Q1", "1999-Q4", "2000 Q2", "2000q3"], ["1999-01", "1999-10", "2000-04", "2000-07"]),
    (["10/2001", "2/2002", "12-2002"], ["2001-10", "2002-02", "2002-12"]),
    (["2001-10", "2002/2", " 2002-12 "], ["2001-10", "2002-02", "2002-12"]),
    (["Oct 2001", "February-2002", "2002 Dec", "Sept. 2003"], ["2001-10", "2002-02", "2002-12", "2003-09"]),
    (["1999", "2000"], ["1999-01", "2000-01"]),
    (["2001-10-03", "2001-10-04"], ["2001-10-03", "2001-10-04"]),
])
def test_parse_period_column_reads_each_format_as_its_period_start(labels, starts):
    from cxlib.periods import parse_period_column

    out = parse_period_column(pd.Series(labels, name="t"), column="t")
    assert out.dtype == "datetime64[ns]" and out.name == "t"
    assert out.tolist() == [T(s) for s in starts]


def test_parse_period_column_orders_where_text_order_is_wrong():
    from cxlib.periods import parse_period_column

    labels = pd.Series(["Q4-1999", "Q1-2000", "Q2-1999"])
    assert sorted(labels) == ["Q1-2000", "Q2-1999", "Q4-1999"]  # text order puts 2000 first
    assert labels.iloc[parse_period_column(labels).argsort()].tolist() == ["Q2-1999", "Q4-1999", "Q1-2000"]
    months = pd.Series(["10/2001", "2/2001", "11/2000"])
    assert months.iloc[parse_period_column(months).argsort()].tolist() == ["11/2000", "2/2001", "10/2001"]


def test_parse_period_column_keeps_missing_and_reads_period_objects():
    from cxlib.periods import parse_period_column

    out = parse_period_column(pd.Series(["2025Q1", None, "", np.nan, Period.parse("2025Q3"), pd.Period("2025Q4", "Q")],
                                        index=[5, 6, 7, 8, 9, 10]))
    assert out.index.tolist() == [5, 6, 7, 8, 9, 10]
    assert out.isna().tolist() == [False, True, True, True, False, False]
    assert out.dropna().tolist() == [T("2025-01-01"), T("2025-07-01"), T("2025-10-01")]


@pytest.mark.parametrize("labels, match", [
    (["Q1-1999", "week 3", "other"], r"column 'when' holds 2 value\(s\) that are not periods, e.g. 'week 3', 'other'"),
    (["13/2001"], "not periods, e.g. '13/2001'"),
    (["2001-02-30"], "not periods"),
    (["10/15/2001"], "not periods"),  # day-first or month-first: ambiguous, refused
    (["Q1-1999", "2001-10"], r"mixes kinds of period \(quarter 'Q1-1999', month '2001-10'\)"),
    ([1999, "2000"], "not periods, e.g. 1999"),
])
def test_parse_period_column_refuses_unknown_or_mixed_labels(labels, match):
    from cxlib.errors import DataContractError
    from cxlib.periods import parse_period_column

    with pytest.raises(DataContractError, match=match) as info:
        parse_period_column(pd.Series(labels, dtype=object), column="when")
    assert info.value.column == "when"


# --------------------------------------------------------------------------- periods from the data (issue 17)

@pytest.mark.parametrize("span, kind, expected", [
    (("2024-01-01 10:39", "2025-12-31 23:05"), "quarter", ("2025Q4", "2025Q3")),  # the synthetic world's span
    (("2024-01-01", "2025-12-30 12:00"), "quarter", ("2025Q3", "2025Q2")),  # the data stop before the last day
    (("2024-01-01", "2025-12-31"), "month", ("2025-12", "2025-11")),
    (("2023-01-01", "2025-06-30"), "year", ("2024", "2023")),
    (("2025-07-01", "2025-12-31"), "quarter", ("2025Q4", "2025Q3")),
    (("2025-10-01", "2025-12-31"), "quarter", ("2025Q4", None)),  # nothing before: no comparison period
])
def test_default_periods_are_the_last_complete_period_and_the_one_before(span, kind, expected):
    from cxlib.periods import default_periods

    period, previous = default_periods(span, kind)
    assert (str(period), None if previous is None else str(previous)) == expected


def test_default_periods_of_a_dataset_and_errors_stating_the_span():
    from cxlib.periods import check_in_span, default_periods

    class Data:  # anything with a span, as cxlib.data.Dataset
        span = (T("2025-11-03 08:00"), T("2025-12-31 18:00"))

    assert [str(p) for p in default_periods(Data(), "month")] == ["2025-12", "2025-11"]
    with pytest.raises(ParameterError, match=r"No complete quarter in the data, which span 2025-11-03 to 2025-12-31"):
        default_periods(Data())
    with pytest.raises(ParameterError, match=r"period='2024' \(2024-01-01 to 2024-12-31\) lies outside the data, which "
                                             r"span 2025-11-03 to 2025-12-31"):
        check_in_span("2024", Data())
    assert str(check_in_span("2025Q4", Data())) == "2025Q4"  # overlapping in part is within
