"""The data contract: every canonical table, its columns and rules, in one place.

This module is the single source of the contract.  ``cxlib.data`` validates
against it (through pandera), the analysis sections build their requirements on
it (:data:`CONTRACT`, :func:`table_contract`), and ``data/README.md`` is
generated from it (``python -m cxlib.schema > data/README.md``; a test keeps the
two in sync).

**A minimal contract.** Each table requires only its identifiers, its time
columns and its measures (transactions: ``customer_id``, ``timestamp``,
``amount``); every other column is optional and unlocks analyses when present
(:attr:`Column.unlocks`); columns the contract does not know are kept, and can be
used as segments.

**Open vocabularies.** Touchpoints, channels, categories, plans, regions... are
whatever values the data hold: they are checked for type, emptiness and
cardinality (:attr:`Column.max_levels`), never for membership in a list.  The
``levels`` of a column are the synthetic world's values in their natural order,
an ordering hint for tables and reference levels, not a rule.

Timestamps are naive, in the data's time zone (UTC unless ``cx.yml`` says
otherwise, see :mod:`cxlib.data.mapping`); dates are midnight timestamps.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

__all__ = ["Kind", "Column", "Table", "TABLES", "CONTRACT", "table_contract", "contract_frame",
           "contract_markdown", "DATE_RANGE_ENV", "EARLIEST_DATE", "plausible_date_range", "personal_columns",
           "TOUCHPOINTS", "CHANNELS", "SURVEY_TOUCHPOINTS", "TICKET_CATEGORIES"]

Kind = Literal["string", "int", "float", "bool", "timestamp", "date"]


@dataclass(frozen=True)
class Column:
    """One column of the contract.

    Attributes
    ----------
    name, kind, description, unit : str
        The column's canonical name, its type, what it holds and its unit (``"currency"``: the
        data's currency, set in ``cx.yml``).
    nullable : bool
        Whether a present column may hold missing values.
    levels : tuple of str or None
        For text columns with a vocabulary: the synthetic world's values in their natural order
        (an ordering hint for tables and reference levels; other values are accepted).
    max_levels : int or None
        For vocabulary columns: the most distinct values accepted (more means the column is
        probably mapped to an identifier or to free text).
    min, max : float or None
        Inclusive bounds for numbers.
    references : str or None
        ``"table.column"`` foreign key, checked when both tables are loaded.
    required : bool
        Whether the file must have the column; optional columns may be absent.
    unlocks : str
        For optional columns: what the column makes possible when present.
    segment : bool
        A customer attribute proposed as a segment column by default.
    personal : bool
        Personal data (an identifier, a name, free text): redacted or pseudonymized before any output,
        and never a segment column (:func:`cxlib.privacy.is_personal_column`, the report plan's check).
    """

    name: str
    kind: Kind
    description: str
    unit: str = ""
    nullable: bool = False
    levels: tuple[str, ...] | None = None
    min: float | None = None
    max: float | None = None
    references: str | None = None
    required: bool = True
    unlocks: str = ""
    max_levels: int | None = None
    segment: bool = False
    personal: bool = False

    @property
    def allowed(self) -> tuple[str, ...] | None:
        """Deprecated: vocabularies are open; use :attr:`levels` (an ordering hint, not a rule)."""
        from ._deprecation import warn_deprecated

        warn_deprecated("cxlib.schema.Column.allowed", "Column.levels (vocabularies are open)")
        return self.levels


@dataclass(frozen=True)
class Table:
    """One canonical table: its columns, key, time column and row-level rules.

    Attributes
    ----------
    key : tuple of str
        The primary key; only its columns present in a file are checked for uniqueness.
    time_column : str or None
        The column that places a row in time (the validation summary's time span).
    ordered : tuple of (str, str)
        ``(first, second)``: ``first <= second`` where both are present.
    at_least_one : tuple of str
        Columns of which a file must have at least one, and every row at least one value.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    time_column: str | None = None
    ordered: tuple[tuple[str, str], ...] = field(default=())
    at_least_one: tuple[str, ...] = ()

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> tuple[Column, ...]:
        """The columns every file of this table must have."""
        return tuple(c for c in self.columns if c.required)

    @property
    def optional_columns(self) -> tuple[Column, ...]:
        """The columns a file may have, each with what it unlocks."""
        return tuple(c for c in self.columns if not c.required)


# The synthetic world's vocabularies: ordering hints (Column.levels) and the synthetic generator's values.
TOUCHPOINTS = (
    "ad_click", "email_click", "homepage", "search", "product_page", "size_finder",
    "store_visit", "fitting_room_reservation", "fitting_room_wait", "cart", "checkout",
    "chatbot", "purchase",
)
CHANNELS = ("web", "app", "store", "email", "phone", "chat", "chatbot")
SURVEY_TOUCHPOINTS = ("purchase", "store_visit", "delivery", "support", "app", "onboarding")
TICKET_CATEGORIES = ("sizing", "waiting_time", "staff", "price", "delivery", "returns", "app",
                     "stock", "billing", "other")
_REGIONS = ("North", "South", "East", "West", "Central")

_SEGMENT = "segment breakdowns of metrics, journeys, churn and value (a segment column)"

CUSTOMERS = Table(
    "customers",
    "One row per customer: identifiers and attributes (every attribute is optional; extra columns are kept "
    "and can be segments).",
    (
        Column("customer_id", "string", "Customer identifier (personal data: never print raw).", personal=True),
        Column("first_name", "string", "Given name (personal data, used for redaction).", nullable=True, personal=True,
               required=False, unlocks="redaction of customer names in survey comments"),
        Column("last_name", "string", "Family name (personal data, used for redaction).", nullable=True, personal=True,
               required=False, unlocks="redaction of customer names in survey comments"),
        Column("signup_date", "date", "Date the customer was acquired (first purchase or sign-up).",
               required=False, unlocks="tenure and acquisition cohorts"),
        Column("home_unit_id", "string", "The store the customer mostly uses.", nullable=True,
               references="units.unit_id", required=False,
               unlocks="customers linked to stores (program evaluation on survey and purchase outcomes)"),
        Column("region", "string", "Region of residence.", nullable=True, levels=_REGIONS, required=False,
               unlocks=_SEGMENT, max_levels=1000, segment=True),
        Column("age_band", "string", "Age band.", nullable=True,
               levels=("18-24", "25-34", "35-44", "45-54", "55-64", "65+"), required=False, unlocks=_SEGMENT,
               max_levels=100, segment=True),
        Column("loyalty_tier", "string", "Loyalty tier.", nullable=True, levels=("bronze", "silver", "gold"),
               required=False, unlocks=_SEGMENT, max_levels=100, segment=True),
        Column("acquisition_channel", "string", "Channel that acquired the customer.", nullable=True,
               levels=("store", "web", "app", "referral"), required=False, unlocks=_SEGMENT, max_levels=100,
               segment=True),
    ),
    key=("customer_id",),
    time_column="signup_date",
)

UNITS = Table(
    "units",
    "One row per store or other unit of a program rollout.",
    (
        Column("unit_id", "string", "Store identifier."),
        Column("unit_name", "string", "Store name.", required=False, unlocks="store names in tables and figures"),
        Column("region", "string", "Region of the store.", levels=_REGIONS, required=False,
               unlocks="stores compared within regions", max_levels=1000),
        Column("size_sqm", "float", "Sales floor area.", unit="m^2", min=0, nullable=True, required=False,
               unlocks="store size as a covariate of program evaluation"),
    ),
    key=("unit_id",),
)

PROGRAM_ROLLOUT = Table(
    "program_rollout",
    "One row per store that received a CX program; stores absent from this table were never treated.",
    (
        Column("unit_id", "string", "Treated store.", references="units.unit_id"),
        Column("program", "string", "Program name.", required=False,
               unlocks="several programs told apart (without it: one program)"),
        Column("rollout_date", "date", "First day the program ran in the store."),
        Column("wave", "int", "Rollout wave (1 = first).", min=1, nullable=True, required=False,
               unlocks="rollout waves named in the evaluation"),
    ),
    key=("unit_id", "program"),
    time_column="rollout_date",
)

EVENTS = Table(
    "events",
    "Journey touchpoints, one row per event.",
    (
        Column("event_id", "string", "Event identifier.", required=False,
               unlocks="duplicate events detected (a unique key)"),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("journey_id", "string", "Explicit journey (session) identifier, if the source has one.",
               nullable=True, required=False, unlocks="journeys as the source cut them (else by inactivity gap)"),
        Column("timestamp", "timestamp", "When the touchpoint happened."),
        Column("touchpoint", "string", "Touchpoint (the conversion touchpoint is a setting, default 'purchase').",
               levels=TOUCHPOINTS, max_levels=500),
        Column("channel", "string", "Channel of the touchpoint.", levels=CHANNELS, required=False, max_levels=100,
               unlocks="journeys and attribution by channel"),
        Column("unit_id", "string", "Store, for in-store touchpoints.", nullable=True,
               references="units.unit_id", required=False, unlocks="in-store touchpoints linked to stores"),
    ),
    key=("event_id",),
    time_column="timestamp",
)

TRANSACTIONS = Table(
    "transactions",
    "Purchases, one row per basket.",
    (
        Column("transaction_id", "string", "Transaction identifier.", required=False,
               unlocks="duplicate baskets detected (a unique key)"),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("unit_id", "string", "Store of the purchase.", references="units.unit_id", nullable=True,
               required=False, unlocks="purchases by store (program evaluation on sales)"),
        Column("timestamp", "timestamp", "When the purchase happened."),
        Column("amount", "float", "Basket value (above 1,000,000 is taken as a data error).", unit="currency",
               min=0, max=1e6),
        Column("items", "int", "Items bought (above 10,000 is taken as a data error).", min=1, max=10_000,
               required=False, unlocks="items per basket; return and stock-out rates"),
        Column("returned_items", "int", "Items of this basket later returned (0..items).", min=0, required=False,
               unlocks="return rates"),
        Column("stockout_items", "int", "Items asked for but out of stock in the customer's size.", min=0,
               required=False, unlocks="stock-out rates"),
    ),
    key=("transaction_id",),
    time_column="timestamp",
)

SUBSCRIPTIONS = Table(
    "subscriptions",
    "Membership subscriptions; a missing end_date means still active at the observation end (censored).",
    (
        Column("subscription_id", "string", "Subscription identifier.", required=False,
               unlocks="duplicate subscriptions detected (a unique key)"),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("plan", "string", "Plan.", levels=("basic", "plus", "premium"), required=False, max_levels=500,
               unlocks="churn by plan (a covariate of the churn model)"),
        Column("monthly_fee", "float", "Monthly fee.", unit="currency", min=0, required=False,
               unlocks="revenue at risk from subscription churn"),
        Column("start_date", "date", "First day of the subscription."),
        Column("end_date", "date", "Cancellation date; empty if still active (right-censored).", nullable=True),
    ),
    key=("subscription_id",),
    time_column="start_date",
    ordered=(("start_date", "end_date"),),
)

SURVEY_RESPONSES = Table(
    "survey_responses",
    "Survey responses; a file has at least one of nps, csat, ces, and every response at least one score.",
    (
        Column("response_id", "string", "Response identifier.", required=False,
               unlocks="duplicate responses detected (a unique key)"),
        Column("customer_id", "string", "Respondent.", references="customers.customer_id"),
        Column("unit_id", "string", "Store the response refers to.", nullable=True, references="units.unit_id",
               required=False, unlocks="program evaluation on survey scores by store"),
        Column("touchpoint", "string", "Touchpoint surveyed.", levels=SURVEY_TOUCHPOINTS, required=False,
               max_levels=500, unlocks="scores by surveyed touchpoint"),
        Column("responded_at", "timestamp", "When the survey was answered."),
        Column("nps", "int", "Likelihood to recommend (promoters 9-10, detractors 0-6).", unit="0-10",
               min=0, max=10, nullable=True, required=False, unlocks="NPS"),
        Column("csat", "int", "Satisfaction (top-2-box 4-5 = satisfied).", unit="1-5", min=1, max=5, nullable=True,
               required=False, unlocks="CSAT"),
        Column("ces", "int", "Customer effort (1 = very easy, 7 = very hard).", unit="1-7", min=1, max=7,
               nullable=True, required=False, unlocks="CES"),
        Column("comment", "string", "Free-text comment (may hold personal data: redact before output).", personal=True,
               nullable=True, required=False, unlocks="voice of the customer (themes, sentiment, verbatims)"),
    ),
    key=("response_id",),
    time_column="responded_at",
    at_least_one=("nps", "csat", "ces"),
)

TICKETS = Table(
    "tickets",
    "Support tickets; a missing resolved_at means unresolved at the observation end.",
    (
        Column("ticket_id", "string", "Ticket identifier.", required=False,
               unlocks="duplicate tickets detected (a unique key)"),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("unit_id", "string", "Store concerned, if any.", nullable=True, references="units.unit_id",
               required=False, unlocks="tickets by store"),
        Column("channel", "string", "Contact channel.", levels=("phone", "email", "chat", "chatbot", "store"),
               required=False, max_levels=100, unlocks="tickets and resolution by channel"),
        Column("ticket_type", "string", "Complaint, inquiry or request.", levels=("complaint", "inquiry", "request"),
               required=False, max_levels=100, unlocks="complaints told apart from other tickets"),
        Column("category", "string", "Topic.", levels=TICKET_CATEGORIES, required=False, max_levels=500,
               unlocks="tickets and resolution by topic"),
        Column("opened_at", "timestamp", "When the ticket was opened."),
        Column("first_response_at", "timestamp", "First agent or bot response.", nullable=True, required=False,
               unlocks="first-response times"),
        Column("resolved_at", "timestamp", "Resolution; empty if unresolved.", nullable=True, required=False,
               unlocks="resolution times and unresolved tickets (a churn covariate)"),
        Column("hold_minutes", "float", "Time on hold.", unit="minutes", min=0, nullable=True, required=False,
               unlocks="hold times"),
        Column("handle_minutes", "float", "Agent handle time.", unit="minutes", min=0, nullable=True,
               required=False, unlocks="handle times"),
    ),
    key=("ticket_id",),
    time_column="opened_at",
    ordered=(("opened_at", "first_response_at"), ("opened_at", "resolved_at")),
)

TABLES: dict[str, Table] = {t.name: t for t in (
    CUSTOMERS, UNITS, PROGRAM_ROLLOUT, EVENTS, TRANSACTIONS, SUBSCRIPTIONS, SURVEY_RESPONSES, TICKETS)}

#: The contract as data: table name -> :class:`Table` (read-only), for section requirements and documentation.
CONTRACT: Mapping[str, Table] = MappingProxyType(TABLES)


#: Environment variable overriding the plausible range of dates, ``"1995-01-01..2030-12-31"`` (an end may be empty).
DATE_RANGE_ENV = "CX_DATE_RANGE"
#: The first plausible date of CX data and of report parameters: anything earlier is a typo or a placeholder.
EARLIEST_DATE = "1990-01-01"


def plausible_date_range(*, today=None):
    """The plausible dates of data and parameters: ``(earliest, latest)`` as pandas Timestamps.

    By default 1990-01-01 to one year after ``today`` (a transaction dated 1900 or 2099 is a data
    error, not a customer); ``CX_DATE_RANGE`` (``"1995-01-01..2030-12-31"``, an end may be empty)
    overrides either end.  The data contract also rejects dates after the moment of loading.

    Raises
    ------
    ValueError
        ``CX_DATE_RANGE`` is not two dates (or empty ends) around ``..``, or its ends are reversed.

    >>> lo, hi = plausible_date_range(today="2025-12-31")
    >>> str(lo.date()), str(hi.date())
    ('1990-01-01', '2026-12-31')
    """
    import os

    import pandas as pd

    today = pd.Timestamp.now().normalize() if today is None else pd.Timestamp(today)
    earliest, latest = pd.Timestamp(EARLIEST_DATE), today + pd.DateOffset(years=1)
    value = os.environ.get(DATE_RANGE_ENV, "").strip()
    if value:
        parts = value.split("..")
        try:
            if len(parts) != 2:
                raise ValueError(value)
            earliest = pd.Timestamp(parts[0]) if parts[0].strip() else earliest
            latest = pd.Timestamp(parts[1]) if parts[1].strip() else latest
        except ValueError:
            raise ValueError(f"{DATE_RANGE_ENV}={value!r}: expected two dates around '..', such as "
                             "'1995-01-01..2030-12-31' (either end may be empty).") from None
        if earliest > latest:
            raise ValueError(f"{DATE_RANGE_ENV}={value!r}: the first date is after the second.")
    return earliest, latest


def table_contract(name: str) -> Table:
    """The contract of one table: its required and optional columns, key and rules.

    Raises
    ------
    KeyError
        ``name`` is not a contract table (the message lists them).

    Examples
    --------
    >>> [c.name for c in table_contract("transactions").required_columns]
    ['customer_id', 'timestamp', 'amount']
    >>> table_contract("transactions").column("items").unlocks
    'items per basket; return and stock-out rates'
    """
    try:
        return TABLES[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a table of the data contract; the tables are {sorted(TABLES)}.") from None


def personal_columns() -> frozenset[str]:
    """Names of the contract's personal columns (:attr:`Column.personal`): never segments, never shown raw.

    >>> sorted(personal_columns())
    ['comment', 'customer_id', 'first_name', 'last_name']
    """
    return frozenset(c.name for t in TABLES.values() for c in t.columns if c.personal)


def contract_frame():
    """The contract as one tidy frame: one row per column.

    Columns ``table, column, kind, required, nullable, unit, unlocks, segment``, in contract order.

    >>> f = contract_frame()
    >>> f.loc[f["required"]].groupby("table", sort=False)["column"].apply(list)["transactions"]
    ['customer_id', 'timestamp', 'amount']
    """
    import pandas as pd

    rows = [{"table": t.name, "column": c.name, "kind": c.kind, "required": c.required, "nullable": c.nullable,
             "unit": c.unit, "unlocks": c.unlocks, "segment": c.segment} for t in TABLES.values() for c in t.columns]
    return pd.DataFrame(rows, columns=["table", "column", "kind", "required", "nullable", "unit", "unlocks", "segment"])


def contract_markdown() -> str:
    """The data contract as Markdown (the body of ``data/README.md``)."""
    kinds = {"string": "text", "int": "integer", "float": "number", "bool": "boolean",
             "timestamp": "timestamp", "date": "date"}
    out = ["# The data contract", "",
           "_Generated from `cxlib/schema.py` by `python -m cxlib.schema > data/README.md`; do not edit by hand._",
           "",
           "`cxlib.data.load(folder)` reads one file per table, `<table>.parquet`, a folder `<table>/` of Parquet "
           "parts or `<table>.csv` (both a CSV and a Parquet file for one table is an error), or the files and "
           "columns named in the folder's mapping file `cx.yml` (see the README, \"Use your own data\"), "
           "and validates every rule below before any analysis runs. "
           "Every table is optional: a section runs when the tables and columns it needs are there. "
           "Within a table only the **required** columns must be present (identifiers, time columns and "
           "measures); each optional column unlocks what its row says; columns the contract does not know "
           "are kept (text, or numbers when every value is a number) and can be used as segments. "
           "An invalid input fails with one `DataContractError` naming table, column, rule and example rows.",
           "",
           "Vocabularies are open: touchpoints, channels, regions, plans, categories... are whatever values the "
           "data hold, checked for type, emptiness (a present column may not be empty in every row) and "
           "cardinality (at most the `max levels` distinct values); the values listed are the synthetic "
           "world's, in their natural order (an ordering hint, not a rule). Amounts are in the data's currency "
           "(`currency` in `cx.yml`, default EUR). Timestamps are naive, in the data's time zone (`time_zone` in "
           "`cx.yml`, default UTC); dates are calendar dates.",
           "",
           "Row-level rules besides the column rules: primary keys (their present columns) are unique; every "
           "foreign key exists in the referenced table when both are loaded; no table is empty; "
           "`end_date >= start_date` (subscriptions); "
           "`first_response_at >= opened_at` and `resolved_at >= opened_at` (tickets); "
           "`returned_items <= items` (transactions); a survey file has at least one of nps, csat, ces and "
           "every response at least one score; no timestamp or date lies in the future (after the moment of "
           "loading) or before 1990-01-01, the earliest plausible date (the environment variable "
           "`CX_DATE_RANGE`, e.g. `1980-01-01..`, moves it). Columns marked personal (`customer_id`, "
           "`first_name`, `last_name`, `comment`) are redacted or pseudonymized before any output and are "
           "never segments.",
           "",
           "Repairs (done and reported in the validation summary's `repairs` column, never silently): "
           "timestamps with a UTC offset are converted to the data's time zone; surrounding spaces are stripped "
           "and empty strings read as missing.",
           ""]
    for t in TABLES.values():
        key = ", ".join(f"`{k}`" for k in t.key)
        out += [f"## `{t.name}`", "", t.description, "",
                f"Primary key: {key} (checked on the key columns present).", "",
                "| column | type | unit | usual values | max levels | nullable | required | references | "
                "description | unlocks |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for c in t.columns:
            if c.levels:
                values = ", ".join(c.levels)
            elif c.min is not None or c.max is not None:
                lo = "" if c.min is None else f"{c.min:g}"
                hi = "" if c.max is None else f"{c.max:g}"
                values = f"{lo} .. {hi}".strip()
            else:
                values = ""
            out.append(f"| `{c.name}` | {kinds[c.kind]} | {c.unit} | {values} | {c.max_levels or ''} | "
                       f"{'yes' if c.nullable else 'no'} | {'yes' if c.required else 'no'} | "
                       f"{c.references or ''} | {c.description} | {c.unlocks} |")
        out.append("")
    out += ["## Files beside the tables", "",
            "- `truth.json` (synthetic data only): every planted quantity of the synthetic CX world "
            "(program effects, BG/NBD and Gamma-Gamma parameters, hazard ratios, the journey Markov chain, "
            "survey differences). See `cxlib.synth`.",
            "- `truth_segments.parquet` (synthetic data only): each customer's latent purchase rate, spend "
            "and behavioural segment, for validating segmentation.",
            "- `truth_pii.parquet` (synthetic data only): the exact fake e-mail addresses, phone numbers and "
            "names planted in survey comments, for the tests that scan rendered reports for personal data.",
            "",
            "In the synthetic world the `purchase` events of journeys and the rows of `transactions` come from "
            "two independent processes (the Markov chain of journeys and the BG/NBD purchase process), so each "
            "keeps its exact planted truth; they are not linked row by row.", ""]
    return "\n".join(out)


if __name__ == "__main__":  # pragma: no cover
    print(contract_markdown(), end="")
