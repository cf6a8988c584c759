"""Plain-language headline sentences written from recorded findings.

The executive summary never holds hard-coded text about results: each
sentence is generated here from a :class:`cxlib.findings.Finding`, carrying
its estimate, confidence interval, p-value, method and sample size, e.g.::

    NPS rose 4.1 points from 2025Q3 to 2025Q4 (95% CI 1.2 to 7.0; p = 0.006,
    adjusted Wald, n = 1,204), significant at 5%, an improvement.

Two forms exist.  A finding with a ``comparison`` period is a *change* from
``comparison`` to ``period`` ("rose"/"fell"/"did not change"); any other
finding is a *level* ("was ... in 2025Q4").  The significance clause appears
only when a p-value was recorded and is judged at ``1 - ci_level`` (the test's
own level).  "an improvement"/"a deterioration" is added for significant
changes of findings whose ``better`` direction is known.

Units (``Finding.unit``) are shown as follows: ``"%"`` glued to the number
(percent values), ``"share"`` (a fraction in [0, 1]) multiplied by 100 and
shown with ``%``, ``"pp"`` as "percentage points", currency codes (``EUR``,
``USD``, ``GBP``) before the number, anything else after it ("4.1 points",
"12 minutes").  Numbers are rounded for reading only, by :mod:`cxlib.format`
(:func:`~cxlib.format.decimals_for` digits, an ASCII minus; p-values by the one rule of
:func:`~cxlib.format.format_p`); :func:`parse_sentence` reads them back, which is how the
tests and the pipeline check that the summary says what the notebooks found.
"""
from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from .._deprecation import warn_deprecated
from ..display import displayable
from ..escape import escape_markdown
from ..findings import Finding
from ..format import decimals_for, format_p
from ..format import format_number as _format_number
from ..periods import is_period_label

__all__ = ["Headline", "HEADLINE_COLUMNS", "format_p", "decimals_for", "sentence", "headlines", "summary_markdown",
           "parse_sentence", "REPORT_PADJUST", "SIGNIFICANCE_COLUMNS", "SECTION_ANCHORS", "DEMO_NOTE", "demo_note",
           "significance_table", "significance_rule", "KeyMessage", "message_digits", "MESSAGE_RULES", "key_messages",
           "executive_summary_markdown", "findings_table", "SCORECARD_TILES", "scorecard_frame",
           "missing_findings", "findings_hint"]

HEADLINE_COLUMNS = ("key", "section", "label", "sentence", "kind", "tone", "significant", "estimate",
                    "ci_lower", "ci_upper", "ci_level", "p_value", "n", "method", "unit")
CURRENCIES = ("EUR", "USD", "GBP")
Tone = Literal["good", "bad", "neutral"]


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def _number(x: float, decimals: int) -> str:
    """A number of a sentence (:func:`cxlib.format.format_number` with an ASCII minus, parsed back)."""
    return _format_number(float(x), decimals, minus="-")


def __getattr__(name: str) -> Any:
    if name == "format_number":  # the old sentence formatter, with an ASCII minus; deprecated for one release
        warn_deprecated("cxlib.sections.summary.format_number", "cxlib.format.format_number(x, digits, minus='-')")
        return _number
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _scale(f: Finding) -> float:
    return 100.0 if f.unit == "share" else 1.0


def _with_unit(text: str, unit: str, *, as_change: bool = False) -> str:
    if unit in ("%", "share"):
        return f"{text} percentage points" if as_change else f"{text}%"
    if unit == "pp":
        return f"{text} percentage points"
    if unit in CURRENCIES:
        return f"{unit} {text}"
    return f"{text} {unit}" if unit else text


def _level_pct(level: float) -> str:
    return f"{level * 100:g}%"


def _tone(f: Finding, significant: bool | None, change: bool) -> Tone:
    if not change or not significant or f.better == "neutral" or f.estimate == 0:
        return "neutral"
    up = f.estimate > 0
    return "good" if up == (f.better == "higher") else "bad"


def sentence(f: Finding) -> str:
    """One plain-language sentence for a finding (see the module docstring).

    >>> from cxlib.findings import Finding
    >>> sentence(Finding(key="nps_change", section="metrics", label="NPS", estimate=4.1, ci_lower=1.2,
    ...                  ci_upper=7.0, p_value=0.006, n=1204, method="adjusted Wald", unit="points",
    ...                  better="higher", period="2025Q4", comparison="2025Q3"))
    'NPS rose 4.1 points from 2025Q3 to 2025Q4 (95% CI 1.2 to 7.0; p = 0.006, adjusted Wald, n = 1,204), significant at 5%, an improvement.'
    >>> sentence(Finding(key="alert_rest_1", section="segments", label="NPS of touchpoint support", estimate=-31.4,
    ...                  ci_lower=-43.5, ci_upper=-19.4, p_value=0.0001, n=1803, method="difference of NPS",
    ...                  unit="points", better="higher", period="2025Q4", comparison="rest"))
    'NPS of touchpoint support was 31.4 points lower than the rest in 2025Q4 (95% CI -43.5 to -19.4; p < 0.001, difference of NPS, n = 1,803), significant at 5%, a deterioration.'
    >>> sentence(Finding(key="customers", section="overview", label="Customers", estimate=1500, n=1500,
    ...                  method="count", period="2025Q4"))
    'Customers was 1,500 in 2025Q4 (count, n = 1,500).'
    """
    scale = _scale(f)
    est, lo, hi = (v * scale if _finite(v) else v for v in (f.estimate, f.ci_lower, f.ci_upper))
    dec = decimals_for([est, lo, hi])
    change = bool(f.comparison)
    shown = _number(abs(est) if change else est, dec)
    if change and not is_period_label(f.comparison):
        # a contrast with a group, not a change over time: "... was 3.1 points lower than the rest in 2025Q4"
        versus = "the rest" if f.comparison == "rest" else f.comparison
        head = (f"{f.label} was {_with_unit(shown, f.unit, as_change=True)} "
                f"{'higher' if est > 0 else 'lower'} than {versus}") + (f" in {f.period}" if f.period else "")
    elif change:
        if float(shown.replace(",", "")) == 0:
            head = f"{f.label} did not change ({_with_unit(_number(0, dec), f.unit, as_change=True)})"
        else:
            verb = "rose" if est > 0 else "fell"
            head = f"{f.label} {verb} {_with_unit(shown, f.unit, as_change=True)}"
        head += f" from {f.comparison} to {f.period}" if f.period else f" since {f.comparison}"
    else:
        head = f"{f.label} was {_with_unit(shown, f.unit)}" + (f" in {f.period}" if f.period else "")
    inner = []
    if _finite(lo) and _finite(hi):
        inner.append(f"{_level_pct(f.ci_level)} CI {_number(lo, dec)} to {_number(hi, dec)}")
    elif any(isinstance(v, float) and math.isinf(v) for v in (lo, hi)):
        inner.append(f"{_level_pct(f.ci_level)} CI unbounded")
    tail = [format_p(f.p_value)] if _finite(f.p_value) else []
    tail.append(f.method)
    if _finite(f.n):
        tail.append(f"n = {_number(f.n, 0)}")
    inner.append(", ".join(tail))
    text = f"{head} ({'; '.join(inner)})"
    sig = f.significant
    if sig is not None:
        text += f", {'significant' if sig else 'not significant'} at {_level_pct(1 - f.ci_level)}"
        tone = _tone(f, sig, change)
        if tone != "neutral":
            text += ", an improvement" if tone == "good" else ", a deterioration"
    return text + "."


