"""Any journey analysis by segment: one run per segment on that segment's own journeys, stacked.

A journey belongs to the segment of its customer (``segments=``: ``customer_id`` plus the ``by`` column, one
row per customer, or the name of such a table in the journeys' DuckDB connection), exactly as in
:func:`~cxlib.journey.funnel`.  For events, each segment's journeys are the journeys of its customers' events
cut with the same options and the same end of observation (so the result equals the analysis run on the
segment's own rows); for path counts, the segment is a column of the journey table.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..engine.sql import ident, literal
from ..errors import DataContractError, ParameterError
from .funnel import _segment_source, segment_table
from .sessions import Journeys, as_journeys

__all__ = ["BySegment", "segment_journeys", "by_segment"]

MISSING = "(missing)"


@dataclass(frozen=True)
class BySegment:
    """One result per segment (``results``: segment -> result); :meth:`to_frame` stacks them under ``segment``."""

    by: str
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


def segment_journeys(journeys: Any, by: str, segments: Any = None) -> dict[str, Journeys]:
    """Split journeys by segment: ``{segment: Journeys of that segment only}``, segments sorted.

    Customers without a label form the segment ``'(missing)'``.
    """
    js = as_journeys(journeys)
    if not isinstance(by, str) or not by:
        raise ParameterError(f"by={by!r} must name the segment column.")
    if js.spec is None:  # path counts (or journeys without events): filter the journey table
        src, seg = _segment_source(js, by, segments, js.table)
        if segments is None and by not in js.backend.columns(js.table):
            raise ParameterError(f"by={by!r} is not a column of the journeys; pass segments= with customer_id "
                                 f"and {by!r}.")
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
        raise ParameterError(f"by={by!r} on event journeys needs segments=: a frame with customer_id and {by!r} "
                             "(one row per customer) or the name of such a table, e.g. 'customers'.")
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


def by_segment(run: Callable[[Journeys], Any], journeys: Any, by: str, segments: Any = None) -> BySegment:
    """``run`` on each segment's journeys (see :func:`segment_journeys`)."""
    results = {}
    for level, sub in segment_journeys(journeys, by, segments).items():
        try:
            results[level] = run(sub)
        except DataContractError as exc:
            raise DataContractError(f"Segment {by}={level!r} ({sub.n_journeys:,} journeys): {exc}", table=exc.table,
                                    column=exc.column, rule=exc.rule, rows=exc.rows) from exc
        except ParameterError as exc:
            raise ParameterError(f"Segment {by}={level!r} ({sub.n_journeys:,} journeys): {exc}") from exc
    return BySegment(by=by, results=results)
