"""Power and sample size: respondents for a margin of error, per group for a change, and the MDE."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from ..display import displayable
from ..errors import ParameterError, check_choice
from ..format import format_significant as fmt
from ..metrics.survey import recode_nps
from ..stats import (
    Segment,
    as_frame,
    check_segment,
    group_index,
    iter_groups,
    numeric_values,
    split_moved_to_by_segment,
    z_critical,
)

#: Columns of every power result, in this order.
POWER_COLUMNS = ("metric", "question", "n_a", "n_b", "margin", "difference", "sd", "alpha", "power", "alternative",
                 "method", "reading")


@displayable()
@dataclass(frozen=True, kw_only=True)
class PowerResult:
    """A sample size, margin of error or minimum detectable effect, with the assumptions behind it.

    Attributes
    ----------
    metric : str
        Metric key (its unit is that of ``sd``: NPS points, CSAT share, CES scale points).
    question : str
        ``"sample_size_margin"``, ``"sample_size_difference"``, ``"margin_of_error"`` or ``"mde"``.
    n_a, n_b : float
        Respondents (per group for a difference; ``n_b`` NaN for a margin).
    margin, difference : float
        Half-width of the interval, and the difference to detect (the MDE for ``"mde"``).
    sd : float
        Per-respondent standard deviation assumed.
    alpha, power : float
        Significance level and power (NaN for a margin, which has no power).
    alternative : str
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    method, reading : str
        Formula in words, and one plain sentence.
    """

    metric: str
    question: str
    n_a: float
    n_b: float = math.nan
    margin: float = math.nan
    difference: float = math.nan
    sd: float
    alpha: float
    power: float = math.nan
    alternative: str = "two-sided"
    method: str
    reading: str = ""

    def to_frame(self) -> pd.DataFrame:
        """This result as a one-row frame with the columns of :data:`POWER_COLUMNS`."""
        return pd.DataFrame([asdict(self)], columns=list(POWER_COLUMNS))


def nps_sd(promoters: float, detractors: float) -> float:
    """Per-respondent SD of the NPS in points from the promoter and detractor shares.

    Notes
    -----
    The recoded score takes +100, 0, -100, so its variance is
    :math:`100^2 [p + d - (p - d)^2]`.

    >>> round(nps_sd(0.5, 0.2), 2)
    78.1
    """
    if not (0 <= promoters <= 1 and 0 <= detractors <= 1 and promoters + detractors <= 1):
        raise ParameterError(f"promoters={promoters!r} and detractors={detractors!r} must be shares summing to <= 1.")
    return float(100 * math.sqrt(promoters + detractors - (promoters - detractors) ** 2))


@split_moved_to_by_segment("cxlib.significance")
def respondent_sd(data: Any, *, metric: Literal["nps", "csat", "ces"], col: str | None = None,
                  segment: Segment = None) -> float:
    """Per-respondent SD of a metric from data (NPS in points, CSAT on the 0..1 share scale, CES raw).

    Per segment, :func:`cxlib.significance.by_segment` gives a Series named ``"sd"`` indexed by the segment
    levels, each the SD of that level's responses (for the sample sizes of segment comparisons).

    >>> round(respondent_sd([10] * 50 + [8] * 30 + [3] * 20, metric="nps"), 2)
    78.5
    >>> from cxlib.significance import by_segment
    >>> df = pd.DataFrame({"nps": [10, 0] * 4 + [10] * 7 + [9], "tier": ["a"] * 8 + ["b"] * 8})
    >>> by_segment(respondent_sd, df, segment="tier", metric="nps").round(1).to_dict()
    {'a': 106.9, 'b': 0.0}
    """
    check_choice("metric", metric, ("nps", "csat", "ces"))
    col = col or metric
    frame = as_frame(data, col)
    if segment is not None:
        keys = check_segment(frame, segment)
        index, values = [], []
        for key, sub in iter_groups(frame, keys):
            index.append(key)
            values.append(respondent_sd(sub, metric=metric, col=col))
        return pd.Series(values, index=group_index(keys, index), name="sd", dtype=float)
    scales = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}
    x = numeric_values(frame, col, low=scales[metric][0], high=scales[metric][1], integer=True)
    if x.size < 2:
        raise ParameterError(f"respondent_sd needs at least 2 {metric} responses; found {x.size}.")
    y = recode_nps(x) if metric == "nps" else ((x >= 4).astype(float) if metric == "csat" else x)
    return float(np.std(y, ddof=1))


def _positive(**values: Any) -> None:
    for name, value in values.items():
        if not (isinstance(value, (int, float, np.floating, np.integer)) and value > 0 and math.isfinite(value)):
            raise ParameterError(f"{name}={value!r} must be a positive finite number.")


def sample_size(*, sd: float, margin: float | None = None, difference: float | None = None, alpha: float = 0.05,
                power: float = 0.8, ratio: float = 1.0, alternative: str = "two-sided",
                metric: str = "") -> PowerResult:
    """Respondents needed for a margin of error, or per group to detect a difference.

    Parameters
    ----------
    sd : float
        Per-respondent standard deviation in the metric's unit (:func:`respondent_sd` from last
        period's data, or :func:`nps_sd` from assumed shares).
    margin : float, optional
        Desired half-width of the ``1 - alpha`` interval of one estimate.
    difference : float, optional
        Smallest difference between two independent groups worth detecting (give exactly one of
        ``margin`` and ``difference``).
    alpha : float
        Significance level (two-sided by default).
    power : float
        Probability of detecting ``difference`` when it is real (0.8 by convention).
    ratio : float
        ``n_b / n_a`` for unequal groups.
    alternative : {"two-sided", "greater", "less"}
        One-sided tests need fewer respondents.
    metric : str
        Label carried into the result.

    Returns
    -------
    PowerResult
        ``n_a`` (and ``n_b``) rounded up to whole respondents.

    Notes
    -----
    Margin: :math:`n = (z_{1-\\alpha/2}\\,\\sigma / m)^2`. Difference:
    :math:`n_a = (z_{1-\\alpha/2} + z_{1-\\beta})^2 \\sigma^2 (1 + 1/r) / \\Delta^2`, :math:`n_b = r n_a`
    (normal approximation, the same variance in both groups).

    References
    ----------
    Chow, S.-C., Shao, J. & Wang, H. (2008). Sample Size Calculations in Clinical Research, 2nd ed., section 3.2.

    Examples
    --------
    >>> sample_size(sd=80.0, margin=5.0, metric="nps").n_a
    984.0
    >>> sample_size(sd=80.0, difference=10.0, metric="nps").n_a
    1005.0
    """
    if (margin is None) == (difference is None):
        raise ParameterError("Give exactly one of margin= (precision of one estimate) and difference= (a change).")
    _positive(sd=sd, ratio=ratio)
    if margin is not None:
        _positive(margin=margin)
        z = z_critical(alpha, "two-sided")
        n = math.ceil((z * sd / margin) ** 2 - 1e-9)
        text = f"n = (z sd / margin)^2 with z = {z:.4f}"
        return PowerResult(metric=metric, question="sample_size_margin", n_a=float(n), margin=float(margin),
                           sd=float(sd),
                           alpha=alpha, method=text,
                           reading=f"{n} respondents give a {100 * (1 - alpha):g}% margin of error of +/- "
                                   f"{fmt(margin)} when the per-respondent SD is {fmt(sd)}.")
    _positive(difference=abs(difference))
    if not 0 < power < 1:
        raise ParameterError(f"power={power!r} must lie strictly between 0 and 1 (0.8 by convention).")
    z = z_critical(alpha, alternative) + float(stats.norm.ppf(power))
    n_a = math.ceil(z**2 * sd**2 * (1 + 1 / ratio) / difference**2 - 1e-9)
    n_b = math.ceil(ratio * n_a - 1e-9)
    return PowerResult(metric=metric, question="sample_size_difference", n_a=float(n_a), n_b=float(n_b),
                       difference=float(difference), sd=float(sd), alpha=alpha, power=power, alternative=alternative,
                       method="n_a = (z_alpha + z_power)^2 sd^2 (1 + 1/ratio) / difference^2 (normal approximation)",
                       reading=f"Detecting a change of {fmt(abs(difference))} with {100 * power:g}% power at alpha = "
                               f"{alpha:g} needs {n_a} respondents in one group and {n_b} in the other.")


def minimum_detectable_effect(*, sd: float, n_a: float, n_b: float | None = None, alpha: float = 0.05,
                              power: float = 0.8, alternative: str = "two-sided", metric: str = "") -> PowerResult:
    """The smallest difference the current samples detect with the given power (the MDE).

    Put it beside every non-significant comparison: "no significant change" means little when the
    MDE is larger than any change that would matter.

    Notes
    -----
    :math:`\\mathrm{MDE} = (z_{1-\\alpha/2} + z_{1-\\beta})\\,\\sigma\\sqrt{1/n_a + 1/n_b}`; with ``n_b`` None,
    the one-sample MDE against a fixed value, :math:`(z_{1-\\alpha/2} + z_{1-\\beta})\\sigma/\\sqrt{n_a}`.

    Examples
    --------
    >>> round(minimum_detectable_effect(sd=80.0, n_a=1005, n_b=1005).difference, 2)
    10.0
    """
    _positive(sd=sd, n_a=n_a)
    if n_b is not None:
        _positive(n_b=n_b)
    if not 0 < power < 1:
        raise ParameterError(f"power={power!r} must lie strictly between 0 and 1 (0.8 by convention).")
    z = z_critical(alpha, alternative) + float(stats.norm.ppf(power))
    mde = z * sd * math.sqrt(1 / n_a + (1 / n_b if n_b is not None else 0.0))
    nb_text = f" and {fmt(n_b, 6)}" if n_b is not None else ""
    return PowerResult(metric=metric, question="mde", n_a=float(n_a), n_b=float(n_b) if n_b is not None else math.nan,
                       difference=float(mde), sd=float(sd), alpha=alpha, power=power, alternative=alternative,
                       method="MDE = (z_alpha + z_power) sd sqrt(1/n_a + 1/n_b) (normal approximation)",
                       reading=f"With {fmt(n_a, 6)}{nb_text} respondents, a change smaller than {fmt(mde)} is likely "
                               f"to go undetected ({100 * power:g}% power at alpha = {alpha:g}).")


def margin_of_error(*, sd: float, n: float, alpha: float = 0.05, metric: str = "") -> PowerResult:
    """Half-width of the normal-approximation interval of one estimate from ``n`` respondents.

    >>> round(margin_of_error(sd=80.0, n=984).margin, 3)
    4.999
    """
    _positive(sd=sd, n=n)
    z = z_critical(alpha, "two-sided")
    m = z * sd / math.sqrt(n)
    return PowerResult(metric=metric, question="margin_of_error", n_a=float(n), margin=float(m), sd=float(sd),
                       alpha=alpha, method="margin = z sd / sqrt(n)",
                       reading=f"{fmt(n, 6)} respondents give a {100 * (1 - alpha):g}% margin of error of "
                               f"+/- {fmt(m)}.")
