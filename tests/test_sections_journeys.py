"""Tests of cxlib.sections.journeys (the journeys notebook's glue).

Reference numbers: Wilson intervals and the pooled z-test against statsmodels
(``proportion_confint(..., method="wilson")``, ``proportions_ztest``); the Newcombe interval against
Newcombe (1998), Statistics in Medicine 17, 873-890, Table II, example (a) 56/70 vs 48/80: 0.0524 to 0.3339.
"""
from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from cxlib.errors import DataContractError, ParameterError
from cxlib.journey import attribute, compare_funnels, fail_points, from_paths, funnel, journeyize
from cxlib.stats import holm
from cxlib.journey.funnel import FUNNEL_COMPARISON_COLUMNS
from cxlib.sections.journeys import (CHANGE_COLUMNS, RATE_COLUMNS, ConversionRate, analysis_window, conversion_change,
                                  conversion_rate, journey_findings, pairwise_funnel_tests, segment_events)


# ----------------------------------------------------------------------------- window

def test_window_defaults_to_the_quarter():
    w = analysis_window("2025Q4")
    assert (w.start, w.end, w.label) == (pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01"), "2025Q4")
    w = analysis_window("2024Q1")
    assert (w.start, w.end) == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01"))


@pytest.mark.parametrize("start, end, expected", [
    ("2025-11-01", "", ("2025-11-01", "2026-01-01", "2025-11-01 to 2025-12-31")),
    ("", "2025-11-15", ("2025-10-01", "2025-11-15", "2025-10-01 to 2025-11-14")),
    ("2025-01-01", "2025-07-01", ("2025-01-01", "2025-07-01", "2025-01-01 to 2025-06-30")),
])
def test_window_explicit_dates_override_a_bound(start, end, expected):
    w = analysis_window("2025Q4", start_date=start, end_date=end)
    assert (str(w.start.date()), str(w.end.date()), w.label) == expected


@pytest.mark.parametrize("kwargs, match", [
    ({"period": "2025-Q9"}, "period='2025-Q9' is not a period"),
    ({"period": "2025Q4", "start_date": "yesterday"}, "start_date='yesterday' is not a date"),
    ({"period": "2025Q4", "start_date": "2025-12-01", "end_date": "2025-12-01"}, "window is empty"),
])
def test_window_errors(kwargs, match):
    period = kwargs.pop("period")
    with pytest.raises(ParameterError, match=match):
        analysis_window(period, **kwargs)


# ----------------------------------------------------------------------------- segment filter

@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE customers AS SELECT * FROM (VALUES ('a', 'gold'), ('b', 'bronze'), ('c', 'gold')) "
              "t(customer_id, loyalty_tier)")
    c.execute("CREATE TABLE events AS SELECT * FROM (VALUES ('a', 1), ('b', 2), ('c', 4), ('b', 8)) t(customer_id, x)")
    return c


def test_segment_events_keeps_only_the_segment(con):
    assert segment_events(con) == "events"
    gold = segment_events(con, segment_column="loyalty_tier", segment_value="gold")
    bronze = segment_events(con, segment_column="loyalty_tier", segment_value="bronze")
    assert gold != bronze
    assert con.execute(f"SELECT sum(x), count(*) FROM {gold}").fetchall() == [(5, 2)]
    assert con.execute(f"SELECT sum(x), count(*) FROM {bronze}").fetchall() == [(10, 2)]


def test_segment_events_errors(con):
    with pytest.raises(ParameterError, match="give both"):
        segment_events(con, segment_column="loyalty_tier")
    with pytest.raises(DataContractError, match="no column 'tier'"):
        segment_events(con, segment_column="tier", segment_value="gold")
    with pytest.raises(ParameterError, match=r"does not occur.*\['bronze', 'gold'\]"):
        segment_events(con, segment_column="loyalty_tier", segment_value="platinum")


# ----------------------------------------------------------------------------- conversion rate and change

