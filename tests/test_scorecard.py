"""Tests of cxlib.report.scorecard: what is drawn on the KPI tiles."""
from __future__ import annotations

import hashlib
import io
import math

import pandas as pd
import pytest
from matplotlib.figure import Figure

from cxlib.errors import ParameterError
from cxlib.findings import FINDING_COLUMNS, Finding, to_frame
from cxlib.report.scorecard import COLOURS, scorecard_figure, tile_texts


@pytest.fixture
def findings() -> pd.DataFrame:
    return to_frame([
        Finding(key="nps", section="metrics", label="NPS", estimate=3.25, ci_lower=1.1, ci_upper=5.4, p_value=0.004,
                n=5230, method="Welch t-test", unit="pts", better="higher", period="2025Q4", comparison="2025Q3"),
        Finding(key="complaints", section="voc", label="Complaint rate", estimate=0.8, ci_lower=0.2, ci_upper=1.4,
                p_value=0.01, n=120000, method="two-proportion z-test", unit="pp", better="lower",
                period="2025Q4", comparison="2025Q3"),
        Finding(key="churn", section="churn", label="12-month churn", estimate=14.2, ci_lower=13.1, ci_upper=15.3,
                n=10000, method="Kaplan-Meier", unit="%", period="2025Q4"),
        Finding(key="csat", section="metrics", label="CSAT", estimate=-0.4, ci_lower=-1.2, ci_upper=0.4,
                p_value=0.31, n=800, method="Welch t-test", unit="pts", better="higher", period="2025Q4",
                comparison="2025Q3"),
    ])


@pytest.fixture
def trends() -> pd.DataFrame:
    periods = ["2025Q2", "2024Q4", "2025Q1", "2025Q3", "2025Q4"]  # unsorted on purpose
    return pd.DataFrame({"key": ["nps"] * 5 + ["csat"] * 3,
                         "period": periods + ["2025Q3", "2025Q4", "2025Q2"],
                         "estimate": [32.0, 29.0, 30.0, 38.25, 41.5, 80.5, 80.1, 81.0]})


def tiles(fig: Figure) -> list:
    return [ax for ax in fig.axes if (ax.get_gid() or "").startswith("tile:")]


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_one_tile_per_finding_in_order(findings):
    fig = scorecard_figure(findings)
    assert isinstance(fig, Figure)
    assert [ax.get_gid() for ax in tiles(fig)] == ["tile:nps", "tile:complaints", "tile:churn", "tile:csat"]
    # 2 per row: 2 rows, the figure as wide as the A4 text block (fonts print at their size, 8 pt or more)
    assert tuple(fig.get_size_inches()) == pytest.approx((6.7, 3.1))
    sizes = [t.get_fontsize() for ax in fig.axes for t in ax.texts]
    assert min(sizes) >= 8
    assert not any(ax.get_gid() == "sparkline" for ax in fig.axes)


def test_tile_texts_change_finding_with_trend(findings, trends):
    fig = scorecard_figure(findings, trends=trends)
    nps = tiles(fig)[0]
    assert texts(nps)[:5] == ["NPS", "41.5 pts", "+3.2 pts vs 2025Q3 (95% CI 1.1 to 5.4)",
                              "▲ significant, p = 0.004", "n = 5,230 · Welch t-test"]
    # the marker of an improvement is green
    assert nps.texts[3].get_color() == COLOURS["good"]
    spark = [c for c in nps.child_axes if c.get_gid() == "sparkline"]
    assert len(spark) == 1
    xs, ys = spark[0].lines[0].get_data()
    assert list(ys) == [29.0, 30.0, 32.0, 38.25, 41.5]  # sorted by period
    assert [t.get_text() for t in spark[0].texts] == ["2024Q4", "2025Q4"]