@displayable(fields=lambda h: {"key": h.finding.key, "section": h.finding.section,
                                "sentence": h.sentence, "tone": h.tone})
@dataclass(frozen=True)
class Headline:
    """A finding with its sentence; ``tone`` says whether it is good or bad news (``neutral`` if unknown)."""

    finding: Finding
    sentence: str
    tone: Tone

    @property
    def significant(self) -> bool | None:
        return self.finding.significant

    def to_frame(self) -> pd.DataFrame:
        f = self.finding
        row = {"key": f.key, "section": f.section, "label": f.label, "sentence": self.sentence,
               "kind": "change" if f.comparison else "level", "tone": self.tone,
               "significant": self.significant, "estimate": f.estimate, "ci_lower": f.ci_lower,
               "ci_upper": f.ci_upper, "ci_level": f.ci_level, "p_value": f.p_value, "n": f.n,
               "method": f.method, "unit": f.unit}
        return pd.DataFrame([row], columns=list(HEADLINE_COLUMNS))


def headlines(findings: Sequence[Finding], *, sort: bool = True) -> list[Headline]:
    """A :class:`Headline` per finding; with ``sort``, significant changes first, then the rest, in order.

    >>> level = Finding(key="customers", section="overview", label="Customers", estimate=10_000, method="count")
    >>> change = Finding(key="nps", section="metrics", label="NPS", estimate=4.1, ci_lower=1.2, ci_upper=7.0,
    ...                  p_value=0.006, n=1204, method="adjusted Wald", unit="points", better="higher",
    ...                  period="2025Q4", comparison="2025Q3")
    >>> [(h.finding.key, h.tone) for h in headlines([level, change])]
    [('nps', 'good'), ('customers', 'neutral')]
    """
    out = [Headline(f, sentence(f), _tone(f, f.significant, bool(f.comparison))) for f in findings]
    if sort:
        rank = {True: 0, None: 1, False: 2}
        out = sorted(out, key=lambda h: (rank[bool(h.significant) if h.significant is not None else None]
                                         if h.finding.comparison else 1))
    return out


def summary_markdown(findings: Sequence[Finding], *, section_titles: dict[str, str] | None = None) -> str:
    """Markdown for the executive summary: a "Headlines" list of significant changes, then one list per section.

    >>> from cxlib.findings import Finding
    >>> print(summary_markdown([Finding(key="k", section="overview", label="Customers", estimate=10,
    ...                                 method="count", n=10)]))
    ## Overview
    <BLANKLINE>
    - Customers was 10 (count, n = 10).
    <BLANKLINE>
    """
    titles = section_titles or {}
    heads = headlines(findings, sort=False)
    lines: list[str] = []
    top = [h for h in heads if h.finding.comparison and h.significant]
    # a sentence carries labels from data (a store id, a segment): escaped, so it shows as written
    if top:
        lines += ["## Headlines", ""] + [f"- {escape_markdown(h.sentence)}" for h in top] + [""]
    for section in dict.fromkeys(h.finding.section for h in heads):
        title = titles.get(section, section.replace("_", " ").capitalize())
        lines += [f"## {escape_markdown(title)}", ""]
        lines += [f"- {escape_markdown(h.sentence)}" for h in heads if h.finding.section == section] + [""]
    return "\n".join(lines)


_NUM = r"-?[\d,]+(?:\.\d+)?"

_SENTENCE = re.compile(
    rf"^(?P<label>.+?) (?:(?P<verb>rose|fell) |(?P<nochange>did not change \()|was )"
    rf"(?:(?P<cur>{'|'.join(CURRENCIES)}) )?(?P<est>{_NUM})(?P<unit>%| [^(]+?)??\)?"
    rf"(?: (?P<dir>higher|lower) than (?P<versus>.+?))??"
    rf"(?: from (?P<comparison>\S+) to (?P<period>\S+)| since (?P<since>\S+)| in (?P<in>\S+))? "
    rf"\((?:(?P<level>[\d.]+)% CI (?:(?P<lo>{_NUM}) to (?P<hi>{_NUM})|(?P<unbounded>unbounded)); )?"
    rf"(?:p (?P<pop>[=<]) (?P<p>[\d.]+), )?(?P<method>.+?)(?:, n = (?P<n>[\d,]+))?\)"
    rf"(?:, (?P<sig>significant|not significant) at (?P<alpha>[\d.]+)%)?(?:, (?P<tone>an improvement|a deterioration))?\.$")


