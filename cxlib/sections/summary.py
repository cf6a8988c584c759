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
from typing import Any, Literal

import pandas as pd

from .._deprecation import warn_deprecated
from ..findings import Finding
from ..format import decimals_for, format_p
from ..format import format_number as _format_number
from ..periods import is_period_label

__all__ = ["Headline", "HEADLINE_COLUMNS", "format_p", "decimals_for", "sentence", "headlines", "summary_markdown",
           "parse_sentence"]

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
    """A :class:`Headline` per finding; with ``sort``, significant changes first, then the rest, in order."""
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
    if top:
        lines += ["## Headlines", ""] + [f"- {h.sentence}" for h in top] + [""]
    for section in dict.fromkeys(h.finding.section for h in heads):
        title = titles.get(section, section.replace("_", " ").capitalize())
        lines += [f"## {title}", ""]
        lines += [f"- {h.sentence}" for h in heads if h.finding.section == section] + [""]
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
