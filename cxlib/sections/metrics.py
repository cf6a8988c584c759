"""Glue of the metrics notebook (10): the scorecard in display units, its findings and the trends sidecar.

The analyses themselves (:func:`cxlib.significance.scorecard`, :func:`cxlib.significance.metric_trends`, ...)
live in :mod:`cxlib.significance.scorecard`.
"""
from __future__ import annotations

import pandas as pd

from ..significance.scorecard import JOURNEY_SECTION_KEYS, TREND_COLUMNS
from ..stats import check_alpha

#: Display scale and units of each scorecard metric: shares are shown in percent, changes in points.
_DISPLAY = {"nps": (1.0, "points", "points"), "csat": (100.0, "%", "pp"), "ces": (1.0, "", "points"),
            "churn_rate": (100.0, "%", "pp"), "resolved_within": (100.0, "%", "pp"), "sla_share": (100.0, "%", "pp"),
            "conversion_rate": (100.0, "%", "pp")}


def scorecard_display(card: pd.DataFrame) -> pd.DataFrame:
    """The scorecard in display units (shares as percent), full precision, readable column names.

    Formatting (digits, p-values, merged intervals) is left to the report layer
    (``cxlib.report.tables.show_table(..., ci_cols=..., p_value_cols=["p"])``).

    Examples
    --------
    >>> card = pd.DataFrame([{"key": "csat", "label": "CSAT", "estimate": 0.8, "ci_lower": 0.7, "ci_upper": 0.9,
    ...     "estimate_comparison": 0.75, "change": 0.05, "change_ci_lower": -0.01, "change_ci_upper": 0.11,
    ...     "p_value": 0.1, "marker": "", "n": 100, "n_comparison": 90, "test_method": "Newcombe"}])
    >>> scorecard_display(card)[["metric", "unit", "this period", "change"]].values.tolist()
    [['CSAT', '%', 80.0, 5.0]]
    """
    out = []
    for _, row in card.iterrows():
        if row["key"] in JOURNEY_SECTION_KEYS:
            continue  # the journeys section records it, with journeys still open at the end censored
        k, unit, change_unit = _DISPLAY.get(row["key"], (1.0, "", ""))
        out.append({"metric": row["label"], "unit": unit, "this period": k * row["estimate"],
                    "lower": k * row["ci_lower"], "upper": k * row["ci_upper"],
                    "last period": k * row["estimate_comparison"], "change": k * row["change"],
                    "change lower": k * row["change_ci_lower"], "change upper": k * row["change_ci_upper"],
                    "change unit": change_unit, "p": row["p_value"], "sig.": row["marker"], "n": int(row["n"]),
                    "n last": int(row["n_comparison"]), "test": row["test_method"].split(";")[0]})
    return pd.DataFrame(out)


def short_method(method: str) -> str:
    """A method's short name for tiles and headline sentences (the table keeps the full text).

    >>> short_method("difference of proportions; Newcombe hybrid score interval, pooled z test; effect size Cohen's h")
    'Newcombe interval, pooled z test'
    """
    names = (("cluster-robust", "difference of means, customer-clustered SE"),
             ("adjusted-Wald z test", "adjusted-Wald z test (Rocks 2016)"),
             ("adjusted-Wald interval", "adjusted-Wald interval (Rocks 2016)"),
             ("Newcombe", "Newcombe interval, pooled z test"), ("Welch", "Welch t test"),
             ("Student t interval", "t interval"), ("Wilson", "Wilson interval"))
    for needle, name in names:
        if needle in method:
            return name
    return method.split(";")[0]


def scorecard_findings(card: pd.DataFrame, *, section: str = "metrics", alpha: float = 0.05) -> list:
    """The scorecard as findings for the sidecar: a level (``key``) and a change (``key_change``) per metric.

    Shares are recorded in percent (unit ``"%"``, changes in ``"pp"``), so the executive summary
    and the scorecard tiles read naturally; values keep full precision.

    Examples
    --------
    >>> card = pd.DataFrame([{"key": "nps", "label": "NPS", "unit": "points", "better": "higher",
    ...     "period": "2025Q4", "estimate": 30.0, "ci_lower": 25.0, "ci_upper": 35.0, "n": 800,
    ...     "comparison_period": "2025Q3", "estimate_comparison": 27.0, "n_comparison": 790, "change": 3.0,
    ...     "change_ci_lower": -1.0, "change_ci_upper": 7.0, "p_value": 0.14, "method": "NPS; adjusted Wald",
    ...     "test_method": "adjusted-Wald z test"}])
    >>> [(f.key, f.estimate, f.comparison) for f in scorecard_findings(card)]
    [('nps', 30.0, ''), ('nps_change', 3.0, '2025Q3')]
    """
    from ..findings import Finding

    check_alpha(alpha)
    out = []
    for _, row in card.iterrows():
        if row["key"] in JOURNEY_SECTION_KEYS:
            continue  # the journeys section records it, with journeys still open at the end censored
        k, unit, change_unit = _DISPLAY.get(row["key"], (1.0, str(row["unit"]), str(row["unit"])))
        out.append(Finding(key=row["key"], section=section, label=row["label"], estimate=k * float(row["estimate"]),
                           ci_lower=k * float(row["ci_lower"]), ci_upper=k * float(row["ci_upper"]),
                           ci_level=1 - alpha, n=float(row["n"]), method=short_method(row["method"]), unit=unit,
                           better=row["better"], period=str(row["period"])))
        out.append(Finding(key=f"{row['key']}_change", section=section, label=row["label"],
                           estimate=k * float(row["change"]), ci_lower=k * float(row["change_ci_lower"]),
                           ci_upper=k * float(row["change_ci_upper"]), ci_level=1 - alpha,
                           p_value=float(row["p_value"]), n=float(row["n"] + row["n_comparison"]),
                           method=short_method(row["test_method"]), unit=change_unit, better=row["better"],
                           period=str(row["period"]), comparison=str(row["comparison_period"]),
                           detail=f"n = {int(row['n'])} in {row['period']}, {int(row['n_comparison'])} in "
                                  f"{row['comparison_period']}"))
    return out


def sidecar_trends(trends: pd.DataFrame) -> pd.DataFrame:
    """The trends table in the findings' display units, under both ``key`` and ``key_change``.

    The scorecard tiles look a finding's sparkline and current level up by the finding's key, so the
    level series is written for the level finding and for its change finding.

    >>> t = pd.DataFrame({"key": ["csat"], "period": ["2025Q4"], "estimate": [0.8], "ci_lower": [0.7],
    ...                   "ci_upper": [0.9]})
    >>> sidecar_trends(t)[["key", "estimate"]].values.tolist()
    [['csat', 80.0], ['csat_change', 80.0]]
    """
    scale = trends["key"].map(lambda k: _DISPLAY.get(k, (1.0,))[0]).astype(float)
    scaled = trends.assign(**{c: trends[c] * scale for c in ("estimate", "ci_lower", "ci_upper")})
    both = pd.concat([scaled, scaled.assign(key=scaled["key"] + "_change")], ignore_index=True)
    order = {k: i for i, k in enumerate(dict.fromkeys(both["key"]))}
    both = both.assign(_o=both["key"].map(order)).sort_values(["_o", "period"], kind="stable")
    return both.drop(columns="_o").reset_index(drop=True)[list(TREND_COLUMNS)]