def parse_sentence(text: str) -> dict[str, Any]:
    """Read the numbers back from a sentence made by :func:`sentence` (the inverse, at displayed precision).

    Returns label, estimate (signed for changes), ci_lower, ci_upper, ci_level, p_value
    (and ``p_bound`` ``"="`` or ``"<"``), n, method, significant; NaN/None where absent.

    >>> parse_sentence("NPS fell 2.0 points from 2025Q3 to 2025Q4 (95% CI -3.5 to -0.5; p = 0.012, "
    ...                "adjusted Wald, n = 980), significant at 5%, a deterioration.")["estimate"]
    -2.0
    """
    m = _SENTENCE.match(text)
    if m is None:
        raise ValueError(f"Not a summary sentence: {text!r}")
    g = m.groupdict()

    def num(s: str | None) -> float:
        return math.nan if s is None else float(s.replace(",", ""))

    est = num(g["est"])
    if g["verb"] == "fell" or g["dir"] == "lower":
        est = -est
    return {"label": g["label"], "estimate": est, "ci_lower": num(g["lo"]), "ci_upper": num(g["hi"]),
            "ci_level": num(g["level"]) / 100 if g["level"] else math.nan, "p_value": num(g["p"]),
            "p_bound": g["pop"], "n": num(g["n"]), "method": g["method"], "ci_unbounded": bool(g["unbounded"]),
            "significant": None if g["sig"] is None else g["sig"] == "significant",
            "period": g["period"] or g["in"],
            "comparison": g["comparison"] or g["since"] or ("rest" if g["versus"] == "the rest" else g["versus"])}


# ----------------------------------------------------------------------------------------------------------------
# The one-page executive summary: the report's false-discovery control and the ranked key messages
# ----------------------------------------------------------------------------------------------------------------

#: Multiple-testing control of the whole report: Benjamini-Hochberg over every recorded finding's p-value.
REPORT_PADJUST = "fdr_bh"
SIGNIFICANCE_COLUMNS = ("key", "section", "label", "estimate", "ci_lower", "ci_upper", "unit", "p_value", "q_value",
                        "significant", "repeat_of")
#: Anchor of each section's chapter (``{#sec-...}`` on the chapter heading, see
#: :func:`cxlib.report.render.assemble_notebooks`): the notebook name without its number.
SECTION_ANCHORS = {"overview": "sec-data-overview", "metrics": "sec-metrics", "journeys": "sec-journeys",
                   "churn": "sec-churn", "clv": "sec-clv", "evaluation": "sec-evaluation", "voc": "sec-voc",
                   "segments": "sec-segments"}
SECTION_NAMES = {"overview": "Data overview", "metrics": "CX metrics", "journeys": "Customer journeys",
                 "churn": "Churn", "clv": "Customer lifetime value", "evaluation": "Program evaluation",
                 "voc": "Voice of the customer", "segments": "Segments and actions"}
#: The data folder of the bundled demo carries the simulation's planted truth (written by ``cx synth``).
DEMO_MARKER = "truth.json"
DEMO_NOTE = "Demo data: a simulated retailer."


def demo_note(data_dir: str | Path) -> str:
    """The title-page note for the bundled demo data ("" for real data).

    The demo data folder is the one ``cx synth`` writes: it holds ``truth.json``, the planted
    quantities of the simulation; a real data folder never does.

    >>> demo_note("/nonexistent")
    ''
    """
    return DEMO_NOTE if (Path(data_dir) / DEMO_MARKER).is_file() else ""


def _same_number(a: Finding, b: Finding) -> bool:
    vals = [(a.estimate, b.estimate), (a.ci_lower, b.ci_lower), (a.ci_upper, b.ci_upper), (a.p_value, b.p_value)]
    return a.section == b.section and all((_finite(x) and _finite(y) and x == y) or (not _finite(x) and not _finite(y))
                                          for x, y in vals)


def significance_table(findings: Sequence[Finding], *, alpha: float = 0.05) -> pd.DataFrame:
    """Every finding with its p-value adjusted by the report's false-discovery control.

    The family is every recorded finding that carries a p-value; a finding that repeats another
    (same section, estimate, interval and p-value under a second key, e.g. "the strongest driver")
    is counted once and points to it in ``repeat_of``.  ``q_value`` is the Benjamini-Hochberg
    adjusted p-value (:func:`cxlib.stats.adjust_pvalues`, ``method="fdr_bh"``); ``significant`` is
    ``q_value < alpha`` (None without a p-value).  Findings whose p-value was already adjusted
    within their own family (the dashboard alerts) are adjusted again: conservative, never lenient.

    Returns
    -------
    pandas.DataFrame
        Columns of :data:`SIGNIFICANCE_COLUMNS`, one row per finding in the order given.

    Examples
    --------
    >>> fs = [Finding(key="a", section="s", label="A", estimate=1.0, method="m", p_value=0.01),
    ...       Finding(key="b", section="s", label="B", estimate=2.0, method="m", p_value=0.04),
    ...       Finding(key="c", section="s", label="C", estimate=1.0, method="m", p_value=0.01)]
    >>> significance_table(fs)[["key", "q_value", "significant", "repeat_of"]].values.tolist()
    [['a', 0.02, True, ''], ['b', 0.04, True, ''], ['c', 0.02, True, 'a']]
    """
    from ..stats import adjust_pvalues, check_alpha

    check_alpha(alpha)
    repeat_of: list[str] = []
    for i, f in enumerate(findings):
        first = next((g for g in findings[:i] if _same_number(f, g) and _finite(f.p_value)), None)
        repeat_of.append(first.key if first is not None else "")
    unique = [i for i, f in enumerate(findings) if not repeat_of[i]]
    q_unique = adjust_pvalues([findings[i].p_value if _finite(findings[i].p_value) else math.nan for i in unique],
                              method=REPORT_PADJUST)
    q_of = {findings[i].key: q for i, q in zip(unique, q_unique)}
    rows = []
    for f, rep in zip(findings, repeat_of):
        q = q_of.get(rep or f.key, math.nan)
        rows.append({"key": f.key, "section": f.section, "label": f.label, "estimate": f.estimate,
                     "ci_lower": f.ci_lower, "ci_upper": f.ci_upper, "unit": f.unit, "p_value": f.p_value,
                     "q_value": q, "significant": None if not _finite(q) else bool(q < alpha), "repeat_of": rep})
    return pd.DataFrame(rows, columns=list(SIGNIFICANCE_COLUMNS))