def test_worsening_is_red_and_not_significant_is_grey(findings, trends):
    fig = scorecard_figure(findings, trends=trends)
    complaints, churn, csat = tiles(fig)[1:]
    assert texts(complaints)[1] == "+0.8 pp"  # no level in trends: the change is the headline
    assert texts(complaints)[3] == "▲ significant, p = 0.010"
    assert complaints.texts[3].get_color() == COLOURS["bad"]  # complaints up = worse
    assert texts(churn)[1:4] == ["14.2%", "95% CI 13.1 to 15.3", "○ level this quarter, no change tested"]
    assert texts(csat)[1:4] == ["80.1 pts", "\u22120.4 pts vs 2025Q3 (95% CI \u22121.2 to 0.4)",
                                "● not significant, p = 0.310"]
    assert csat.texts[3].get_color() == COLOURS["none"]


def test_markers_follow_the_reports_false_discovery_control(findings):
    fig = scorecard_figure(findings, q_values={"nps": 0.012, "complaints": 0.08})
    nps, complaints = tiles(fig)[:2]
    assert texts(nps)[3] == "▲ significant (q = 0.012)"
    assert texts(complaints)[3] == "● no clear change (q = 0.080)"  # p = 0.010 alone, not after the control
    assert complaints.texts[3].get_color() == COLOURS["none"]


def test_long_texts_wrap_inside_the_tile():
    row = Finding(key="k", section="s", label="A very long label that would run out of its tile otherwise",
                  estimate=1.0, method="m", period="2025Q4")
    fig = scorecard_figure(to_frame([row] * 3), ncols=3)
    assert "\n" in texts(tiles(fig)[0])[0]


def test_alpha_changes_the_verdict(findings):
    fig = scorecard_figure(findings, alpha=0.001)
    assert texts(tiles(fig)[0])[3] == "● not significant, p = 0.004"


def test_title_and_columns(findings):
    fig = scorecard_figure(findings, ncols=2, title="Scorecard 2025Q4")
    assert fig._suptitle.get_text() == "Scorecard 2025Q4"
    assert len(tiles(fig)) == 4
    positions = sorted({round(ax.get_position().x0, 3) for ax in tiles(fig)})
    assert len(positions) == 2


def test_no_findings():
    fig = scorecard_figure(pd.DataFrame(columns=list(FINDING_COLUMNS)))
    assert tiles(fig) == []
    assert [t.get_text() for ax in fig.axes for t in ax.texts] == ["No findings recorded."]


def test_deterministic_png(findings, trends):
    def digest() -> str:
        buf = io.BytesIO()
        scorecard_figure(findings, trends=trends).savefig(buf, format="png", metadata={"Software": None})
        return hashlib.sha256(buf.getvalue()).hexdigest()
    assert digest() == digest()


@pytest.mark.parametrize("kwargs, message", [
    ({"alpha": 0.0}, "alpha=0.0 must lie strictly between 0 and 1"),
    ({"ncols": 0}, "ncols=0 must be at least 1"),
    ({"trends": pd.DataFrame({"key": [], "value": []})}, r"trends lacks column\(s\) \['period', 'estimate'\]"),
])
def test_errors(findings, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        scorecard_figure(findings, **kwargs)


def test_missing_columns(findings):
    with pytest.raises(ParameterError, match=r"findings lacks column\(s\) \['p_value'\]"):
        scorecard_figure(findings.drop(columns="p_value"))


def test_tile_texts_without_n_or_ci():
    row = pd.Series({"label": "Revenue", "key": "rev", "estimate": 1234567.0, "ci_lower": math.nan,
                     "ci_upper": math.nan, "ci_level": 0.9, "p_value": math.nan, "n": math.nan, "method": "sum",
                     "unit": "EUR", "better": "higher", "period": "2025Q4", "comparison": ""})
    assert tile_texts(row) == {"label": "Revenue", "value": "1,234,567 EUR", "change": "no CI",
                               "marker": "○ level this quarter, no change tested", "footer": "sum"}
