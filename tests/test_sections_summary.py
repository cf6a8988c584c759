"""Tests of cxlib.sections.summary: sentences carry exactly the recorded numbers (parsed back)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxlib.findings import Finding
from cxlib.sections.summary import (HEADLINE_COLUMNS, decimals_for, format_p, headlines, parse_sentence, sentence,
                           summary_markdown)


def finding(**kw) -> Finding:
    base = dict(key="k", section="metrics", label="NPS", estimate=4.1, ci_lower=1.2, ci_upper=7.0, p_value=0.006,
                n=1204, method="adjusted Wald", unit="points", better="higher", period="2025Q4",
                comparison="2025Q3")
    base.update(kw)
    return Finding(**base)


@pytest.mark.parametrize("kw,expected", [
    ({}, "NPS rose 4.1 points from 2025Q3 to 2025Q4 (95% CI 1.2 to 7.0; p = 0.006, adjusted Wald, n = 1,204), "
         "significant at 5%, an improvement."),
    ({"estimate": -4.1, "ci_lower": -7.0, "ci_upper": -1.2},
     "NPS fell 4.1 points from 2025Q3 to 2025Q4 (95% CI -7.0 to -1.2; p = 0.006, adjusted Wald, n = 1,204), "
     "significant at 5%, a deterioration."),
    ({"label": "Complaint rate", "estimate": 0.021, "ci_lower": -0.004, "ci_upper": 0.046, "p_value": 0.1,
      "unit": "share", "better": "lower", "method": "two-proportion z-test", "n": 8000},
     "Complaint rate rose 2.1 percentage points from 2025Q3 to 2025Q4 (95% CI -0.4 to 4.6; p = 0.100, "
     "two-proportion z-test, n = 8,000), not significant at 5%."),
    ({"estimate": 0.01, "ci_lower": -2.0, "ci_upper": 2.0, "p_value": 0.99},
     "NPS did not change (0.0 points) from 2025Q3 to 2025Q4 (95% CI -2.0 to 2.0; p = 0.990, adjusted Wald, "
     "n = 1,204), not significant at 5%."),
    ({"label": "Mean basket", "estimate": 52.3, "ci_lower": 50.1, "ci_upper": 54.4, "p_value": math.nan,
      "unit": "EUR", "comparison": "", "method": "t interval", "ci_level": 0.9},
     "Mean basket was EUR 52.3 in 2025Q4 (90% CI 50.1 to 54.4; t interval, n = 1,204)."),
    ({"label": "Churn hazard ratio", "estimate": 1.8, "ci_lower": 1.3, "ci_upper": 2.5, "p_value": 0.0002,
      "unit": "", "comparison": "", "method": "Cox PH", "better": "lower", "n": 640},
     "Churn hazard ratio was 1.8 in 2025Q4 (95% CI 1.3 to 2.5; p < 0.001, Cox PH, n = 640), significant at 5%."),
    ({"label": "Customers", "estimate": 12000.0, "ci_lower": math.nan, "ci_upper": math.nan, "p_value": math.nan,
      "unit": "customers", "comparison": "", "period": "", "method": "count", "n": 12000},
     "Customers was 12,000 customers (count, n = 12,000)."),
])
def test_sentences(kw, expected):
    assert sentence(finding(**kw)) == expected


@settings(max_examples=300, deadline=None)
@given(est=st.floats(-500, 500, allow_nan=False), half=st.floats(0.001, 100), p=st.floats(0, 1),
       n=st.integers(1, 10_000_000), change=st.booleans(),
       unit=st.sampled_from(["points", "%", "share", "pp", "EUR", "minutes", ""]),
       level=st.sampled_from([0.9, 0.95, 0.99]))
def test_sentence_numbers_parse_back_to_the_recorded_ones(est, half, p, n, change, unit, level):
    if unit == "share":
        est, half = est / 1000, half / 1000
    f = finding(estimate=est, ci_lower=est - half, ci_upper=est + half, p_value=p, n=n, unit=unit,
                ci_level=level, comparison="2025Q3" if change else "")
    parsed = parse_sentence(sentence(f))
    scale = 100 if unit == "share" else 1
    dec = decimals_for([est * scale, (est - half) * scale, (est + half) * scale])
    tol = 0.5 * 10 ** -dec + 1e-9
    assert parsed["label"] == "NPS" and parsed["method"] == "adjusted Wald" and parsed["n"] == n
    assert abs(parsed["estimate"] - est * scale) <= tol
    assert abs(parsed["ci_lower"] - (est - half) * scale) <= tol
    assert abs(parsed["ci_upper"] - (est + half) * scale) <= tol
    assert parsed["ci_level"] == pytest.approx(level)
    if p < 0.001:
        assert parsed["p_bound"] == "<" and parsed["p_value"] == 0.001
    else:
        assert abs(parsed["p_value"] - p) <= 0.0005 + 1e-12
    assert parsed["significant"] == (p < 1 - level)
    assert (parsed["comparison"], parsed["period"]) == (("2025Q3" if change else None), "2025Q4")


def test_parse_rejects_other_text():
    with pytest.raises(ValueError, match="Not a summary sentence"):
        parse_sentence("NPS is great.")


def test_format_p_and_decimals():
    # the one p-value rule of cxlib.format (three decimals, "p < 0.001"), as in the report tables
    assert [format_p(p) for p in (0.0, 0.000999, 0.001, 0.0494, 0.1, 0.999)] == [
        "p < 0.001", "p < 0.001", "p = 0.001", "p = 0.049", "p = 0.100", "p = 0.999"]
    assert [decimals_for(v) for v in ([0.5], [0.05], [250.5], [3, 4], [])] == [3, 4, 0, 0, 0]


def test_headlines_order_tone_and_frame():
    fs = [finding(key="flat", p_value=0.4),
          finding(key="level", comparison="", p_value=math.nan),
          finding(key="worse", estimate=-3.0, ci_lower=-5.0, ci_upper=-1.0, p_value=0.01),
          finding(key="neutral", better="neutral", p_value=0.01)]
    hs = headlines(fs)
    assert [h.finding.key for h in hs] == ["worse", "neutral", "level", "flat"]
    assert [h.tone for h in hs] == ["bad", "neutral", "neutral", "neutral"]
    frame = hs[0].to_frame()
    assert tuple(frame.columns) == HEADLINE_COLUMNS and frame.shape == (1, len(HEADLINE_COLUMNS))
    assert frame.loc[0, "kind"] == "change" and frame.loc[0, "estimate"] == -3.0
    assert [h.finding.key for h in headlines(fs, sort=False)] == ["flat", "level", "worse", "neutral"]


def test_summary_markdown_groups_sections_and_lists_significant_changes_first():
    fs = [finding(key="n", section="overview", label="Customers", estimate=10.0, comparison="", p_value=math.nan,
                  ci_lower=math.nan, ci_upper=math.nan, method="count", n=10, unit=""),
          finding(key="nps"), finding(key="csat", label="CSAT", p_value=0.3)]
    md = summary_markdown(fs, section_titles={"metrics": "Experience metrics"})
    lines = md.splitlines()
    assert lines[0] == "## Headlines" and lines[2].startswith("- NPS rose 4.1 points")
    assert lines.index("## Overview") < lines.index("## Experience metrics")
    assert sum(ln.startswith("- ") for ln in lines) == 4  # 1 headline + 3 findings
    assert "- Customers was 10 in 2025Q4 (count, n = 10)." in lines
    assert summary_markdown([]) == ""


def test_contrast_with_the_rest_reads_as_higher_or_lower_and_parses_back():
    from cxlib.findings import Finding
    from cxlib.sections.summary import parse_sentence, sentence

    f = Finding(key="a", section="segments", label="CSAT of loyalty_tier bronze", estimate=-0.103, ci_lower=-0.148,
                ci_upper=-0.058, p_value=0.0004, n=1603, method="difference of proportions", unit="share",
                better="higher", period="2025Q4", comparison="rest")
    text = sentence(f)
    assert text.startswith("CSAT of loyalty_tier bronze was 10.3 percentage points lower than the rest in 2025Q4 (")
    assert "from rest" not in text and text.endswith("a deterioration.")
    back = parse_sentence(text)
    assert back["estimate"] == -10.3 and back["comparison"] == "rest" and back["period"] == "2025Q4"
    assert (back["ci_lower"], back["ci_upper"], back["n"]) == (-14.8, -5.8, 1603)
    period_change = sentence(Finding(key="b", section="m", label="NPS", estimate=2.0, method="m", unit="points",
                                     period="2025Q4", comparison="2025Q3"))
    assert period_change.startswith("NPS rose 2 points from 2025Q3 to 2025Q4")


def test_old_sentence_number_formatter_is_a_deprecated_alias():
    from cxlib.sections import summary

    with pytest.warns(DeprecationWarning, match="cxlib.format.format_number"):
        fmt = summary.format_number
    assert (fmt(1204, 0), fmt(-1.25, 1), fmt(0.0, 1), fmt(-0.01, 1)) == ("1,204", "-1.2", "0.0", "0.0")


# --- the one-page executive summary -----------------------------------------------------------------

from cxlib.sections.summary import (DEMO_NOTE, demo_note, executive_summary_markdown, findings_table,  # noqa: E402
                                    key_messages, scorecard_frame, significance_rule, significance_table)


def _report_findings() -> list[Finding]:
    """The shapes of the default report's findings (numbers of the demo report, 2025Q4)."""
    f = Finding
    return [
        f(key="nps", section="metrics", label="NPS", estimate=23.27, ci_lower=19.29, ci_upper=27.16, method="m",
          unit="points", better="higher", period="2025Q4"),
        f(key="nps_change", section="metrics", label="NPS", estimate=-2.05, ci_lower=-7.71, ci_upper=3.60,
          p_value=0.4767, n=3410, method="m", unit="points", better="higher", period="2025Q4", comparison="2025Q3"),
        f(key="csat_change", section="metrics", label="CSAT (top-2-box share)", estimate=-3.34, ci_lower=-6.61,
          ci_upper=-0.067, p_value=0.0455, method="m", unit="pp", better="higher", period="2025Q4",
          comparison="2025Q3"),
        f(key="churn_top_cx_driver", section="churn", label="Strongest CX driver of cancelling (detractor (yes vs no)), "
          "hazard ratio", estimate=1.749, ci_lower=1.569, ci_upper=1.950, p_value=6.4e-24, method="Cox",
          better="lower", period="2025Q4"),
        f(key="churn_hr_detractor", section="churn", label="Hazard ratio of cancelling, detractor (yes vs no)",
          estimate=1.749, ci_lower=1.569, ci_upper=1.950, p_value=6.4e-24, method="Cox", better="lower"),
        f(key="clv_at_risk", section="clv", label="CLV at stake", estimate=15938.5, ci_lower=15572.8,
          ci_upper=16312.8, method="m", unit="EUR", better="lower", period="2025Q4"),
        f(key="program_effect_complaint_rate", section="evaluation", label="The program's effect on complaints",
          estimate=-28.82, ci_lower=-38.50, ci_upper=-14.72, p_value=0.0022, n=24, method="TWFE", unit="%",
          better="lower", detail="...; Callaway-Sant'Anna DiD disagrees"),
        f(key="program_effect_csat", section="evaluation", label="The program's effect on CSAT", estimate=0.90,
          ci_lower=-2.78, ci_upper=4.59, p_value=0.62, n=24, method="TWFE", unit="pp", better="higher"),
        f(key="program_stores", section="evaluation", label="Stores in the program", estimate=18.0, n=24.0,
          method="count", unit="stores"),
        f(key="alert_rest_1", section="segments", label="SLA share of channel email", estimate=-0.936,
          ci_lower=-0.955, ci_upper=-0.917, p_value=0.0, n=854, method="m", unit="share", better="higher",
          period="2025Q4", comparison="rest"),
    ]


