"""Any journey analysis by segment: one run per segment on that segment's own journeys, stacked.

:func:`by_segment` is the journey twin of :func:`cxlib.stats.by_segment` (one word, one idea: run an
analysis once per segment): ``by_segment(top_paths, journeys, segment="loyalty_tier", segments=customers)``.
A journey belongs to the segment of its customer (``segments=``: a DataFrame with ``customer_id`` plus the
``segment`` column, one row per customer, or the name of such a table in the journeys' DuckDB
connection), exactly as in :func:`~cxlib.journey.funnel`.  For events, each segment's journeys are the
journeys of its customers' events cut with the same options and the same end of observation (so the result
equals the analysis run on the segment's own rows); for path counts, the segment is a column of the
journey table.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..display import displayable
from .._deprecation import renamed_arguments, renamed_fields
from ..engine.sql import ident, literal
from ..errors import DataContractError, ParameterError
from ..stats import split_moved_to_by_segment
from .funnel import _segment_source, segment_table
from .sessions import Journeys, as_journeys

__all__ = ["BySegment", "segment_journeys", "by_segment"]

MISSING = "(missing)"

#: Decorator of the journey analyses whose split by segment moved to :func:`by_segment` (their ``by=`` and
#: ``segment=`` still split for one release, with a DeprecationWarning).
journey_split = split_moved_to_by_segment("cxlib.journey", data="journeys", hidden=("segment", "segments"),
                                          extra=", segments=...")


@displayable(tables=("to_frame",))
@renamed_fields(by="segment")
@dataclass(frozen=True)
class BySegment:
    """One result per segment (``results``: segment level -> result); :meth:`to_frame` stacks them under ``segment``.

    ``segment`` is the segment column (``by`` is its deprecated old name).
    """

    segment: str
    results: dict

    @property
    def segments(self) -> list[str]:
        return list(self.results)

    def __getitem__(self, segment: str) -> Any:
        return self.results[segment]

    def to_frame(self) -> pd.DataFrame:
        parts = []
        for level, res in self.results.items():
            frame = res if isinstance(res, pd.DataFrame) else res.to_frame()
            parts.append(frame.reset_index(drop=True).assign(segment=level))
        out = pd.concat(parts, ignore_index=True)
        return out[["segment", *[c for c in out.columns if c != "segment"]]]


@renamed_arguments(by="segment")
def segment_journeys(journeys: Any, segment: str, segments: Any = None) -> dict[str, Journeys]:
    """Split journeys by segment: ``{segment level: Journeys of that segment only}``, levels sorted.

    Customers without a label form the segment ``'(missing)'``.  ``by`` is the deprecated old name of
    ``segment``.
    """
    js = as_journeys(journeys)
    by = segment
    if not isinstance(by, str) or not by:
        raise ParameterError(f"segment={by!r} must name the segment column.")
    if js.spec is None:  # path counts (or journeys without events): filter the journey table
        src, seg = _segment_source(js, by, segments, js.table)
        if segments is None and by not in js.backend.columns(js.table):
            raise ParameterError(f"segment={by!r} is not a column of the journeys; pass segments= with "
                                 f"customer_id and {by!r}.")
        levels = [r[0] for r in js.backend.fetchall(f"SELECT DISTINCT {seg} FROM {src} ORDER BY 1")]
        out = {}
        for level in levels:
            name = js.backend.temp_name("segment_journeys")
            cols = "* EXCLUDE (cx_segment)" if segments is not None else "*"
            js.backend.execute(f"CREATE TEMP TABLE {name} AS SELECT {cols} FROM {src} WHERE {seg} = {literal(level)}")
            n_j, n_e = js.backend.fetchall(f"SELECT coalesce(sum(weight), 0), coalesce(sum(weight * n_events), 0) "
                                          f"FROM {name}")[0]
            out[str(level)] = dataclasses.replace(js, n_events=int(n_e), _built={
                "table": name, "journeys": name, "n_journeys": int(n_j)})
        return out
    if segments is None:
        raise ParameterError(f"segment={by!r} on event journeys needs segments=: a frame with customer_id and "
                             f"{by!r} (one row per customer) or the name of such a table, e.g. 'customers'.")
    table = segment_table(js, by, segments)
    spec = js.spec
    labels = js.backend.temp_name("segment_labels")
    js.backend.execute(f"""CREATE TEMP TABLE {labels} AS
