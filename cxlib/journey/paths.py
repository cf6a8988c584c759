"""Path (variant) analysis: which touchpoint sequences are frequent, how often they convert, how long they take."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed_arguments
from ..display import displayable
from ..engine.sql import literal
from ..errors import ParameterError
from ..stats import check_alpha, wilson_interval
from .bysegment import by_segment, journey_split
from .sessions import Journeys, as_journeys
from .sql import decode_sql, median_with_ci, paths_sql

__all__ = ["PathTable", "top_paths", "path_lengths", "PATH_COLUMNS", "LENGTH_COLUMNS", "OTHER", "path_expression"]

#: Columns of :meth:`PathTable.to_frame`, in order.
PATH_COLUMNS = ("rank", "path", "length", "journeys", "share", "conversions", "conversion_rate", "ci_lower",
                "ci_upper", "ci_level", "median_duration_s", "duration_ci_lower", "duration_ci_upper", "variants",
                "n_journeys", "method")

#: Columns of :func:`path_lengths`, in order.
LENGTH_COLUMNS = ("length", "journeys", "share", "conversions", "conversion_rate", "ci_lower", "ci_upper",
                  "ci_level", "n_journeys", "method")

#: Label of the bucket holding every path beyond the top k.
OTHER = "(other)"
SEP = " > "


def path_expression(*, collapse_repeats: bool = False, include_conversion: bool = False) -> str:
    """SQL expression of a journey's path list (``touchpoints`` or ``path``, repeats collapsed or not)."""
    col = "touchpoints" if include_conversion else "path"
    if not collapse_repeats:
        return col
    return f"list_filter({col}, lambda x, i: i = 1 OR x != {col}[i - 1])"


@displayable(tables=("table",))
@dataclass(frozen=True)
class PathTable:
    """The most frequent paths, an ``(other)`` bucket, and their conversion and duration.

    ``table`` has the columns of :data:`PATH_COLUMNS`; conversion-rate intervals are Wilson
    score intervals, duration intervals distribution-free (binomial order statistics).
    """

    table: pd.DataFrame
    k: int
    collapse_repeats: bool
    n_journeys: int
    n_variants: int
    ci_level: float

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