def significance_rule(table: pd.DataFrame, *, alpha: float = 0.05) -> str:
    """The report's significance rule in one sentence (stated once, in the executive summary).

    >>> significance_rule(pd.DataFrame({"q_value": [0.01, 0.2, float("nan")], "repeat_of": ["", "", ""]}))
    'A result is called significant only when it survives the false-discovery control across all 2 tests of this report (Benjamini-Hochberg, false-discovery rate 5%); other results read "no clear change".'
    """
    m = int((table["q_value"].notna() & (table["repeat_of"] == "")).sum())
    return (f"A result is called significant only when it survives the false-discovery control across all {m} tests "
            f"of this report (Benjamini-Hochberg, false-discovery rate {_level_pct(alpha)}); other results read "
            '"no clear change".')


@displayable()
@dataclass(frozen=True)
class KeyMessage:
    """One message of the executive summary: a sentence with its number and interval, and what to do.

    Attributes
    ----------
    key : str
        The lead finding's key.
    section : str
        The section that holds the detail (its chapter is linked).
    text, recommendation : str
        The message (one sentence) and the recommendation (one sentence).
    size, stake, certainty : float
        The parts of the ranking: relative size of the effect (a fraction), the weight of the value
        at stake (1 without a value in money) and ``1 - q`` (the false-discovery-adjusted p-value).
    numbers : tuple of (finding key, field, shown text)
        Every number of ``text`` and ``recommendation`` with the recorded finding it comes from.
    """

    key: str
    section: str
    text: str
    recommendation: str
    size: float
    stake: float
    certainty: float
    numbers: tuple[tuple[str, str, str], ...] = ()

    @property
    def importance(self) -> float:
        """size x value at stake x certainty."""
        return self.size * self.stake * self.certainty

    def markdown(self, *, link: bool = True) -> str:
        """The message in bold, the recommendation after an arrow, and a link to the section."""
        where = ""
        if link and self.section in SECTION_ANCHORS:
            where = f" ([{SECTION_NAMES[self.section]}](#{SECTION_ANCHORS[self.section]}))"
        from ..escape import escape_markdown  # names from the data (touchpoints, channels) reach the reader as text

        return f"**{escape_markdown(self.text)}**{where}  \n→ *{escape_markdown(self.recommendation)}*"


class _Numbers:
    """Formats the numbers of one message (:mod:`cxlib.format`) and remembers where each came from."""

    def __init__(self) -> None:
        self.used: list[tuple[str, str, str]] = []

    def value(self, f: Finding, field: str = "estimate", *, magnitude: bool = False, digits: int | None = None,
              unit: bool = True) -> str:
        x = getattr(f, field)
        x = abs(x) if magnitude else x
        dec = message_digits(f) if digits is None else digits
        text = _format_number(x, dec)
        self.used.append((f.key, field, text))
        return _message_unit(text, f.unit) if unit else text

    def ci(self, f: Finding, *, magnitude: bool = False) -> str:
        lo, hi = f.ci_lower, f.ci_upper
        if not (_finite(lo) and _finite(hi)):
            return "no interval"
        fields = ("ci_lower", "ci_upper")
        if magnitude and f.estimate < 0:
            lo, hi, fields = -hi, -lo, ("ci_upper", "ci_lower")
        dec = message_digits(f)
        a, b = _format_number(lo, dec), _format_number(hi, dec)
        self.used += [(f.key, fields[0], a), (f.key, fields[1], b)]
        suffix = "%" if f.unit == "%" else ""
        return f"{_level_pct(f.ci_level)} CI {a}{suffix} to {b}{suffix}"


def message_digits(f: Finding) -> int:
    """Decimals of a number in the executive summary: money none, ratios two, else three significant digits.

    >>> message_digits(Finding(key="clv_total", section="clv", label="CLV", estimate=350514.2, method="m", unit="EUR"))
    0
    >>> message_digits(Finding(key="churn_hr_x", section="churn", label="Hazard ratio", estimate=1.7494, method="m"))
    2
    """
    if f.unit in CURRENCIES:
        return 0
    if "hazard ratio" in f.label.lower():
        return 2
    return decimals_for([f.estimate, f.ci_lower, f.ci_upper])


def _message_unit(text: str, unit: str) -> str:
    if unit == "%":
        return f"{text}%"
    if unit in ("pp", "share"):
        return f"{text} points"
    if unit in CURRENCIES:
        return f"{unit} {text}"
    return text if unit in ("", "rows", "alerts") else f"{text} {unit}"


def _readable(name: str) -> str:
    """A data name for reading: ``fitting_room_wait`` -> ``fitting-room wait``."""
    words = str(name).replace("-", " ").split("_")
    return ("-".join(words[:-1]) + " " + words[-1]) if len(words) > 2 else " ".join(words)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def _q(sig: pd.DataFrame, key: str) -> float:
    row = sig.loc[sig["key"] == key, "q_value"]
    return float(row.iloc[0]) if len(row) and _finite(float(row.iloc[0])) else math.nan