SELECT e.c, coalesce(min(CAST(s.{ident(by)} AS VARCHAR)), {literal(MISSING)}) AS label
FROM (SELECT DISTINCT CAST({spec.customer} AS VARCHAR) AS c FROM {spec.source} WHERE {' AND '.join(spec.where)}) e
LEFT JOIN {table} s ON e.c = CAST(s.customer_id AS VARCHAR) GROUP BY e.c""")
    out = {}
    for level, in js.backend.fetchall(f"SELECT DISTINCT label FROM {labels} ORDER BY 1"):
        cond = f"CAST({spec.customer} AS VARCHAR) IN (SELECT c FROM {labels} WHERE label = {literal(level)})"
        sub = dataclasses.replace(spec, where=(*spec.where, cond))
        n_e = js.backend.fetchall(f"SELECT count(*) FROM {sub.source} WHERE {' AND '.join(sub.where)}")[0][0]
        out[str(level)] = dataclasses.replace(js, spec=sub, n_events=int(n_e), _built={},
                                              source=f"{js.source}; {by} = {level!r}")
    return out


@renamed_arguments(by="segment")
def by_segment(analysis: Callable[..., Any], journeys: Any, segment: str, segments: Any = None,
               **kwargs: Any) -> BySegment:
    """Run a journey analysis once per segment, each on that segment's own journeys.

    The one way to split the journey analyses whose result is one object (:func:`~cxlib.journey.top_paths`,
    :func:`~cxlib.journey.attribute`, :func:`~cxlib.journey.transition_matrix`,
    :func:`~cxlib.journey.directly_follows`, :func:`~cxlib.journey.fail_points`,
    :func:`~cxlib.journey.time_to_convert`, or any callable taking journeys); :func:`~cxlib.journey.funnel`
    and :func:`~cxlib.journey.path_lengths` take ``segment=`` themselves.

    Parameters
    ----------
    analysis : callable
        Called as ``analysis(journeys_of_the_segment, **kwargs)``.
    journeys : Journeys or events
    segment : str
        Segment column: of ``segments`` when given, else of the journey table (``by`` is its deprecated
        old name).
    segments : DataFrame or str, optional
        ``customer_id`` plus ``segment`` (one row per customer), or the name of such a table in the
        journeys' DuckDB connection (``"customers"``); customers without a row form ``(missing)``.
    **kwargs
        Passed to ``analysis``.

    Returns
    -------
    BySegment
        ``results`` maps each segment level (sorted) to its result; ``to_frame()`` stacks them under a
        leading ``segment`` column.

    Examples
    --------
    >>> from cxlib.journey import journeyize, top_paths
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b", "c"],
    ...                    "touchpoint": ["search", "purchase", "cart", "search"],
    ...                    "timestamp": pd.to_datetime(["2025-01-01 10:00", "2025-01-01 10:05", "2025-01-01 11:00",
    ...                                                 "2025-01-01 12:00"])})
    >>> tiers = pd.DataFrame({"customer_id": ["a", "b", "c"], "tier": ["gold", "silver", "gold"]})
    >>> r = by_segment(top_paths, journeyize(ev, gap="1h"), "tier", segments=tiers, k=1)
    >>> r.segments, r["gold"].to_frame()[["path", "journeys"]].values.tolist()
    (['gold', 'silver'], [['search', 2], ['(other)', 0]])
    """
    by = segment
    results = {}
    for level, sub in segment_journeys(journeys, by, segments).items():
        try:
            results[level] = analysis(sub, **kwargs)
        except DataContractError as exc:
            raise DataContractError(f"Segment {by}={level!r} ({sub.n_journeys:,} journeys): {exc}", table=exc.table,
                                    column=exc.column, rule=exc.rule, rows=exc.rows) from exc
        except ParameterError as exc:
            raise ParameterError(f"Segment {by}={level!r} ({sub.n_journeys:,} journeys): {exc}") from exc
    return BySegment(segment=by, results=results)
