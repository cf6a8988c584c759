"""The data contract: every canonical table, its columns and rules, in one place.

This module is the single source of the contract.  ``cxlib.data`` validates
against it (through pandera), and ``data/README.md`` is generated from it
(``python -m cxlib.schema > data/README.md``; a test keeps the two in sync).

Timestamps are naive and in UTC; dates are midnight timestamps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["string", "int", "float", "bool", "timestamp", "date"]


@dataclass(frozen=True)
class Column:
    """One column of the contract."""

    name: str
    kind: Kind
    description: str
    unit: str = ""
    nullable: bool = False
    allowed: tuple[str, ...] | None = None  # closed vocabulary for strings
    min: float | None = None  # inclusive bounds for numbers
    max: float | None = None
    references: str | None = None  # "table.column" foreign key
    required: bool = True  # optional columns may be absent from the file


@dataclass(frozen=True)
class Table:
    """One canonical table: its columns, primary key and row-level rules."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    # (description, first column, second column): first <= second where both present
    ordered: tuple[tuple[str, str], ...] = field(default=())

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


TOUCHPOINTS = (
    "ad_click", "email_click", "homepage", "search", "product_page", "size_finder",
    "store_visit", "fitting_room_reservation", "fitting_room_wait", "cart", "checkout",
    "chatbot", "purchase",
)
CHANNELS = ("web", "app", "store", "email", "phone", "chat", "chatbot")
SURVEY_TOUCHPOINTS = ("purchase", "store_visit", "delivery", "support", "app", "onboarding")
TICKET_CATEGORIES = ("sizing", "waiting_time", "staff", "price", "delivery", "returns", "app",
                     "stock", "billing", "other")

CUSTOMERS = Table(
    "customers",
    "One row per customer.",
    (
        Column("customer_id", "string", "Customer identifier (personal data: never print raw).", ),
        Column("first_name", "string", "Given name (personal data, used for redaction).", nullable=True),
        Column("last_name", "string", "Family name (personal data, used for redaction).", nullable=True),
        Column("signup_date", "date", "Date the customer was acquired (first purchase or sign-up)."),
        Column("home_unit_id", "string", "The store the customer mostly uses.", references="units.unit_id"),
        Column("region", "string", "Region of residence.", allowed=("North", "South", "East", "West", "Central")),
        Column("age_band", "string", "Age band.", allowed=("18-24", "25-34", "35-44", "45-54", "55-64", "65+")),
        Column("loyalty_tier", "string", "Loyalty tier.", allowed=("bronze", "silver", "gold")),
        Column("acquisition_channel", "string", "Channel that acquired the customer.",
               allowed=("store", "web", "app", "referral")),
    ),
    key=("customer_id",),
)

UNITS = Table(
    "units",
    "One row per store (the unit of the program rollout).",
    (
        Column("unit_id", "string", "Store identifier."),
        Column("unit_name", "string", "Store name."),
        Column("region", "string", "Region of the store.", allowed=("North", "South", "East", "West", "Central")),
        Column("size_sqm", "float", "Sales floor area.", unit="m^2", min=0, nullable=True, required=False),
    ),
    key=("unit_id",),
)

PROGRAM_ROLLOUT = Table(
    "program_rollout",
    "One row per store that received the CX program; stores absent from this table were never treated.",
    (
        Column("unit_id", "string", "Treated store.", references="units.unit_id"),
        Column("program", "string", "Program name."),
        Column("rollout_date", "date", "First day the program ran in the store."),
        Column("wave", "int", "Rollout wave (1 = first).", min=1, nullable=True, required=False),
    ),
    key=("unit_id", "program"),
)

EVENTS = Table(
    "events",
    "Journey touchpoints, one row per event.",
    (
        Column("event_id", "string", "Event identifier."),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("journey_id", "string", "Explicit journey identifier, if the source has one.",
               nullable=True, required=False),
        Column("timestamp", "timestamp", "When the touchpoint happened (UTC)."),
        Column("touchpoint", "string", "Touchpoint; 'purchase' is the conversion.", allowed=TOUCHPOINTS),
        Column("channel", "string", "Channel of the touchpoint.", allowed=CHANNELS),
        Column("unit_id", "string", "Store, for in-store touchpoints.", nullable=True,
               references="units.unit_id", required=False),
    ),
    key=("event_id",),
)

TRANSACTIONS = Table(
    "transactions",
    "Purchases, one row per basket.",
    (
        Column("transaction_id", "string", "Transaction identifier."),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("unit_id", "string", "Store of the purchase.", references="units.unit_id"),
        Column("timestamp", "timestamp", "When the purchase happened (UTC)."),
        Column("amount", "float", "Basket value (above 1,000,000 is taken as a data error).", unit="EUR", min=0, max=1e6),
        Column("items", "int", "Items bought (above 10,000 is taken as a data error).", min=1, max=10_000),
        Column("returned_items", "int", "Items of this basket later returned (0..items).", min=0),
        Column("stockout_items", "int", "Items asked for but out of stock in the customer's size.", min=0),
    ),
    key=("transaction_id",),
)