def test_false_discovery_control_over_every_test_counts_repeats_once():
    sig = significance_table(_report_findings())
    # 6 distinct p-values (the detractor hazard ratio repeats the top driver); BH: q_(i) = min_j>=i m p_(j) / j
    assert sig.set_index("key").loc["churn_hr_detractor", "repeat_of"] == "churn_top_cx_driver"
    q = sig.set_index("key")["q_value"]
    assert q["csat_change"] == pytest.approx(0.0455 * 6 / 4)  # 4th smallest of 6: significant alone, not after
    assert not sig.set_index("key").loc["csat_change", "significant"]
    assert q["churn_top_cx_driver"] == q["churn_hr_detractor"]
    assert significance_rule(sig).startswith("A result is called significant only when it survives the "
                                             "false-discovery control across all 6 tests")


def test_key_messages_are_ranked_merged_and_honest():
    messages = key_messages(_report_findings())
    assert [m.importance for m in messages] == sorted((m.importance for m in messages), reverse=True)
    assert [m.section for m in messages] == ["churn", "segments", "evaluation", "metrics"]
    churn, gap, program, metrics = messages
    assert "1.75 times as often" in churn.text and "EUR 15,938 of lifetime value is at stake" in churn.text
    # a gap between segments is never told as a change over time
    assert gap.text.startswith("The email channel trails the rest") and "not a change over time" in gap.text
    assert "fell" not in gap.text and "rose" not in gap.text
    # the program: clear effects with intervals, the unclear one named, the staggered check's doubt said
    assert "complaints fell 28.8% (95% CI 14.7% to 38.5%)" in program.text
    assert "no clear effect on CSAT" in program.text and "does not confirm the effect on complaints" in program.text
    assert program.recommendation.startswith("Extend the program to the remaining 6 stores")
    # p = 0.046 alone, not significant after the control: "no clear change", never "fell" as a headline claim
    assert metrics.text.startswith("No clear change from 2025Q3 to 2025Q4 in NPS, CSAT")
    assert "does not survive the report's false-discovery control" in metrics.text
    numbers = {(k, fld): shown for m in messages for k, fld, shown in m.numbers}
    assert numbers[("program_effect_complaint_rate", "estimate")] == "28.8"
    assert numbers[("churn_top_cx_driver", "ci_upper")] == "1.95"


