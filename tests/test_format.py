"""Tests of cxlib.format, the one formatter: one rule for p-values wherever a p-value is printed."""
from __future__ import annotations

import math

import numpy as np
import pytest

from cxlib.errors import ParameterError
from cxlib.findings import Finding
from cxlib.format import (
    MISSING,
    decimals_for,
    format_ci,
    format_number,
    format_p,
    format_percent,
    format_significant,
    is_missing,
)
from cxlib.report import tables
from cxlib.sections import summary
from cxlib.significance._core import reading


@pytest.mark.parametrize("p, expected", [
    (0.0, "p < 0.001"),
    (1e-5, "p < 0.001"),
    (0.0005, "p < 0.001"),
    (0.000999, "p < 0.001"),
    (0.001, "p = 0.001"),
    (0.0494, "p = 0.049"),
    (0.049999, "p = 0.050"),  # rounded to the nearest; the verdict is judged on the unrounded value
    (0.1, "p = 0.100"),
    (0.2449, "p = 0.245"),
    (1.0, "p = 1.000"),
    (1.0 + 1e-15, "p = 1.000"),  # floating-point rounding above 1 is tolerated
    (math.nan, MISSING),
    (None, MISSING),
])
def test_format_p_edge_cases(p, expected):
    assert format_p(p) == expected


def test_format_p_options():
    assert format_p(0.0, prefix=False) == "< 0.001"
    assert format_p(0.2, prefix=False) == "0.200"
    assert format_p(0.004, digits=2) == "p < 0.01"
    assert format_p(math.nan, missing="no p-value") == "no p-value"


@pytest.mark.parametrize("p", [-0.01, 1.2, 1.000001])
def test_format_p_rejects_impossible_values(p):
    with pytest.raises(ParameterError, match=r"must lie in \[0, 1\]"):
        format_p(p)


@pytest.mark.parametrize("p", [0.0, 1e-5, 0.0005, 0.006, 0.049999, 0.1, 0.2449, 1.0])
def test_one_p_rule_in_tables_sentences_and_readings(p):
    """The same p prints the same in a report table, a summary sentence and a test reading."""
    text = format_p(p)
    assert tables.format_p(p) == summary.format_p(p) == text
    f = Finding(key="k", section="metrics", label="NPS", estimate=4.1, ci_lower=1.2, ci_upper=7.0, p_value=p,
                n=1204, method="adjusted Wald", unit="points", better="higher", period="2025Q4", comparison="2025Q3")
    assert f"; {text}, adjusted Wald" in summary.sentence(f)
    r = reading(label="NPS", unit=" points", group_a="2025Q4", group_b="2025Q3", difference=4.1, ci_lower=1.2,
                ci_upper=7.0, ci_level=0.95, p_value=p, alpha=0.05, n_a=600, n_b=604)
    assert f", {text}: " in r


@pytest.mark.parametrize("p", [0.0, 1e-5, 0.0005, 0.001, 0.006, 0.049999, 0.1, 0.2449, 0.9996, 1.0])
def test_sentences_round_trip_through_parse_sentence(p):
    f = Finding(key="k", section="metrics", label="NPS", estimate=-2.0, ci_lower=-3.5, ci_upper=-0.5, p_value=p,
                n=980, method="adjusted Wald", unit="points", better="higher", period="2025Q4", comparison="2025Q3")
    parsed = summary.parse_sentence(summary.sentence(f))
    if p < 0.001:
        assert parsed["p_bound"] == "<" and parsed["p_value"] == 0.001
    else:
        assert parsed["p_bound"] == "=" and abs(parsed["p_value"] - p) <= 0.0005 + 1e-12
    assert (parsed["estimate"], parsed["ci_lower"], parsed["ci_upper"]) == (-2.0, -3.5, -0.5)
    assert parsed["significant"] == (p < 0.05)


def test_reading_without_a_p_value_says_so():
    r = reading(label="CES", unit="", group_a="a", group_b="b", difference=0.2, ci_lower=math.nan,
                ci_upper=math.nan, ci_level=0.95, p_value=math.nan, alpha=0.05, n_a=3, n_b=3)
    assert "no p-value: untested" in r


@pytest.mark.parametrize("value, digits, expected", [
    (12345.678, 1, "12,345.7"),
    (1234567, 1, "1,234,567"),
    (np.int64(42), 3, "42"),
    (-1234.5, 2, "\u22121,234.50"),
    (-0.01, 1, "0.0"),
    (math.nan, 1, MISSING),
    (None, 1, MISSING),
    (math.inf, 1, "∞"),
    (True, 1, "True"),
    ("Gold", 1, "Gold"),
])
def test_format_number(value, digits, expected):
    assert format_number(value, digits) == expected


def test_format_number_ascii_minus_for_sentences():
    assert format_number(-1.25, 1, minus="-") == "-1.2"
    assert format_number(-0.04, 1, minus="-") == "0.0"


def test_percent_interval_and_significant_digits():
    assert format_percent(0.41234, 2) == "41.23%" and format_percent(None) == MISSING
    assert format_ci(-3.14, -0.44, 2) == "\u22123.14 to \u22120.44"
    assert format_ci(0.021, 0.049, percent=True) == "2.1% to 4.9%" and format_ci(1.0, None) == MISSING
    assert [format_significant(v) for v in (4.2, -1.0, 0.000123456, math.nan, math.inf)] == [
        "4.2", "-1", "0.000123", "n/a", "inf"]
    assert format_significant(12345.0, 6) == "12345"


def test_decimals_for_and_missing():
    assert [decimals_for(v) for v in ([0.5], [0.05], [250.5], [3, 4], [], [math.nan, 4.1])] == [3, 4, 0, 0, 0, 1]
    assert is_missing(np.nan) and is_missing(None) and not is_missing(0)


def test_old_homes_reexport_the_formatter():
    assert tables.format_number is format_number and tables.format_p is format_p
    assert tables.format_ci is format_ci and tables.format_percent is format_percent and tables.MISSING == MISSING
    assert summary.format_p is format_p and summary.decimals_for is decimals_for
