"""Tests of cxlib.report.tables: number formatting and show_table bundles."""
from __future__ import annotations

import math
import subprocess

import numpy as np
import pandas as pd
import pypandoc
import pytest

from cxlib.errors import ParameterError
from cxlib.report.tables import (MISSING, TableDisplay, format_ci, format_frame, format_number, format_p,
                                 format_percent, show_table)


@pytest.mark.parametrize("value, digits, expected", [
    (12345.678, 1, "12,345.7"),
    (1234567, 1, "1,234,567"),
    (np.int64(42), 3, "42"),
    (0.5, 0, "0"),            # banker's rounding of Python's format: 0.5 -> "0"
    (-1234.5, 2, "\u22121,234.50"),
    (-0.01, 1, "0.0"),        # no "-0.0"
    (math.nan, 1, MISSING),
    (None, 1, MISSING),
    (math.inf, 1, "∞"),
    ("Gold", 1, "Gold"),
])
def test_format_number(value, digits, expected):
    assert format_number(value, digits) == expected


@pytest.mark.parametrize("p, kwargs, expected", [
    (0.03412, {}, "p = 0.034"),
    (0.0009999, {}, "p < 0.001"),
    (0.001, {}, "p = 0.001"),
    (1.0, {}, "p = 1.000"),
    (0.0, {"prefix": False}, "< 0.001"),
    (0.04, {"digits": 2}, "p = 0.04"),
    (0.004, {"digits": 2}, "p < 0.01"),
    (math.nan, {}, MISSING),
])
def test_format_p(p, kwargs, expected):
    assert format_p(p, **kwargs) == expected


@pytest.mark.parametrize("p", [-0.01, 1.2])
def test_format_p_rejects_impossible_values(p):
    with pytest.raises(ParameterError, match=r"must lie in \[0, 1\]"):
        format_p(p)


def test_format_ci_and_percent():
    assert format_ci(1.23, 7.0) == "1.2 to 7.0"
    assert format_ci(-3.14, -0.44, 2) == "\u22123.14 to \u22120.44"
    assert format_ci(0.021, 0.049, percent=True) == "2.1% to 4.9%"
    assert format_ci(1.0, None) == MISSING
    assert format_percent(0.41234, 2) == "41.23%"


@pytest.fixture
def frame():
    return pd.DataFrame({
        "segment": ["Gold", "Silver | B", "Bronze"],
        "nps": [41.234, -2.05, math.nan],
        "ci_lower": [38.0, -5.5, math.nan],
        "ci_upper": [44.46, 1.4, math.nan],
        "share": [0.5, 0.3333, 0.1667],
        "p_value": [0.00001, 0.2, math.nan],
        "n": pd.array([12345, 800, 3], dtype="int64"),
    })


def test_format_frame_cells(frame):
    out = format_frame(frame, ci_cols={"95% CI": ("ci_lower", "ci_upper")}, percent_cols=["share"],
                       p_value_cols=["p_value"])
    assert list(out.columns) == ["segment", "nps", "95% CI", "share", "p_value", "n"]
    assert out.iloc[0].tolist() == ["Gold", "41.2", "38.0 to 44.5", "50.0%", "< 0.001", "12,345"]
    assert out.iloc[1].tolist() == ["Silver | B", "\u22122.0", "\u22125.5 to 1.4", "33.3%", "0.200", "800"]
    assert out.iloc[2].tolist() == ["Bronze", MISSING, MISSING, "16.7%", MISSING, "3"]


def test_format_frame_digits_per_column(frame):
    out = format_frame(frame[["nps", "share"]], digits={"nps": 2, "share": 3})
    assert out.iloc[0].tolist() == ["41.23", "0.500"]


def test_show_table_markdown(frame):
    t = show_table(frame, caption="NPS by tier", label="tbl-nps", ci_cols={"95% CI": ("ci_lower", "ci_upper")},
                   percent_cols=["share"], p_value_cols=["p_value"])
    lines = t.markdown.splitlines()
    assert lines[0] == "| segment | nps | 95% CI | share | p\\_value | n |"
    assert lines[1] == "|:---|---:|---:|---:|---:|---:|"
    assert lines[2] == "| Gold | 41.2 | 38.0 to 44.5 | 50.0% | \\< 0.001 | 12,345 |"
    assert lines[3].startswith("| Silver \\| B |")  # the pipe is escaped, not a new column
    assert lines[-1] == ": NPS by tier {#tbl-nps}"
    assert len(lines) == 2 + 3 + 2  # header, rule, 3 rows, blank, caption


def test_show_table_bundle_and_html(frame):
    t = show_table(frame[["segment", "n"]], caption="Counts & <more>")
    bundle = t._repr_mimebundle_()
    assert set(bundle) == {"text/markdown", "text/html", "text/plain"}
    assert bundle["text/plain"] == bundle["text/markdown"] and "object>" not in bundle["text/plain"]
    html = bundle["text/html"]
    assert html.startswith('<table class="cx-table"') and "Counts &amp; &lt;more&gt;" in html
    assert html.count("<tr>") == 4 and "text-align:right" in html
    assert isinstance(t, TableDisplay) and t.frame.shape == (3, 2)


def test_show_table_markdown_becomes_a_real_table_in_pandoc(frame):
    t = show_table(frame, caption="NPS by tier", label="tbl-nps", p_value_cols=["p_value"])
    html = pypandoc.convert_text(t.markdown, "html", format="markdown")
    assert html.count("<tr>") == 4 and '<table id="tbl-nps">' in html
    assert "<caption>NPS by tier</caption>" in html and "Silver | B" in html and "&lt; 0.001" in html
    typ = pypandoc.convert_text(t.markdown, "typst", format="markdown")
    assert "#table(" in typ and "columns: 7" in typ and "<tbl-nps>" in typ


@pytest.mark.parametrize("kwargs, message", [
    ({"label": "nps"}, "must look like 'tbl-name'"),
    ({"label": "tbl-nps"}, "needs a caption"),
    ({"percent_cols": ["nope"]}, r"percent_cols: column\(s\) \['nope'\] not in the table"),
    ({"ci_cols": {"CI": ("lo", "hi")}}, "ci_cols"),
    ({"max_rows": 2}, "has 3 rows"),
])
def test_show_table_errors(frame, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        show_table(frame, **kwargs)


def test_show_table_rejects_non_frames():
    with pytest.raises(ParameterError, match="expects a pandas DataFrame; got list"):
        show_table([1, 2])


def test_show_table_index_and_dates():
    df = pd.DataFrame({"day": pd.to_datetime(["2025-10-01", "2025-10-02"]), "x": [1.0, 2.0]},
                      index=pd.Index(["a", "b"], name="id"))
    out = show_table(df, index=True).frame
    assert out.columns.tolist() == ["id", "day", "x"]
    assert out.iloc[1].tolist() == ["b", "2025-10-02", "2.0"]


def test_csv_download_embeds_the_full_table_for_the_html_only():
    import base64
    import re

    from cxlib.report.tables import csv_download

    frame = pd.DataFrame({"cell": ["=cmd", "email"], "change": [-0.9361, 0.5]})
    link = csv_download(frame, "alerts.csv")
    bundle = link._repr_mimebundle_()
    assert bundle["text/plain"] == "" and link.rows == 2  # nothing reaches the PDF
    data = re.search(r"base64,([A-Za-z0-9+/=]+)", bundle["text/html"]).group(1)
    assert base64.b64decode(data).decode() == '"cell","change"\n"\'=cmd",-0.9361\n"email",0.5\n'
    with pytest.raises(ParameterError, match="must be letters"):
        csv_download(frame, "../x.csv")