def test_summary_markdown_links_each_message_to_its_section():
    md = executive_summary_markdown(key_messages(_report_findings()), rule="Rule.", period="2025Q4")
    assert "([Churn](#sec-churn))" in md and "([Program evaluation](#sec-evaluation))" in md
    assert md.count("→") == 4 and md.strip().endswith("the section linked after it.*")


def test_findings_table_and_scorecard_frame():
    table = findings_table(_report_findings())
    assert len(table) == 9 and "Hazard ratio of cancelling, detractor (yes vs no)" not in table["finding"].tolist()
    row = table.set_index("finding").loc["SLA share of channel email"]
    assert (row["value"], row["95% CI"], row["verdict"]) == ("−93.6 points", "−95.5 to −91.7", "significant")
    frame, q = scorecard_frame(_report_findings())
    assert frame["key"].tolist() == ["nps_change", "csat_change", "program_effect_complaint_rate"]
    assert frame["comparison"].iloc[-1] == "comparable stores" and set(q) == set(frame["key"])


def test_demo_note_only_for_the_demo_folder(tmp_path):
    assert demo_note(tmp_path) == ""
    (tmp_path / "truth.json").write_text("{}")
    assert demo_note(tmp_path) == DEMO_NOTE == "Demo data: a simulated retailer."