def _certainty(sig: pd.DataFrame, f: Finding) -> float:
    q = _q(sig, f.key)
    if _finite(q):
        return 1.0 - q
    null = 1.0 if "ratio" in f.label.lower() else 0.0
    excludes = _finite(f.ci_lower) and _finite(f.ci_upper) and not (f.ci_lower <= null <= f.ci_upper)
    return 1.0 if excludes else 0.5


def _significant(sig: pd.DataFrame, f: Finding) -> bool:
    row = sig.loc[sig["key"] == f.key, "significant"]
    return bool(len(row)) and row.iloc[0] is not None and not pd.isna(row.iloc[0]) and bool(row.iloc[0])


def _stake_weight(eur: float) -> float:
    """1 + log10(1 + value / 1,000): a value at stake in money weighs a message up, by orders of magnitude."""
    return 1.0 + math.log10(1.0 + max(float(eur), 0.0) / 1000.0) if _finite(eur) else 1.0


def _program_message(by_key: dict[str, Finding], sig: pd.DataFrame, alpha: float) -> list[KeyMessage]:
    effects = [f for k, f in by_key.items() if k.startswith("program_effect_") and _finite(f.estimate)]
    if not effects:
        return []
    num = _Numbers()
    clear = sorted((f for f in effects if _significant(sig, f)), key=lambda f: -abs(f.estimate))
    unclear = [f for f in effects if f not in clear]
    stores = by_key.get("program_stores")
    where = "Where the program ran"
    if stores is not None and _finite(stores.n):
        where += f" ({num.value(stores, unit=False)} of {num.value(stores, 'n', digits=0, unit=False)} stores)"
    outcome = lambda f: _lower_first(f.label.removeprefix("The program's effect on ").strip())  # noqa: E731
    parts = [f"{outcome(f)} {'rose' if f.estimate > 0 else 'fell'} {num.value(f, magnitude=True)} "
             f"({num.ci(f, magnitude=True)})" for f in clear]
    if parts:
        text = f"{where}, " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0])
        text += " against comparable stores"
        if unclear:
            text += f"; no clear effect on {', '.join(outcome(f) for f in unclear)}"
        unconfirmed = [f for f in clear if "disagrees" in f.detail]
        if unconfirmed:
            text += (f"; the staggered-rollout check does not confirm the effect on "
                     f"{' and '.join(outcome(f) for f in unconfirmed)}")
    else:
        text = f"{where}, no effect on {', '.join(outcome(f) for f in effects)} is clear yet against comparable stores"
    worse = [f for f in clear if (f.estimate > 0) != (f.better == "higher") and f.better != "neutral"]
    if worse:
        rec = f"Review the program before extending it: {', '.join(outcome(f) for f in worse)} worsened."
    elif clear:
        rest = ""
        if stores is not None and _finite(stores.n) and stores.n > stores.estimate:
            rest = f" to the remaining {_format_number(stores.n - stores.estimate, 0)} stores"
            num.used.append(("program_stores", "n - estimate", _format_number(stores.n - stores.estimate, 0)))
        rec = f"Extend the program{rest}, keeping a few stores as comparison until the effects are confirmed."
    else:
        rec = "Keep evaluating: re-estimate the effects next quarter, when more months after the rollout are in."
    size = sum(abs(f.estimate) / 100 for f in clear) if clear else max(abs(f.estimate) / 100 for f in effects)
    certainty = float(np.mean([_certainty(sig, f) for f in (clear or effects)]))
    lead = (clear or effects)[0]
    return [KeyMessage(lead.key, lead.section, text + ".", rec, size, 1.0, certainty, tuple(num.used))]


def _churn_message(by_key: dict[str, Finding], sig: pd.DataFrame, alpha: float) -> list[KeyMessage]:
    driver = by_key.get("churn_top_cx_driver")
    if driver is None or not _finite(driver.estimate):
        return []
    num = _Numbers()
    m = re.search(r"\((.+?)(?: \(yes vs no\))?\), hazard ratio$", driver.label)
    who = f"members flagged '{m.group(1)}'" if m else "members with the strongest experience driver"
    times = num.value(driver, unit=False)
    if _significant(sig, driver):
        text = (f"Experience drives cancellations: {who} cancel their membership {times} times as often as others "
                f"(hazard ratio, {num.ci(driver)})")
    else:
        text = (f"No experience driver of cancellations is clear: {who} cancel {times} times as often as others "
                f"({num.ci(driver)}), within the noise")
    at_risk = by_key.get("clv_at_risk")
    stake = math.nan
    if at_risk is not None and _finite(at_risk.estimate):
        stake = at_risk.estimate
        text += f"; {num.value(at_risk)} of lifetime value is at stake ({num.ci(at_risk)})"
    rows, value = by_key.get("action_churn_risk_rows"), by_key.get("action_churn_risk_value")
    detractors = by_key.get("action_detractors_rows")
    recs = []
    if rows is not None and _finite(rows.estimate):
        recs.append(f"run the retention action on the {num.value(rows)} members of the churn-risk list"
                    + (f" (expected {num.value(value)} kept under the list's stated save rate)"
                       if value is not None and _finite(value.estimate) else ""))
    if detractors is not None and _finite(detractors.estimate):
        recs.append(f"call back the {num.value(detractors)} detractors")
    rec = (" and ".join(recs) + ".") if recs else "Target retention at the members the churn model ranks highest."
    rec = rec[:1].upper() + rec[1:]
    size = abs(driver.estimate - 1.0)
    return [KeyMessage(driver.key, driver.section, text + ".", rec, size, _stake_weight(stake),
                       _certainty(sig, driver), tuple(num.used))]