def _events_with_censoring():
    """Four journeys: 'a' converts, 'b' abandons, 'c' converts, 'd' is still open at the end (censored)."""
    rows = [("a", "2025-10-01 10:00", "search"), ("a", "2025-10-01 10:05", "purchase"),
            ("b", "2025-10-02 10:00", "search"), ("c", "2025-10-03 09:00", "cart"),
            ("c", "2025-10-03 09:10", "purchase"), ("d", "2025-10-09 12:00", "search")]
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"]).assign(
        timestamp=lambda d: pd.to_datetime(d["timestamp"]))


def test_conversion_rate_excludes_censored_and_matches_statsmodels_wilson():
    r = conversion_rate(journeyize(_events_with_censoring(), gap="1D"), label="2025Q4")
    assert (r.conversions, r.n, r.n_censored, r.label) == (2, 3, 1, "2025Q4")
    lo, hi = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert r.estimate == pytest.approx(2 / 3)
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi), abs=1e-12)
    frame = r.to_frame()
    assert list(frame.columns) == list(RATE_COLUMNS) and frame.shape == (1, 9)


def test_conversion_rate_weighted_paths_and_alpha():
    js = from_paths(pd.DataFrame({"path": ["a > b", "b"], "conversions": [30, 10], "nulls": [60, 100]}))
    r = conversion_rate(js, alpha=0.1)
    lo, hi = proportion_confint(40, 200, alpha=0.1, method="wilson")
    assert (r.conversions, r.n, r.ci_level) == (40, 200, pytest.approx(0.9))
    assert (r.ci_lower, r.ci_upper) == pytest.approx((lo, hi), abs=1e-12)
    with pytest.raises(ParameterError, match="alpha"):
        conversion_rate(js, alpha=1.5)


def test_conversion_change_matches_references():
    a = ConversionRate("Q4", 0.2, math.nan, math.nan, 0.95, 200, 1000, 0, "m")
    b = ConversionRate("Q3", 0.15, math.nan, math.nan, 0.95, 150, 1000, 0, "m")
    d = conversion_change(a, b)
    z, p = proportions_ztest([200, 150], [1000, 1000])  # statsmodels: z = 2.94245, p = 0.0032563
    assert (d.statistic, d.p_value) == pytest.approx((z, p), rel=1e-9)
    assert d.difference == pytest.approx(0.05) and (d.n, d.n_comparison) == (1000, 1000)
    assert d.ci_lower < 0.05 < d.ci_upper and d.comparison == "Q3"
    newcombe = conversion_change(ConversionRate("x", 0.8, 0, 0, 0.95, 56, 70, 0, "m"),
                                 ConversionRate("y", 0.6, 0, 0, 0.95, 48, 80, 0, "m"))
    assert (round(newcombe.ci_lower, 4), round(newcombe.ci_upper, 4)) == (0.0524, 0.3339)  # Newcombe 1998, Table II
    assert list(d.to_frame().columns) == list(CHANGE_COLUMNS)


# ----------------------------------------------------------------------------- funnel tests

@pytest.fixture(scope="module")
def segmented_funnel():
    rng = np.random.default_rng(3)
    rows, cust = [], []
    for i in range(900):
        seg = ("bronze", "silver", "gold")[i % 3]
        p_cart = {"bronze": 0.3, "silver": 0.5, "gold": 0.52}[seg]
        cust.append((f"c{i}", seg))
        t0 = pd.Timestamp("2025-10-01") + pd.Timedelta(hours=i)
        steps = ["product_page"] + (["cart"] if rng.random() < p_cart else [])
        steps += ["purchase"] if len(steps) == 2 and rng.random() < 0.5 else []
        rows += [(f"c{i}", t0 + pd.Timedelta(minutes=k), s) for k, s in enumerate(steps)]
    ev = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])
    segs = pd.DataFrame(cust, columns=["customer_id", "loyalty_tier"])
    return funnel(journeyize(ev, gap="1h"), ["product_page", "cart", "purchase"], segment="loyalty_tier", segments=segs)