@journey_split
def top_paths(journeys: Any, *, k: int = 10, collapse_repeats: bool = False, include_conversion: bool = False,
              alpha: float = 0.05, segment: str | None = None, segments: Any = None) -> PathTable:
    """The ``k`` most frequent paths with counts, conversion rate (Wilson CI) and median duration (CI).

    Per segment: ``by_segment(top_paths, journeys, segment=..., segments=...)``, a
    :class:`~cxlib.journey.BySegment` (:func:`cxlib.journey.by_segment`; ``by=`` here is deprecated).

    Parameters
    ----------
    journeys : Journeys or events
        Output of :func:`~cxlib.journey.journeyize` (events are journey-ized with its defaults).
    k : int
        Paths listed; every other path is pooled into one ``(other)`` row (rank ``k + 1``), so the
        shares add up to 1.
    collapse_repeats : bool
        Merge immediate repeats (``search > search > cart`` becomes ``search > cart``).
    include_conversion : bool
        Keep the conversion touchpoint at the end of converted paths (a process-mining variant);
        by default a path is what happened before the conversion.
    alpha : float
        1 - confidence level.

    Returns
    -------
    PathTable
        The top paths (fewer than ``k`` if there are fewer) and the ``(other)`` row, always present
        (zero journeys when every path is listed).  Rows ranked by journeys (ties by path text).  ``length`` counts steps (NaN for
        ``(other)``), ``variants`` the distinct paths behind a row; ``median_duration_s`` is
        the time from first to last event in seconds (NaN for path-level input).

    Notes
    -----
    Conversion rate ``c / n`` with the Wilson (1927) interval
    ``(p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)``.

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b", "a"], "conversions": [6, 1, 0],
    ...                               "nulls": [2, 3, 1]}))
    >>> top_paths(js, k=1).to_frame()[["rank", "path", "journeys", "conversions"]].values.tolist()
    [[1, 'a > b', 8, 6], [2, '(other)', 5, 1]]
    """
    if segment is not None:
        def run(j: Journeys) -> Any:
            return top_paths(
                j, k=k, collapse_repeats=collapse_repeats, include_conversion=include_conversion, alpha=alpha)
        return by_segment(run, journeys, segment, segments)
    check_alpha(alpha)
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k={k!r} must be a positive whole number of paths to list.")
    js = as_journeys(journeys)
    eng, kk = js.backend, int(k)
    per = eng.temp_name("journey_paths")  # one row per journey: path list, weight, converted, duration
    eng.execute(f"CREATE TEMP TABLE {per} AS "
                + _journey_paths_sql(js, collapse_repeats=collapse_repeats, include_conversion=include_conversion))
    var = eng.temp_name("variants")  # one row per distinct path, ranked by journeys then text
    names = decode_sql("p", js.codes) if js.fused is not None and not collapse_repeats else "p"
    eng.execute(f"""CREATE TEMP TABLE {var} AS
SELECT p, d, n, c, row_number() OVER (ORDER BY n DESC, array_to_string(d, {literal(SEP)})) AS rk FROM (
  SELECT p, {names} AS d, sum(weight) AS n, sum(CASE WHEN converted THEN weight ELSE 0 END) AS c FROM {per}
  GROUP BY p) g""")
    agg = eng.df(f"""
SELECT CASE WHEN rk <= {kk} THEN rk ELSE {kk + 1} END AS rank,
       CASE WHEN rk <= {kk} THEN array_to_string(d, {literal(SEP)}) ELSE {literal(OTHER)} END AS path,
       max(CASE WHEN rk <= {kk} THEN len(d) END) AS length, sum(n)::BIGINT AS journeys,
       sum(c)::BIGINT AS conversions, count(*)::BIGINT AS variants
FROM {var} GROUP BY 1, 2 ORDER BY rank""")
    if kk + 1 not in set(agg["rank"]):  # keep the (other) row, empty, so every table has k + 1 rows or fewer
        agg = pd.concat([agg, pd.DataFrame({"rank": [kk + 1], "path": [OTHER], "length": [np.nan],
                                            "journeys": [0], "conversions": [0], "variants": [0]})],
                        ignore_index=True)
    # Durations by rank: each journey finds its rank among the k top paths only (a tiny hash join).
    ranked = eng.temp_name("ranked_paths")
    eng.execute(f"""CREATE TEMP TABLE {ranked} AS
SELECT coalesce(t.rk, {kk + 1}) AS rank, j.dur FROM {per} j LEFT JOIN (SELECT p, rk FROM {var} WHERE rk <= {kk}) t
ON j.p = t.p""")
    dur = median_with_ci(js.backend, f"SELECT rank, dur AS x FROM {ranked}", ["rank"], alpha)
    for name in (ranked, var, per):
        eng.execute(f"DROP TABLE {name}")
    out = agg.merge(dur[["rank", "median", "ci_lower", "ci_upper"]].rename(columns={
        "median": "median_duration_s", "ci_lower": "duration_ci_lower", "ci_upper": "duration_ci_upper"}),
        on="rank", how="left")
    total = int(agg["journeys"].sum())
    n, c = out["journeys"].to_numpy(float), out["conversions"].to_numpy(float)
    lo, hi = wilson_interval(c, n, alpha=alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = c / n
    out = out.assign(share=n / total, conversion_rate=rate, ci_lower=lo, ci_upper=hi, ci_level=1 - alpha,
                     n_journeys=total, length=out["length"].astype(float),
                     method="share of journeys; conversion rate with Wilson score CI; median duration with "
                            "binomial order-statistic CI" + ("; repeats collapsed" if collapse_repeats else ""))
    for col in ("median_duration_s", "duration_ci_lower", "duration_ci_upper"):
        out[col] = out[col].astype(float)
    n_var = int(agg["variants"].sum())
    return PathTable(table=out[list(PATH_COLUMNS)].reset_index(drop=True), k=int(k),
                     collapse_repeats=collapse_repeats, n_journeys=total, n_variants=n_var, ci_level=1 - alpha)


def _journey_paths_sql(js: Journeys, *, collapse_repeats: bool, include_conversion: bool) -> str:
    """SQL: one row per journey (or path row), ``p`` (path list), ``weight``, ``converted``, ``dur`` (seconds).

    With fused events (nothing built yet, repeats kept) the paths are grouped straight from the
    events' window as lists of touchpoint codes (:func:`~cxlib.journey.sql.paths_sql`, decoded
    once per distinct path); otherwise they are the list table's touchpoint names.
    """
    if js.fused is not None and not collapse_repeats:
        return paths_sql(js.fused, js.observation_end, js.codes, include_conversion=include_conversion)
    expr = path_expression(collapse_repeats=collapse_repeats, include_conversion=include_conversion)
    return f"SELECT {expr} AS p, weight, converted, epoch(ended_at - started_at) AS dur FROM {js.table}"


@renamed_arguments(by="segment")
def path_lengths(journeys: Any, *, collapse_repeats: bool = False, alpha: float = 0.05,
                 segment: str | None = None, segments: Any = None) -> pd.DataFrame:
    """Distribution of path length (steps before the conversion) with conversion rate by length.

    ``segment`` (with ``segments=``, as in :func:`~cxlib.journey.funnel`; ``by`` is its deprecated old name)
    runs it on each segment's own journeys and returns the stacked frame (a leading ``segment`` column).

    Returns one row per length with the columns of :data:`LENGTH_COLUMNS` (Wilson intervals).

    Examples
    --------
    >>> from cxlib.journey import from_paths
    >>> js = from_paths(pd.DataFrame({"path": ["a > b", "b", "a > a"], "conversions": [6, 1, 2],
    ...                               "nulls": [2, 3, 0]}))
    >>> path_lengths(js, collapse_repeats=True)[["length", "journeys", "conversions"]].values.tolist()
    [[1, 6, 3], [2, 8, 6]]
    """
    if segment is not None:
        return by_segment(path_lengths, journeys, segment, segments, collapse_repeats=collapse_repeats,
                          alpha=alpha).to_frame()
    check_alpha(alpha)
    js = as_journeys(journeys)
    expr = path_expression(collapse_repeats=collapse_repeats)
    out = js.backend.df(f"""
SELECT len({expr})::BIGINT AS length, sum(weight)::BIGINT AS journeys,
       sum(CASE WHEN converted THEN weight ELSE 0 END)::BIGINT AS conversions
FROM {js.table} GROUP BY 1 ORDER BY 1""")
    n, c = out["journeys"].to_numpy(float), out["conversions"].to_numpy(float)
    lo, hi = wilson_interval(c, n, alpha=alpha)
    total = int(n.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = c / n
    out = out.assign(share=n / total, conversion_rate=rate, ci_lower=lo, ci_upper=hi, ci_level=1 - alpha,
                     n_journeys=total, method="share of journeys; conversion rate with Wilson score CI")
    return out[list(LENGTH_COLUMNS)]