def _gap_message(by_key: dict[str, Finding], sig: pd.DataFrame, alpha: float) -> list[KeyMessage]:
    gaps = [f for k, f in by_key.items() if k.startswith("alert_rest_") and _finite(f.estimate)
            and _significant(sig, f)]
    if not gaps:
        return []
    num = _Numbers()
    groups: dict[str, list[Finding]] = {}
    for f in gaps:
        groups.setdefault(f.label.split(" of ", 1)[-1], []).append(f)
    cell, found = next(iter(groups.items()))
    found = found[:2]
    scale = lambda f: 100.0 if f.unit == "share" else 1.0  # noqa: E731

    def part(f: Finding) -> str:
        shown = Finding(**{**f.__dict__, "estimate": f.estimate * scale(f), "ci_lower": f.ci_lower * scale(f),
                           "ci_upper": f.ci_upper * scale(f), "unit": "pp" if f.unit == "share" else f.unit})
        what = METRIC_PHRASES.get(f.label.split(" of ", 1)[0], _lower_first(f.label.split(" of ", 1)[0]))
        return (f"{what} {num.value(shown, magnitude=True)} {'below' if f.estimate < 0 else 'above'} the rest "
                f"({num.ci(shown, magnitude=True)})")

    parts = [part(f) for f in found]
    name = _cell_name(cell)
    text = (f"{name[:1].upper() + name[1:]} trails the rest of the business in {found[0].period}: "
            + " and ".join(parts) + "; a gap between segments this quarter, not a change over time")
    breaches = by_key.get("action_sla_breaches_rows")
    if breaches is not None and _finite(breaches.estimate) and any("sla" in f.label.lower() for f in found):
        rec = (f"Work off the {num.value(breaches)} open tickets past the SLA and give {name} the staffing and "
               "targets of the other channels.")
    else:
        rec = f"Find out why {name} trails the others and set it a target for next quarter."
    lead = found[0]
    size = max(abs(f.estimate) * (1.0 if f.unit == "share" else 0.01) for f in found)
    return [KeyMessage(lead.key, lead.section, text + ".", rec, size, 1.0, _certainty(sig, lead), tuple(num.used))]


def _fail_point_message(by_key: dict[str, Finding], sig: pd.DataFrame, alpha: float) -> list[KeyMessage]:
    f = by_key.get("journey_top_fail_point")
    if f is None or not _finite(f.estimate) or not _significant(sig, f):
        return []
    num = _Numbers()
    m = re.search(r"touchpoint=([^;]+)", f.detail) or re.search(r"after '([^']+)'", f.label)
    where = _readable(m.group(1)) if m else "the top fail point"
    text = (f"Journeys are lost at the {where}: after it {num.value(f, magnitude=True)} more journeys are abandoned "
            f"than after other touchpoints ({num.ci(f, magnitude=True)})")
    rec = f"Shorten the {where}: it is the step where the most journeys end without a purchase."
    return [KeyMessage(f.key, f.section, text + ".", rec, abs(f.estimate) / 100, 1.0, _certainty(sig, f),
                       tuple(num.used))]


def _metrics_message(by_key: dict[str, Finding], sig: pd.DataFrame, alpha: float) -> list[KeyMessage]:
    changes = [f for f in by_key.values() if f.comparison and is_period_label(f.comparison) and _finite(f.p_value)
               and f.section in ("metrics", "journeys")]
    if not changes:
        return []
    out = []
    for f in changes:
        if not _significant(sig, f):
            continue
        num = _Numbers()
        good = (f.estimate > 0) == (f.better == "higher")
        text = (f"{f.label} {'rose' if f.estimate > 0 else 'fell'} {num.value(f, magnitude=True)} from "
                f"{f.comparison} to {f.period} ({num.ci(f)}), {'an improvement' if good else 'a deterioration'}")
        rec = (f"Keep what lifted {f.label}." if good else
               f"Find what pulled {f.label} down: see its segments and verbatims before next quarter.")
        out.append(KeyMessage(f.key, f.section, text + ".", rec, _relative_change(f, by_key), 1.0,
                              _certainty(sig, f), tuple(num.used)))
    quiet = [f for f in changes if not _significant(sig, f)]
    if quiet:
        num = _Numbers()
        closest = min(quiet, key=lambda f: f.p_value)
        names = ", ".join(dict.fromkeys(_lower_first(_short_label(f.label)) for f in quiet))
        moved = "rose" if closest.estimate > 0 else "fell"
        text = (f"No clear change from {closest.comparison} to {closest.period} in {names}: the closest to a change, "
                f"{_short_label(closest.label)}, {moved} {num.value(closest, magnitude=True)} "
                f"({num.ci(closest, magnitude=True)}; "
                f"unadjusted {format_p(closest.p_value)}), which does not survive the report's false-discovery control")
        rec = (f"Hold course on the experience metrics and watch {_short_label(closest.label)} next quarter; "
               "do not act on this quarter's small moves.")
        out.append(KeyMessage(closest.key, closest.section, text + ".", rec, _relative_change(closest, by_key), 1.0,
                              _certainty(sig, closest), tuple(num.used)))
    return out


#: How an alert's metric reads in a sentence ("SLA share of channel email" -> "tickets answered within the SLA").
METRIC_PHRASES = {"SLA share": "tickets answered within the SLA", "Resolved within 24 h": "tickets resolved within 24 h",
                  "NPS": "NPS", "CSAT": "CSAT", "CES": "CES", "Conversion": "journey conversion",
                  "Churn": "membership churn"}


def _cell_name(cell: str) -> str:
    """An alert's cell for a sentence: ``channel email`` -> ``the email channel``.

    >>> _cell_name("channel email"), _cell_name("loyalty_tier bronze"), _cell_name("store")
    ('the email channel', 'the bronze loyalty tier', 'store')
    """
    parts = cell.split(" ", 1)
    if len(parts) < 2:
        return _readable(cell)
    dimension, value = parts
    return f"the {_readable(value)} {_readable(dimension)}"


def _short_label(label: str) -> str:
    return re.sub(r"\s*\(.*\)$", "", label).removeprefix("The ").strip()


