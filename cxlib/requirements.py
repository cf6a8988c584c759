"""What each report section needs from the data, and which sections a data folder supports.

Every analysis section of the report declares here the tables and columns it **needs** (without them
it is skipped) and the **parts** it shows when more data are present (without them it runs in part).
Some parameters of the plan name data: ``segment_columns`` are columns of ``customers``,
``cox_covariates`` need the survey or tickets table, the evaluation ``metrics`` need tickets or item
counts; a value whose data are missing is left out, with the reason.

:func:`plan_sections` is the one function that decides, before any notebook runs, which sections run,
run in part or are skipped: ``cx validate DATA`` prints its plan, the report runner
(:mod:`cxlib.report.coverage`) skips the notebooks of skipped sections and shows the plan in the
report, and each notebook asks it (through :func:`section_coverage`) which of its parts to show, so
the three can never disagree.

>>> plan = plan_sections({"transactions": ["customer_id", "timestamp", "amount"]})
>>> plan["clv"].status, plan["churn"].status, plan["churn"].reason
('partial', 'skipped', 'no subscriptions table')
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import pandas as pd

from .errors import ParameterError
from .escape import escape_markdown

__all__ = ["Need", "Choice", "Part", "Section", "PartCoverage", "SectionCoverage", "SectionPlan", "SECTIONS",
           "STATUSES", "plan_sections", "section_coverage", "available_columns", "requirements_markdown"]

Status = Literal["runs", "partial", "skipped"]
#: The three outcomes of a section or a part, in order of completeness.
STATUSES: tuple[str, ...] = ("runs", "partial", "skipped")


@dataclass(frozen=True)
class Need:
    """A table with the columns a section or part reads: all of ``columns`` and at least one of ``one_of``.

    >>> Need("tickets", ("opened_at", "channel")).missing({"tickets": {"opened_at"}})
    "tickets has no column 'channel'"
    >>> Need("survey_responses", one_of=("nps", "csat")).missing({"survey_responses": {"nps"}}) is None
    True
    """

    table: str
    columns: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()

    def missing(self, available: Mapping[str, Iterable[str]]) -> str | None:
        """The reason this need is not met in ``available`` (table -> columns), or ``None`` when it is."""
        if self.table not in available:
            return f"no {self.table} table"
        cols = set(available[self.table])
        absent = [c for c in self.columns if c not in cols]
        if absent:
            return f"{self.table} has no column{'s' if len(absent) > 1 else ''} {_names(absent)}"
        if self.one_of and not cols & set(self.one_of):
            return f"{self.table} has none of the columns {_names(self.one_of)}"
        return None

    def describe(self) -> str:
        """``table (col, col; one of a, b)`` for documentation."""
        inner = ", ".join(self.columns)
        if self.one_of:
            inner += ("; " if inner else "") + "one of " + ", ".join(self.one_of)
        return f"{self.table} ({inner})" if inner else self.table


def _names(names: Iterable[str]) -> str:
    return ", ".join(f"'{n}'" for n in names)



@dataclass(frozen=True)
class Choice:
    """A plan parameter whose values name data, e.g. ``segment_columns`` (columns of ``customers``).

    Attributes
    ----------
    parameter : str
        The notebook parameter (a list of names).
    needs : mapping of str to tuple of Need
        What each known value needs.
    column_of : str or None
        For a value not in ``needs``: the table it must be a column of (``None``: unknown values are
        left out).
    """

    parameter: str
    needs: Mapping[str, tuple[Need, ...]] = field(default_factory=dict)
    column_of: str | None = None

    def split(self, values: Sequence[str], available: Mapping[str, Iterable[str]]) -> tuple[list[str], list[str]]:
        """(usable values, reasons for the values left out)."""
        usable, reasons = [], []
        for value in values:
            needs = self.needs.get(value)
            if needs is None:
                needs = (Need(self.column_of, (value,)),) if self.column_of else None
            if needs is None:
                reasons.append(f"{self.parameter} {value!r} is not known (known: {_names(self.needs)})")
                continue
            why = next((w for n in needs if (w := n.missing(available))), None)
            if why:
                reasons.append(f"{self.parameter} {value!r}: {why}")
            else:
                usable.append(value)
        return usable, reasons


@dataclass(frozen=True)
class Part:
    """An optional part of a section: a title for readers, what it needs and the parameter it depends on.

    The part runs when every need is met and, with a ``choice``, at least one value of that parameter is usable.
    """

    key: str
    title: str
    needs: tuple[Need, ...] = ()
    choice: Choice | None = None


@dataclass(frozen=True)
class Section:
    """One analysis section of the report (one notebook): what it needs and its optional parts.

    ``needs_a_part`` means the section has nothing to show unless at least one of its parts runs.
    """

    name: str
    title: str
    notebook: str
    needs: tuple[Need, ...] = ()
    parts: tuple[Part, ...] = ()
    needs_a_part: bool = False

    def part(self, key: str) -> Part:
        for p in self.parts:
            if p.key == key:
                return p
        raise KeyError(f"section {self.name!r} has no part {key!r}; parts: {[p.key for p in self.parts]}")


# ------------------------------------------------------------------------------------------------ declarations

_SURVEY = Need("survey_responses", ("customer_id", "responded_at"), one_of=("nps", "csat", "ces"))
_SEGMENTS = Choice("segment_columns", column_of="customers")
_TICKETS = Need("tickets", ("customer_id", "opened_at"))
_EVENTS = Need("events", ("customer_id", "timestamp", "touchpoint"))
_TRANSACTIONS = Need("transactions", ("customer_id", "timestamp", "amount"))
_SUBSCRIPTIONS = Need("subscriptions", ("customer_id", "start_date", "end_date"))
_COX = Choice("cox_covariates", needs={
    "detractor": (Need("survey_responses", ("customer_id", "responded_at", "touchpoint", "nps")),),
    "unresolved_ticket": (Need("tickets", ("customer_id", "opened_at", "resolved_at")),),
    "plan": (Need("subscriptions", ("plan",)),),
    "onboarding_answered": (Need("survey_responses", ("customer_id", "responded_at", "touchpoint", "nps")),),
    "cx_at_start": (Need("survey_responses", ("customer_id", "responded_at", "touchpoint", "nps")),
                    Need("tickets", ("customer_id", "opened_at", "resolved_at"))),
}, column_of="customers")
_CURVES = Choice("curve_segments", needs={
    "cx_at_start": (Need("survey_responses", ("customer_id", "responded_at", "touchpoint", "nps")),),
    "plan": (Need("subscriptions", ("plan",)),),
}, column_of="customers")
_ROLLOUT = (Need("units", ("unit_id",)), Need("program_rollout", ("unit_id", "rollout_date")))
_HOME = Need("customers", ("customer_id", "signup_date", "home_unit_id"))
_PANEL = Choice("metrics", needs={
    "complaint_rate": (*_ROLLOUT, _HOME, Need("tickets", ("opened_at", "ticket_type", "unit_id"))),
    "purchase_frequency": (*_ROLLOUT, _HOME, _TRANSACTIONS),
    "return_rate": (*_ROLLOUT, Need("transactions", ("unit_id", "timestamp", "items", "returned_items"))),
    "out_of_stock_rate": (*_ROLLOUT, Need("transactions", ("unit_id", "timestamp", "items", "stockout_items"))),
    "nps": (*_ROLLOUT, _HOME, Need("survey_responses", ("customer_id", "responded_at", "nps"))),
    "csat": (*_ROLLOUT, _HOME, Need("survey_responses", ("customer_id", "responded_at", "csat"))),
    "resolution_time": (*_ROLLOUT, _HOME, Need("tickets", ("customer_id", "opened_at", "resolved_at"))),
})

#: The report's sections in report order (the executive summary, which only reads findings, always runs).
SECTIONS: tuple[Section, ...] = (
    Section("overview", "Data overview", "00_data_overview", parts=(
        Part("events_per_day", "Journey events per day", (Need("events", ("timestamp",)),)),
        Part("nps_distribution", "NPS answers", (Need("survey_responses", ("nps",)),)),
        Part("basket_values", "Basket values", (Need("transactions", ("amount",)),)),
    )),
    Section("metrics", "Experience metrics", "10_metrics", needs=(_SURVEY,), parts=(
        Part("nps", "NPS", (Need("survey_responses", ("nps",)),)),
        Part("csat", "CSAT", (Need("survey_responses", ("csat",)),)),
        Part("ces", "CES", (Need("survey_responses", ("ces",)),)),
        Part("segments", "Segment comparisons", (Need("customers", ("customer_id",)),), _SEGMENTS),
        Part("support", "Support", (Need("tickets", ("opened_at", "first_response_at", "resolved_at", "channel")),)),
        Part("conversion", "Journey conversion trend", (_EVENTS,)),
        Part("churn", "Membership churn rate", (_SUBSCRIPTIONS,)),
    )),
    Section("journeys", "Journeys", "20_journeys", needs=(_EVENTS,), parts=(
        Part("funnel_segments", "Funnel by segment", (Need("customers", ("customer_id",)),), _SEGMENTS),
        Part("fail_surveys", "Fail points after a detractor answer",
             (Need("survey_responses", ("customer_id", "responded_at", "nps")),)),
        Part("fail_tickets", "Fail points before a complaint", (Need("tickets", ("customer_id", "opened_at")),)),
    )),
    Section("churn", "Churn", "30_churn", needs=(_SUBSCRIPTIONS,), parts=(
        Part("drivers", "Drivers of cancellation (Cox model)", choice=_COX),
        Part("curves", "Retention by CX status and plan", choice=_CURVES),
        Part("segments", "Retention by customer segment", (Need("customers", ("customer_id",)),), _SEGMENTS),
    )),
    Section("clv", "Customer lifetime value", "35_clv", needs=(_TRANSACTIONS,), parts=(
        Part("segments", "Lifetime value by segment", (Need("customers", ("customer_id",)),), _SEGMENTS),
        Part("value_at_stake", "Value at stake (churn risk x CLV)", (_SUBSCRIPTIONS,), _COX),
    )),
    Section("evaluation", "Program evaluation", "40_evaluation", needs=_ROLLOUT, parts=(
        Part("effects", "Program effects", choice=_PANEL),
        Part("counterfactual", "Counterfactual of the earliest cohort",
             choice=Choice("counterfactual_metric", needs=_PANEL.needs)),
    ), needs_a_part=True),
    Section("voc", "Voice of the customer", "50_voc",
            needs=(Need("survey_responses", ("customer_id", "responded_at", "comment")),), parts=(
        Part("drivers", "Key drivers of NPS", (Need("survey_responses", ("nps",)),)),
        Part("sentiment_by_touchpoint", "Sentiment by touchpoint", (Need("survey_responses", ("touchpoint",)),)),
        Part("names", "Redaction of customers' names", (Need("customers", ("first_name", "last_name")),)),
        Part("segments", "Comments by customer segment", (Need("customers", ("customer_id",)),), _SEGMENTS),
    )),
    Section("segments", "Segments and actions", "60_segments", needs=(  # the features and the lists read all six
        Need("customers", ("customer_id", "signup_date")), _TRANSACTIONS, _EVENTS,
        Need("survey_responses", ("customer_id", "responded_at", "nps", "csat", "ces")),
        Need("tickets", ("customer_id", "opened_at", "resolved_at", "ticket_type")), _SUBSCRIPTIONS), parts=(
        Part("churn_risk", "Members at risk (value at stake)", choice=_COX),
    )),
)


# ------------------------------------------------------------------------------------------------ decisions

@dataclass(frozen=True)
class PartCoverage:
    """Whether one part runs, and why not (or which parameter values it left out)."""

    key: str
    title: str
    status: Status
    reasons: tuple[str, ...] = ()
    values: tuple[str, ...] | None = None

    @property
    def runs(self) -> bool:
        return self.status != "skipped"


@dataclass(frozen=True)
class SectionCoverage:
    """The decision for one section: its status, the reasons, its parts and the usable parameter values.

    Attributes
    ----------
    section, title, notebook : str
        From the :class:`Section` declaration.
    status : {"runs", "partial", "skipped"}
    reasons : tuple of str
        Plain-language reasons: what is missing (empty when the section runs in full).
    parts : mapping of str to PartCoverage
    values : mapping of str to tuple of str
        For each data-naming parameter (``segment_columns``...), the values the section can use.
    tables : tuple of str
        The tables the section reads on these data (its needs, and those of its parts and values that
        run), for ``cxlib.data.load(data_dir, tables=...)``.
    """

    section: str
    title: str
    notebook: str
    status: Status
    reasons: tuple[str, ...] = ()
    parts: Mapping[str, PartCoverage] = field(default_factory=dict)
    values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tables: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        """The reasons as one sentence fragment ('' when the section runs in full)."""
        return "; ".join(self.reasons)

    def runs(self, part: str) -> bool:
        """Whether ``part`` runs (the section itself must run too)."""
        return self.status != "skipped" and self._part(part).runs

    def note(self, part: str) -> str:
        """A sentence for readers where ``part`` is not shown: 'Support: skipped (no tickets table).'"""
        p = self._part(part)
        if self.status == "skipped":
            return f"{p.title}: skipped ({self.reason})."
        return f"{p.title}: skipped ({'; '.join(p.reasons)})." if not p.runs else ""

    def notes(self) -> str:
        """Markdown for the top of the section: the parts not shown or shown in part, and why ('' if none).

        >>> cov = plan_sections({"survey_responses": ["customer_id", "responded_at", "nps"]})["metrics"]
        >>> print(cov.notes())
        Not shown for lack of data: CSAT (survey\\_responses has no column \\'csat\\'); CES (survey\\_responses has no column \\'ces\\'); Segment comparisons (no customers table); Support (no tickets table); Journey conversion trend (no events table); Membership churn rate (no subscriptions table).
        """
        off = [p for p in self.parts.values() if not p.runs]
        some = [p for p in self.parts.values() if p.status == "partial"]
        lines = []
        if off:
            lines.append("Not shown for lack of data: " + "; ".join(
                f"{p.title} ({escape_markdown('; '.join(p.reasons))})" for p in off) + ".")
        if some:
            lines.append("Shown in part: " + "; ".join(
                f"{p.title}, without {escape_markdown('; '.join(p.reasons))}" for p in some) + ".")
        return "\n\n".join(lines)

    def usable(self, parameter: str, default: Sequence[str] = ()) -> list[str]:
        """The values of a data-naming ``parameter`` the section can use (``default`` if it has none)."""
        return list(self.values.get(parameter, default))

    def _part(self, key: str) -> PartCoverage:
        if key not in self.parts:
            raise KeyError(f"section {self.section!r} has no part {key!r}; parts: {list(self.parts)}")
        return self.parts[key]


@dataclass(frozen=True)
class SectionPlan:
    """The decisions for every section (report order), as :func:`plan_sections` makes them."""

    sections: tuple[SectionCoverage, ...]

    def __getitem__(self, name: str) -> SectionCoverage:
        for s in self.sections:
            if name in (s.section, s.notebook):
                return s
        raise KeyError(f"no section or notebook {name!r}; sections: {[s.section for s in self.sections]}")

    def __contains__(self, name: object) -> bool:
        return any(name in (s.section, s.notebook) for s in self.sections)

    def __iter__(self):
        return iter(self.sections)

    @property
    def complete(self) -> bool:
        """True when every section runs in full."""
        return all(s.status == "runs" for s in self.sections)

    def to_frame(self) -> pd.DataFrame:
        """One row per section: ``section, title, notebook, status, reason``."""
        return pd.DataFrame([{"section": s.section, "title": s.title, "notebook": s.notebook, "status": s.status,
                              "reason": s.reason} for s in self.sections],
                            columns=["section", "title", "notebook", "status", "reason"])

    def lines(self) -> list[str]:
        """Plain-text lines, one per section: ``title  status  reason`` (what ``cx validate`` prints)."""
        width = max((len(s.title) for s in self.sections), default=0)
        return [f"{s.title:<{width}}  {s.status:<8} {s.reason}".rstrip() for s in self.sections]


def plan_sections(available: Mapping[str, Iterable[str]], parameters: Mapping[str, Any] | None = None, *,
                  section_parameters: Mapping[str, Mapping[str, Any]] | None = None) -> SectionPlan:
    """Decide which sections run, run in part or are skipped on data with these tables and columns.

    Parameters
    ----------
    available : mapping of str to iterable of str
        Table name to its column names (contract names), as :func:`available_columns` gives them.
    parameters : mapping, optional
        Parameter values shared by every section (``segment_columns``, ``cox_covariates``, ``metrics``).
        A data-naming parameter that is not given takes its default below.
    section_parameters : mapping of str to mapping, optional
        Per section (name or notebook stem): parameter values that override ``parameters`` (the report
        runner passes each notebook's resolved parameters).

    Returns
    -------
    SectionPlan

    Examples
    --------
    >>> cols = {"survey_responses": ["customer_id", "responded_at", "nps"], "customers": ["customer_id", "region"]}
    >>> m = plan_sections(cols, {"segment_columns": ["region", "loyalty_tier"]})["metrics"]
    >>> m.status, m.usable("segment_columns"), m.note("support")
    ('partial', ['region'], 'Support: skipped (no tickets table).')
    """
    avail = {str(t): frozenset(map(str, cols)) for t, cols in available.items()}
    base = {**DEFAULT_PARAMETERS, **dict(parameters or {})}
    per = dict(section_parameters or {})
    out = []
    for sec in SECTIONS:
        params = {**base, **dict(per.get(sec.name, per.get(sec.notebook, {})))}
        out.append(_decide(sec, avail, params))
    return SectionPlan(tuple(out))


#: Defaults of the data-naming parameters (those of the notebooks' parameters cells).
DEFAULT_PARAMETERS: Mapping[str, Any] = MappingProxyType({
    "segment_columns": ("loyalty_tier", "region"),
    "cox_covariates": ("detractor", "unresolved_ticket", "plan"),
    "curve_segments": ("cx_at_start", "plan"),
    "metrics": ("complaint_rate", "purchase_frequency", "return_rate", "out_of_stock_rate", "nps", "csat"),
    "counterfactual_metric": "out_of_stock_rate",
})


def _decide(sec: Section, avail: Mapping[str, frozenset], params: Mapping[str, Any]) -> SectionCoverage:
    missing = [w for n in sec.needs if (w := n.missing(avail))]
    parts, values, dropped = {}, {}, []
    for p in sec.parts:
        why = [w for n in p.needs if (w := n.missing(avail))]
        vals = None
        if p.choice is not None:
            given = params.get(p.choice.parameter, ())
            given = [given] if isinstance(given, str) else list(given)
            vals, lost = p.choice.split(given, avail)
            values.setdefault(p.choice.parameter, tuple(vals))
            if not why and not vals:
                why = lost or [f"no {p.choice.parameter} given"]
            elif not why and lost:
                dropped += [w for w in lost if w not in dropped]
                parts[p.key] = PartCoverage(p.key, p.title, "partial", tuple(lost), tuple(vals))
                continue
        parts[p.key] = PartCoverage(p.key, p.title, "skipped" if why else "runs", tuple(why),
                                    None if vals is None else tuple(vals))
    if not missing and sec.needs_a_part and parts and not any(p.runs for p in parts.values()):
        missing = [f"{p.title.lower()}: {'; '.join(p.reasons)}" for p in parts.values()]
    if missing:
        return SectionCoverage(sec.name, sec.title, sec.notebook, "skipped", tuple(missing),
                               MappingProxyType(parts), MappingProxyType(values))
    reasons = [f"{p.title}: skipped ({'; '.join(p.reasons)})" for p in parts.values() if not p.runs]
    reasons += [f"{p.title}: without {'; '.join(p.reasons)}" for p in parts.values() if p.status == "partial"]
    status: Status = "partial" if reasons else "runs"
    return SectionCoverage(sec.name, sec.title, sec.notebook, status, tuple(reasons), MappingProxyType(parts),
                           MappingProxyType(values), _tables_read(sec, parts, values))


def _tables_read(sec: Section, parts: Mapping[str, PartCoverage], values: Mapping[str, tuple[str, ...]]
                 ) -> tuple[str, ...]:
    needs = list(sec.needs)
    for p in sec.parts:
        if not parts[p.key].runs:
            continue
        needs += p.needs
        if p.choice is not None:
            for v in values.get(p.choice.parameter, ()):
                needs += p.choice.needs.get(v, (Need(p.choice.column_of),) if p.choice.column_of else ())
    return tuple(dict.fromkeys(n.table for n in needs))


def section_coverage(section: str, data: Any, **parameters: Any) -> SectionCoverage:
    """The decision for one section on ``data`` (a data folder or a Dataset), with the notebook's parameters.

    Notebooks call this with their own parameter values; it runs :func:`plan_sections`, so a notebook
    shows exactly the parts that ``cx validate`` and the report runner announce.
    """
    return plan_sections(available_columns(data), parameters)[section]


def available_columns(data: Any) -> dict[str, list[str]]:
    """Table name -> column names of a data folder, a :class:`cxlib.data.Dataset` or a mapping of frames.

    A folder is read for its files' column names only (no rows, no validation), through the data
    layer's public :func:`cxlib.data.table_columns` when it has one, else the header of each table file.
    """
    if isinstance(data, (str, Path)):
        from . import data as data_layer

        reader = getattr(data_layer, "table_columns", None)
        if reader is not None:
            return {t: list(c) for t, c in reader(data).items()}
        return _file_columns(Path(data))
    tables = getattr(data, "tables", data)
    out = {t: list(frame.columns) for t, frame in tables.items()}
    for t in getattr(data, "lazy", ()):  # lazy tables of a Dataset: their DuckDB views
        out[t] = [r[0] for r in data.connection().execute(f'DESCRIBE "{t}"').fetchall()]
    return out


def _file_columns(folder: Path) -> dict[str, list[str]]:
    """Contract column names of each table file of ``folder``, read from the files' headers only.

    The folder's ``cx.yml`` (:func:`cxlib.data.read_mapping`) names the files, the source columns
    and the CSV delimiter and encoding, exactly as :func:`cxlib.data.load` reads them.
    """
    import csv
    import gzip

    import pyarrow.parquet as pq

    from .data import find_table_file, read_mapping
    from .schema import TABLES

    if not folder.is_dir():
        raise ParameterError(f"Data folder {folder} does not exist.")
    mapping = read_mapping(folder)
    out = {}
    for table in TABLES:
        source = mapping.source(table)
        file = folder / source.file if source.file else find_table_file(folder, table)
        if file is None or not file.exists():
            continue
        if file.is_dir():
            names = pq.read_schema(next(iter(sorted(file.rglob("*.parquet"))))).names
        elif file.suffix in (".parquet", ".pq"):
            names = pq.read_schema(file).names
        else:
            opener = gzip.open if file.suffix == ".gz" else open
            with opener(file, "rt", encoding=source.options.encoding, newline="") as fh:
                names = next(csv.reader(fh, delimiter=source.options.delimiter), [])
            names = [n.strip().lstrip("\ufeff") for n in names]
        renames = source.renames
        out[table] = [renames.get(n, n) for n in names]
    return out


def requirements_markdown() -> str:
    """What each section needs, as a Markdown table (the README's "Use your own data" table)."""
    rows = ["| section | needs | shows more with |", "|---|---|---|"]
    for sec in SECTIONS:
        needs = "; ".join(n.describe() for n in sec.needs) or "any table"
        extra = []
        for p in sec.parts:
            what = "; ".join(n.describe() for n in p.needs)
            if p.choice is not None:
                what += ("; " if what else "") + f"`{p.choice.parameter}` " + (
                    f"(columns of {p.choice.column_of})" if p.choice.column_of and not p.choice.needs else
                    f"({', '.join(p.choice.needs)})")
            extra.append(f"{p.title}: {what}")
        if sec.needs_a_part:
            needs += ", and one part"
        rows.append(f"| {sec.title} | {needs} | {'<br>'.join(extra)} |")
    return "\n".join(rows)