SUBSCRIPTIONS = Table(
    "subscriptions",
    "Membership subscriptions; a missing end_date means still active at the observation end (censored).",
    (
        Column("subscription_id", "string", "Subscription identifier."),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("plan", "string", "Plan.", allowed=("basic", "plus", "premium")),
        Column("monthly_fee", "float", "Monthly fee.", unit="EUR", min=0),
        Column("start_date", "date", "First day of the subscription."),
        Column("end_date", "date", "Cancellation date; empty if still active (right-censored).", nullable=True),
    ),
    key=("subscription_id",),
    ordered=(("start_date", "end_date"),),
)

SURVEY_RESPONSES = Table(
    "survey_responses",
    "Survey responses; each score is optional, but a response has at least one.",
    (
        Column("response_id", "string", "Response identifier."),
        Column("customer_id", "string", "Respondent.", references="customers.customer_id"),
        Column("unit_id", "string", "Store the response refers to.", nullable=True, references="units.unit_id"),
        Column("touchpoint", "string", "Touchpoint surveyed.", allowed=SURVEY_TOUCHPOINTS),
        Column("responded_at", "timestamp", "When the survey was answered (UTC)."),
        Column("nps", "int", "Likelihood to recommend (promoters 9-10, detractors 0-6).", unit="0-10",
               min=0, max=10, nullable=True),
        Column("csat", "int", "Satisfaction (top-2-box 4-5 = satisfied).", unit="1-5", min=1, max=5, nullable=True),
        Column("ces", "int", "Customer effort (1 = very easy, 7 = very hard).", unit="1-7", min=1, max=7,
               nullable=True),
        Column("comment", "string", "Free-text comment (may hold personal data: redact before output).",
               nullable=True),
    ),
    key=("response_id",),
)

TICKETS = Table(
    "tickets",
    "Support tickets; a missing resolved_at means unresolved at the observation end.",
    (
        Column("ticket_id", "string", "Ticket identifier."),
        Column("customer_id", "string", "Customer.", references="customers.customer_id"),
        Column("unit_id", "string", "Store concerned, if any.", nullable=True, references="units.unit_id"),
        Column("channel", "string", "Contact channel.", allowed=("phone", "email", "chat", "chatbot", "store")),
        Column("ticket_type", "string", "Complaint, inquiry or request.", allowed=("complaint", "inquiry", "request")),
        Column("category", "string", "Topic.", allowed=TICKET_CATEGORIES),
        Column("opened_at", "timestamp", "When the ticket was opened (UTC)."),
        Column("first_response_at", "timestamp", "First agent or bot response (UTC).", nullable=True),
        Column("resolved_at", "timestamp", "Resolution (UTC); empty if unresolved.", nullable=True),
        Column("hold_minutes", "float", "Time on hold.", unit="minutes", min=0, nullable=True, required=False),
        Column("handle_minutes", "float", "Agent handle time.", unit="minutes", min=0, nullable=True,
               required=False),
    ),
    key=("ticket_id",),
    ordered=(("opened_at", "first_response_at"), ("opened_at", "resolved_at")),
)

TABLES: dict[str, Table] = {t.name: t for t in (
    CUSTOMERS, UNITS, PROGRAM_ROLLOUT, EVENTS, TRANSACTIONS, SUBSCRIPTIONS, SURVEY_RESPONSES, TICKETS)}


def contract_markdown() -> str:
    """The data contract as Markdown (the body of ``data/README.md``)."""
    kinds = {"string": "text", "int": "integer", "float": "number", "bool": "boolean",
             "timestamp": "timestamp (UTC)", "date": "date"}
    out = ["# The data contract", "",
           "_Generated from `cxlib/schema.py` by `python -m cxlib.schema > data/README.md`; do not edit by hand._",
           "",
           "`cxlib.data.load(folder)` reads one file per table, `<table>.parquet` or `<table>.csv`, "
           "and validates every rule below before any analysis runs. "
           "Timestamps are naive UTC; dates are calendar dates. "
           "An invalid input fails with one `DataContractError` naming table, column, rule and example rows.",
           "",
           "Row-level rules besides the column rules: primary keys are unique; every foreign key exists "
           "in the referenced table; no table is empty; `end_date >= start_date` (subscriptions); "
           "`first_response_at >= opened_at` and `resolved_at >= opened_at` (tickets); "
           "`returned_items <= items` (transactions); a survey response has at least one of nps, csat, ces; "
           "no timestamp or date lies in the future (after the moment of loading).",
           "",
           "Repairs (done and reported in the validation summary's `repairs` column, never silently): "
           "CSV timestamps with a UTC offset are converted to naive UTC; surrounding spaces are stripped and "
           "empty strings read as missing.",
           ""]
    for t in TABLES.values():
        out += [f"## `{t.name}`", "", t.description, "",
                f"Primary key: {', '.join(f'`{k}`' for k in t.key)}.", "",
                "| column | type | unit | allowed values | nullable | required | references | description |",
                "|---|---|---|---|---|---|---|---|"]
        for c in t.columns:
            if c.allowed:
                allowed = ", ".join(c.allowed)
            elif c.min is not None or c.max is not None:
                lo = "" if c.min is None else f"{c.min:g}"
                hi = "" if c.max is None else f"{c.max:g}"
                allowed = f"{lo} .. {hi}".strip()
            else:
                allowed = ""
            out.append(f"| `{c.name}` | {kinds[c.kind]} | {c.unit} | {allowed} | "
                       f"{'yes' if c.nullable else 'no'} | {'yes' if c.required else 'no'} | "
                       f"{c.references or ''} | {c.description} |")
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