def test_pairwise_funnel_tests_match_compare_funnels_and_holm(segmented_funnel):
    t = pairwise_funnel_tests(segmented_funnel)
    assert list(t.columns) == list(FUNNEL_COMPARISON_COLUMNS) and len(t) == 3
    assert list(zip(t.group_a, t.group_b)) == [("bronze", "gold"), ("bronze", "silver"), ("gold", "silver")]
    one = compare_funnels(segmented_funnel, "bronze", "gold").to_frame().iloc[0]
    assert t.loc[0, "p_value"] == pytest.approx(one["p_value"])
    assert t.loc[0, "statistic"] == pytest.approx(one["statistic"])
    assert t["p_adjusted"].to_numpy() == pytest.approx(holm(t["p_value"].to_numpy()))
    assert (t["test"] == "funnel").all() and t["method"].str.endswith("across segment pairs").all()
    # bronze (30% to cart) differs from gold/silver (50-52%); gold and silver do not
    assert t.loc[0, "p_adjusted"] < 0.001 and t.loc[1, "p_adjusted"] < 0.01 and t.loc[2, "p_adjusted"] > 0.05


def test_pairwise_funnel_tests_drop_small_segments(segmented_funnel):
    assert len(pairwise_funnel_tests(segmented_funnel, min_entered=301)) == 0
    assert list(pairwise_funnel_tests(segmented_funnel, min_entered=301).columns) == list(FUNNEL_COMPARISON_COLUMNS)


# ----------------------------------------------------------------------------- findings

@pytest.fixture(scope="module")
def paths_journeys():
    return from_paths(pd.DataFrame({"path": ["a > b", "a > w", "w > b", "a"],
                                    "conversions": [50, 5, 20, 30], "nulls": [10, 45, 30, 10]}))


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_findings_carry_the_numbers(paths_journeys, correction):
    js = paths_journeys
    rate = conversion_rate(js, label="2025Q4")
    prev = ConversionRate("2025Q3", 0.4, 0.35, 0.45, 0.95, 80, 200, 0, "m")
    change = conversion_change(rate, prev)
    fail = fail_points(js, correction=correction)
    att = attribute(js, n_boot=200, rng=np.random.default_rng(5))
    found = journey_findings(rate=rate, change=change, fail=fail, attribution=att, period="2025Q4",
                             comparison_period="2025Q3")
    by = {f.key: f for f in found}
    assert list(by) == ["journey_conversion_rate", "journey_conversion_change", "journey_top_fail_point",
                        "journey_top_removal_effect"]
    for f in found:
        assert f.section == "journeys" and f.n > 0 and f.method and f.period == "2025Q4"
        assert f.ci_lower <= f.estimate <= f.ci_upper
    assert by["journey_conversion_rate"].estimate == pytest.approx(105 / 200)
    assert by["journey_conversion_change"].comparison == "2025Q3"
    assert by["journey_conversion_change"].estimate == pytest.approx(105 / 200 - 0.4)
    top = fail.to_frame().iloc[0]
    ff = by["journey_top_fail_point"]
    assert "'w'" in ff.label and ff.unit == "pp" and ff.better == "lower"
    assert ff.estimate == pytest.approx(100 * top["risk_difference"])
    assert ff.p_value == pytest.approx(top["p_holm" if correction == "holm" else "p_bh"])
    rf = by["journey_top_removal_effect"]
    mk = att.to_frame().query("method == 'markov'").set_index("channel")
    assert rf.estimate == pytest.approx(mk["removal_effect"].max())
    assert f"'{mk['removal_effect'].idxmax()}'" in rf.label and rf.n == 200
    assert (rf.ci_lower, rf.ci_upper) == (mk.loc[mk["removal_effect"].idxmax(), "removal_effect_ci_lower"],
                                          mk.loc[mk["removal_effect"].idxmax(), "removal_effect_ci_upper"])