def _relative_change(f: Finding, by_key: dict[str, Finding]) -> float:
    level = by_key.get(f.key.removesuffix("_change"))
    scale = 100.0 if f.unit == "share" else 1.0
    if level is not None and _finite(level.estimate) and level.estimate - f.estimate * scale != 0:
        base = level.estimate * (100.0 if level.unit == "share" else 1.0) - f.estimate * scale
        return abs(f.estimate * scale / base)
    return abs(f.estimate) / 100.0


MESSAGE_RULES = (_program_message, _churn_message, _gap_message, _fail_point_message, _metrics_message)


def key_messages(findings: Sequence[Finding], *, alpha: float = 0.05, max_messages: int = 5,
                 significance: pd.DataFrame | None = None) -> list[KeyMessage]:
    """The executive summary's key messages, most important first (at most ``max_messages``).

    Each rule of :data:`MESSAGE_RULES` reads the findings it knows (the program effects, the
    churn driver with the value at stake and the action lists, the largest segment gap, the top
    journey fail point, the quarter-on-quarter changes of the experience metrics) and writes one
    sentence from their numbers; findings that say the same thing are merged into one message.
    Importance is ``size x stake x certainty``: the relative size of the effect (relative effects,
    hazard ratio minus 1, percentage points over 100, a change over its base level), the weight
    ``1 + log10(1 + EUR / 1,000)`` of the value at stake in money the message carries (1 without
    one) and ``1 - q`` with ``q`` the false-discovery-adjusted p-value of :func:`significance_table`.

    Examples
    --------
    >>> fs = [Finding(key="program_effect_returns", section="evaluation", label="The program's effect on returns",
    ...               estimate=-25.5, ci_lower=-31.8, ci_upper=-18.3, p_value=1e-5, n=24, method="TWFE", unit="%",
    ...               better="lower")]
    >>> m = key_messages(fs)[0]
    >>> m.text
    'Where the program ran, returns fell 25.5% (95% CI 18.3% to 31.8%) against comparable stores.'
    >>> m.recommendation
    'Extend the program, keeping a few stores as comparison until the effects are confirmed.'
    """
    sig = significance if significance is not None else significance_table(findings, alpha=alpha)
    by_key = {f.key: f for f in findings}
    messages = [m for rule in MESSAGE_RULES for m in rule(by_key, sig, alpha)]
    messages.sort(key=lambda m: -m.importance)
    return messages[:max_messages]


def executive_summary_markdown(messages: Sequence[KeyMessage], *, rule: str = "", period: str = "",
                               comparison: str = "", alpha: float = 0.05) -> str:
    """Markdown of the executive summary: one line of scope, the numbered messages, the significance rule.

    >>> m = KeyMessage("k", "evaluation", "Returns fell 25%.", "Extend the program.", 0.25, 1.0, 1.0)
    >>> print(executive_summary_markdown([m], period="2025Q4", comparison="2025Q3"))
    What happened in 2025Q4 against 2025Q3, how sure we are, and what to do next, most important first.
    <BLANKLINE>
    1. **Returns fell 25%.** ([Program evaluation](#sec-evaluation))  
       → *Extend the program.*
    <BLANKLINE>
    """
    scope = "What happened" + (f" in {period}" if period else "") + (f" against {comparison}" if comparison else "")
    lines = [f"{scope}, how sure we are, and what to do next, most important first.", ""]
    for i, m in enumerate(messages, start=1):
        lines.append(f"{i}. " + m.markdown().replace("\n", "\n   "))
    lines.append("")
    if rule:
        lines += [f"*{rule} Intervals are {_level_pct(1 - alpha)} confidence intervals; each number comes from "
                  "the section linked after it.*", ""]
    return "\n".join(lines)


def findings_table(findings: Sequence[Finding], *, alpha: float = 0.05,
                   significance: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every recorded finding for the appendix: section, finding, value, interval, p, q and verdict.

    Value and interval (95% unless the cell names another level) are written by :mod:`cxlib.format` at the precision of the executive
    summary (:func:`message_digits`; shares in percent), so a number reads the same in both;
    p and q stay numbers for the report table.  Repeats are dropped (their first occurrence stays).

    >>> fs = [Finding(key="a", section="metrics", label="CSAT change", estimate=-3.34, ci_lower=-6.61,
    ...               ci_upper=-0.07, p_value=0.046, method="m", unit="pp")]
    >>> findings_table(fs).iloc[0][["section", "value", "95% CI", "verdict"]].tolist()
    ['CX metrics', '−3.3 points', '−6.6 to −0.1', 'significant']
    """
    from ..format import format_ci

    sig = significance if significance is not None else significance_table(findings, alpha=alpha)
    by_key = {f.key: f for f in findings}
    rows = []
    for r in sig[sig["repeat_of"] == ""].itertuples(index=False):
        f = by_key[r.key]
        if f.unit == "share":
            f = Finding(**{**f.__dict__, "estimate": 100 * f.estimate, "ci_lower": 100 * f.ci_lower,
                           "ci_upper": 100 * f.ci_upper, "unit": "pp" if f.comparison else "%"})
        dec = message_digits(f)
        verdict = MISSING_VERDICT if r.significant is None or pd.isna(r.significant) else (
            "significant" if r.significant else "no clear effect")
        rows.append({"section": SECTION_NAMES.get(f.section, f.section), "finding": f.label,
                     "value": _message_unit(_format_number(f.estimate, dec), f.unit),
                     "95% CI": "" if not (_finite(f.ci_lower) and _finite(f.ci_upper)) else
                     ("" if f.ci_level == 0.95 else f"{_level_pct(f.ci_level)}: ")
                     + format_ci(f.ci_lower, f.ci_upper, dec),
                     "p": r.p_value, "q (BH)": r.q_value, "verdict": verdict})
    return pd.DataFrame(rows, columns=["section", "finding", "value", "95% CI", "p", "q (BH)", "verdict"])


MISSING_VERDICT = "no test"


#: The scorecard's tiles: (finding key, label on the tile), alternatives separated by ``|`` (the first recorded
#: one is shown); the program tile is added by :func:`scorecard_frame`.
SCORECARD_TILES = (("nps_change", "NPS"), ("csat_change", "CSAT (top-2-box share)"),
                   ("ces_change", "CES (effort, 1 = very easy)"),
                   ("churn_rate_change|churn_retention_12m", "Membership churn rate|12-month membership retention"),
                   ("clv_median", "Median customer lifetime value"),
                   ("sla_share_change", "First response within the SLA target"),
                   ("journey_conversion_change", "Journey conversion"))


def scorecard_frame(findings: Sequence[Finding], *, alpha: float = 0.05,
                    significance: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, float]]:
    """The scorecard's findings (tile order, short labels) and their false-discovery-adjusted p-values.

    Tiles: NPS, CSAT, CES, churn, median CLV, first response within the SLA, journey conversion
    (:data:`SCORECARD_TILES`, each when recorded) and the program's largest clear effect (else its
    first effect).  Methods are left off the tiles (the sections name them).

    Returns
    -------
    (frame, q_values)
        ``frame`` has the columns of :data:`cxlib.findings.FINDING_COLUMNS`; ``q_values`` maps a
        finding key to its ``q_value`` for :func:`cxlib.report.scorecard.scorecard_figure`.

    Examples
    --------
    >>> fs = [Finding(key="nps_change", section="metrics", label="NPS", estimate=-2.0, ci_lower=-7.7,
    ...               ci_upper=3.6, p_value=0.48, method="m", unit="points", period="2025Q4", comparison="2025Q3")]
    >>> frame, q = scorecard_frame(fs)
    >>> frame[["key", "label", "method"]].values.tolist(), q
    ([['nps_change', 'NPS', '']], {'nps_change': 0.48})
    """
    from ..findings import to_frame

    sig = significance if significance is not None else significance_table(findings, alpha=alpha)
    by_key = {f.key: f for f in findings}
    chosen = []
    for keys, labels in SCORECARD_TILES:
        shown = [(k, label) for k, label in zip(keys.split("|"), labels.split("|")) if k in by_key]
        if shown:
            chosen.append(_tile(by_key[shown[0][0]], shown[0][1]))
    effects = [f for f in findings if f.key.startswith("program_effect_") and _finite(f.estimate)]
    if effects:
        clear = [f for f in effects if _significant(sig, f)]
        lead = max(clear, key=lambda f: abs(f.estimate)) if clear else effects[0]
        what = _short_label(lead.label.removeprefix("The program's effect on "))
        chosen.append(Finding(**{**lead.__dict__, "label": f"Program effect: {what}", "method": "",
                                 "detail": "", "comparison": "comparable stores"}))
    q = {TREND_KEYS.get(k, k): float(v) for k, v in zip(sig["key"], sig["q_value"]) if _finite(float(v))}
    return to_frame(chosen), {f.key: q[f.key] for f in chosen if f.key in q}


#: Findings whose sparkline in the metrics trends sidecar has another key.
TREND_KEYS = {"journey_conversion_change": "conversion_rate_change"}


def _tile(f: Finding, label: str) -> Finding:
    """A finding as a tile shows it: short label, no method, shares in percentage points, the trends' key."""
    change = {"label": label, "method": "", "key": TREND_KEYS.get(f.key, f.key)}
    if f.unit == "share":
        change.update(estimate=100 * f.estimate, ci_lower=100 * f.ci_lower, ci_upper=100 * f.ci_upper,
                      unit="pp" if f.comparison else "%")
    return Finding(**{**f.__dict__, **change})


def missing_findings(findings_dir: str | Path, *, notebooks_dir: str | Path = ".") -> list[str]:
    """The analysis notebooks of ``notebooks_dir`` whose findings sidecar ``<notebook>.json`` is not in ``findings_dir``.

    The analysis notebooks are every ``*.ipynb`` but the executive summary (``99_*``); ``cx report`` records
    their findings in ``findings_dir`` before it runs the summary.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     for name in ("10_metrics.ipynb", "20_journeys.ipynb", "99_executive_summary.ipynb"):
    ...         _ = (Path(d) / name).write_text("{}")
    ...     _ = (Path(d) / "10_metrics.json").write_text("[]")
    ...     missing_findings(d, notebooks_dir=d)
    ['20_journeys']
    """
    folder = Path(findings_dir)
    return [nb.stem for nb in sorted(Path(notebooks_dir).glob("*.ipynb"))
            if not nb.stem.startswith("99_") and not (folder / f"{nb.stem}.json").is_file()]


def findings_hint(findings_dir: str | Path, *, notebooks_dir: str | Path = ".") -> str:
    """What the executive summary says when opened by hand: which notebooks must run first ("" when none).

    The summary is written from the findings the other notebooks recorded; opened in JupyterLab it reads those
    of the last report (``reports/_output/findings``).  When some are missing, this sentence names the
    notebooks and how to record them, and the summary goes on with the findings that exist.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = (Path(d) / "10_metrics.ipynb").write_text("{}")
    ...     print(findings_hint(Path(d) / "findings", notebooks_dir=d).split(". ")[0].replace(d, "DIR"))
    No findings in DIR/findings from 1 of the 1 analysis notebooks: 10_metrics
    """
    missing = missing_findings(findings_dir, notebooks_dir=notebooks_dir)
    if not missing:
        return ""
    total = sum(1 for nb in Path(notebooks_dir).glob("*.ipynb") if not nb.stem.startswith("99_"))
    return (f"No findings in {findings_dir} from {len(missing)} of the {total} analysis notebooks: "
            f"{', '.join(missing)}. Run `make report` first (it runs every notebook and records their findings "
            f"there), or run those notebooks with findings_path = \"{findings_dir}/<notebook>.json\"; the summary "
            "below uses the findings that exist.")