def test_findings_without_change(paths_journeys):
    found = journey_findings(rate=conversion_rate(paths_journeys), change=None, fail=fail_points(paths_journeys),
                             attribution=attribute(paths_journeys, n_boot=0), period="2025Q4")
    assert [f.key for f in found] == ["journey_conversion_rate", "journey_top_fail_point",
                                      "journey_top_removal_effect"]
    assert math.isnan(found[-1].ci_lower)  # no bootstrap, no interval


# ----------------------------------------------------------------------------- interactive flow figure

def _flow_display(include_plotlyjs=False):
    from cxlib.sections.journeys import interactive_figure
    from cxlib.plots import journey as pj

    paths = pd.DataFrame({"path": ["a > b", "b", "a"], "journeys": [10, 5, 3], "conversions": [4, 0, 1]})
    return interactive_figure(pj.path_flow(paths).figure, pj.path_flow_interactive(paths), div_id="flow-1",
                              alt="Flow", include_plotlyjs=include_plotlyjs)


def test_interactive_figure_bundle_is_deterministic():
    d1, d2 = _flow_display(), _flow_display()
    data, meta = d1._repr_mimebundle_()
    assert set(data) == {"text/html", "image/png", "text/plain"} and data["text/plain"] == "Flow"
    assert 'id="flow-1"' in d1.html and "plotly-graph-div" in d1.html and '"type":"sankey"' in d1.html
    assert d1.png[:4] == b"\x89PNG" and meta["image/png"] == {"width": d1.width, "height": d1.height}
    assert (d1.html, d1.png) == (d2.html, d2.png)  # byte-identical renders: fixed div id, no timestamps
    assert len(d1.html) < 100_000 < len(_flow_display(include_plotlyjs=True).html)  # the library inlined on demand
    from cxlib.sections.journeys import interactive_figure

    with pytest.raises(ParameterError, match="div_id='bad id'"):
        interactive_figure(None, None, div_id="bad id")


@pytest.mark.parametrize("target, expected", [("html", ["text/html"]), ("typst", ["image/png"])])
def test_renderer_picks_interactive_for_html_and_image_for_pdf(target, expected):
    import nbformat

    from cxlib.report.render import _pick_output

    data, meta = _flow_display()._repr_mimebundle_()
    out = _pick_output(nbformat.v4.new_output("display_data", data=data, metadata=meta), target)
    assert sorted(out.data) == expected


def _flow_notebook(path):
    import nbformat

    data, meta = _flow_display(include_plotlyjs=True)._repr_mimebundle_()
    cell = nbformat.v4.new_code_cell('#| label: fig-flow\n#| fig-cap: "Top paths."\nflow', execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=meta)]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_raw_cell('---\ntitle: "Journeys"\n---'),
                                         nbformat.v4.new_markdown_cell("See @fig-flow."), cell])
    nbformat.write(nb, path)
    return path


def test_rendered_html_has_the_sankey_and_the_pdf_the_image(tmp_path):
    pytest.importorskip("pypandoc", reason="the report extra (pandoc) renders the report")
    pytest.importorskip("typst", reason="the report extra (typst) renders the PDF")
    from pypdf import PdfReader

    from cxlib.report.render import render_report

    res = render_report([_flow_notebook(tmp_path / "20_journeys.ipynb")], tmp_path / "out", title="R",
                        engine="pandoc")
    html = res.html.read_text(encoding="utf-8")
    assert html.count('class="plotly-graph-div"') == 1 and 'id="flow-1"' in html
    assert html.count("Plotly.newPlot(") == 1
    assert html.count("plotly.js v") >= 1  # the library travels inside the page (offline)
    assert "<img" not in html.split('id="flow-1"')[0].rsplit("<figure", 1)[-1]  # no static copy in the HTML
    assert "Figure 1" in html
    text = "".join(p.extract_text() for p in PdfReader(res.pdf).pages)
    assert "Figure 1" in text and "Top paths." in text
    reader = PdfReader(res.pdf)
    assert sum(len(p.images) for p in reader.pages) == 1  # the static Sankey
