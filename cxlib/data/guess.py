"""``cx init``: look at a folder of CSV/Parquet exports and propose the ``cx.yml`` that maps them.

:func:`propose_mapping` reads a sample of each file (the first :data:`SAMPLE` rows), guesses the CSV
delimiter, encoding and decimal separator, matches column names against the contract's columns and
their usual synonyms (``CustomerID`` -> ``customer_id``, ``InvoiceDate`` -> ``timestamp``, ``Total`` ->
``amount``...), checks the values fit (amounts are numbers, times parse -- guessing the date format --,
a customers file has one row per customer), and picks for each file the table whose required columns
it covers best (the file's name breaking ties).  :meth:`MappingProposal.to_yaml` writes the proposal as a
commented ``cx.yml``: what was guessed, and what could not be.  Nothing is guessed silently: every
choice that could be wrong is a comment to check.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DataContractError
from ..schema import TABLES, Column
from .files import _flat
from .mapping import DATA_SUFFIXES, MAPPING_FILE, mapping_from_dict
from .parse import parse_numbers

__all__ = ["FileGuess", "MappingProposal", "propose_mapping", "write_mapping", "SYNONYMS", "DATE_FORMATS", "SAMPLE"]

#: Rows read from each file to guess from.
SAMPLE = 2000

#: Usual source names of contract columns (compared lower-case, letters and digits only), best first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "customer_id": ("customerid", "customer", "custid", "customerno", "customernumber", "customerkey", "clientid",
                    "client", "clientno", "userid", "user", "memberid", "member", "accountid", "account", "buyerid",
                    "shopperid", "personid", "contactid", "visitorid", "cid", "uid"),
    "timestamp": ("timestamp", "datetime", "eventtime", "eventtimestamp", "eventdate", "invoicedate", "orderdate",
                  "orderdatetime", "transactiondate", "transactiontime", "purchasedate", "purchasetime", "saledate",
                  "occurredat", "createdat", "time", "date", "ts"),
    "amount": ("amount", "total", "totalamount", "totalprice", "totalvalue", "ordervalue", "ordertotal",
               "invoicetotal", "invoiceamount", "grandtotal", "basketvalue", "transactionamount", "transactionvalue",
               "netamount", "grossamount", "revenue", "sales", "salesamount", "spend", "dollarvalue", "monetary",
               "monetaryvalue", "value", "payment", "paymentvalue"),
    "transaction_id": ("transactionid", "orderid", "ordernumber", "orderno", "invoiceid", "invoiceno",
                       "invoicenumber", "invoice", "receiptid", "basketid", "txnid", "transactionno", "saleid", "order"),
    "items": ("items", "quantity", "qty", "numberofitems", "nitems", "itemcount", "numberofcds", "basketsize", "units"),
    "returned_items": ("returneditems", "returns", "returnedqty", "qtyreturned"),
    "stockout_items": ("stockoutitems", "stockouts"),
    "unit_id": ("unitid", "storeid", "store", "shopid", "shop", "branchid", "branch", "locationid", "storecode",
                "storeno", "outletid", "outlet"),
    "home_unit_id": ("homeunitid", "homestore", "homestoreid", "preferredstore", "storeid", "store"),
    "event_id": ("eventid", "hitid", "logid"),
    "journey_id": ("journeyid", "sessionid", "session", "visitid", "visit", "caseid", "sessionnumber"),
    "touchpoint": ("touchpoint", "event", "eventname", "eventtype", "action", "activity", "pagetype", "page", "step",
                   "interaction"),
    "channel": ("channel", "platform", "devicetype", "device", "medium", "channelname"),
    "subscription_id": ("subscriptionid", "contractid", "membershipid", "subscription"),
    "plan": ("plan", "planname", "tier", "package", "subscriptiontype", "contracttype", "membershiptype", "product"),
    "monthly_fee": ("monthlyfee", "monthlycharges", "monthlycharge", "monthlyprice", "mrr", "fee"),
    "start_date": ("startdate", "start", "subscriptionstart", "startedat", "begindate", "contractstart", "joindate",
                   "signupdate"),
    "end_date": ("enddate", "end", "canceldate", "cancellationdate", "churndate", "endedat", "cancelledat",
                 "terminationdate"),
    "response_id": ("responseid", "surveyid", "answerid"),
    "responded_at": ("respondedat", "responsedate", "surveydate", "submittedat", "answeredat", "timestamp",
                     "datetime", "date"),
    "nps": ("nps", "npsscore", "likelihoodtorecommend", "recommend", "ltr", "recommendscore"),
    "csat": ("csat", "csatscore", "satisfaction", "satisfactionscore"),
    "ces": ("ces", "cesscore", "effort", "effortscore", "customereffort"),
    "comment": ("comment", "comments", "feedback", "verbatim", "freetext", "remark", "remarks", "reviewtext",
                "review", "text"),
    "ticket_id": ("ticketid", "ticket", "ticketno", "ticketnumber", "caseid", "incidentid", "requestid"),
    "opened_at": ("openedat", "opened", "opendate", "createdat", "created", "createddate", "reportedat",
                  "submittedat"),
    "first_response_at": ("firstresponseat", "firstresponse", "firstresponsetime", "firstreplyat"),
    "resolved_at": ("resolvedat", "resolved", "resolutiondate", "resolveddate", "closedat", "closed", "closedate",
                    "solvedat"),
    "ticket_type": ("tickettype", "casetype", "requesttype", "type"),
    "category": ("category", "topic", "reason", "issuetype", "issuecategory", "casereason"),
    "hold_minutes": ("holdminutes", "holdtime"),
    "handle_minutes": ("handleminutes", "handletime", "aht"),
    "first_name": ("firstname", "givenname", "forename"),
    "last_name": ("lastname", "surname", "familyname"),
    "signup_date": ("signupdate", "signup", "registrationdate", "registered", "joindate", "joined", "customersince",
                    "acquisitiondate", "firstpurchase", "createdat"),
    "region": ("region", "area", "territory"),
    "age_band": ("ageband", "agegroup", "agerange"),
    "loyalty_tier": ("loyaltytier", "loyalty", "loyaltylevel", "membershiplevel", "tier"),
    "acquisition_channel": ("acquisitionchannel", "acquisition", "signupchannel", "acquisitionsource", "utmsource"),
    "unit_name": ("unitname", "storename", "shopname", "name"),
    "size_sqm": ("sizesqm", "sqm", "floorarea", "size"),
    "program": ("program", "programme", "initiative", "treatment"),
    "rollout_date": ("rolloutdate", "launchdate", "golive", "golivedate", "treatmentdate", "startdate", "date"),
    "wave": ("wave", "cohort"),
}

#: Words in a file's name that point to a table.
FILE_HINTS = {"transactions": ("transaction", "order", "sale", "invoice", "purchase", "retail", "basket", "cdnow"),
              "events": ("event", "click", "session", "log", "journey", "visit", "stream", "touchpoint", "ecom"),
              "customers": ("customer", "client", "user", "member", "crm", "people"),
              "survey_responses": ("survey", "nps", "feedback", "response", "csat", "review"),
              "tickets": ("ticket", "support", "case", "complaint", "helpdesk", "zendesk"),
              "subscriptions": ("subscription", "churn", "contract", "membership", "plan", "telco"),
              "units": ("store", "unit", "shop", "branch", "location"),
              "program_rollout": ("rollout", "program", "programme", "treatment", "launch")}

#: Date formats tried on text that is not ISO 8601, most common first (day-first before month-first).
DATE_FORMATS = ("%Y%m%d", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
                "%m/%d/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M",
                "%d-%m-%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d/%m/%y %H:%M", "%d/%m/%y",
                "%m/%d/%y %H:%M", "%m/%d/%y", "%d %b %Y", "%d %B %Y", "%b %d, %Y", "%Y%m%d%H%M%S")

_CURRENCY_WORDS = {"USD": ("usd", "dollar"), "EUR": ("eur", "euro"), "GBP": ("gbp", "pound", "sterling")}


@dataclass(frozen=True)
class FileGuess:
    """What ``cx init`` made of one file: its table, columns, read options, and notes on what it could not guess."""

    file: str
    kind: str
    table: str | None
    columns: dict[str, str] = field(default_factory=dict)
    date_formats: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    unmapped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    score: float = 0.0


@dataclass(frozen=True)
class MappingProposal:
    """A proposed ``cx.yml`` for a folder: one :class:`FileGuess` per file, guessed settings, and notes."""

    folder: Path
    files: tuple[FileGuess, ...]
    settings: dict[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        """The proposal as ``cx.yml``'s mapping form (what :func:`cxlib.data.mapping.mapping_from_dict` reads)."""
        tables: dict[str, object] = {}
        for g in self.files:
            if g.table is None:
                continue
            cols = {t: ({"source": s, "date_format": g.date_formats[t]} if t in g.date_formats else s)
                    for t, s in g.columns.items()}
            tables[g.table] = {"file": g.file, **g.options, "columns": cols}
        return {**self.settings, "tables": tables}

    def to_yaml(self) -> str:
        """The proposal as a commented ``cx.yml`` (deterministic: no dates, sorted where order is free)."""
        q = json.dumps  # a JSON string is a valid YAML double-quoted scalar
        out = [f"# {MAPPING_FILE}: how cxlib reads this folder. Proposed by `cx init` from the first {SAMPLE:,} rows",
               "# of each file: check every line (especially those marked CHECK), then run `cx validate` on the folder.",
               "# Keys: see the README, \"Use your own data\".", ""]
        cur = self.settings.get("currency")
        out.append(f"currency: {q(cur)}  # CHECK: guessed from the amount column's name" if cur else
                   "# currency: EUR          # not guessed: the ISO code of your amounts (EUR by default)")
        out.append("# time_zone: UTC         # not guessed: the zone of your timestamps (UTC by default)")
        if self.settings.get("conversion_touchpoint"):
            out.append(f"conversion_touchpoint: {q(self.settings['conversion_touchpoint'])}  # CHECK: guessed from "
                       "the touchpoints")
        else:
            out.append("# conversion_touchpoint: purchase   # the touchpoint that converts a journey ('purchase' "
                       "by default)")
        out.append("# funnel_steps: [...]    # not guessed: the ordered steps of your funnel")
        segs = self.settings.get("segment_columns")
        out.append(f"segment_columns: [{', '.join(q(s) for s in segs)}]  # CHECK: customer columns used as segments"
                   if segs else "# segment_columns: [...] # customer columns used as segments (default: region, "
                                "age_band, loyalty_tier, acquisition_channel when present)")
        out += ["", "tables:"]
        mapped = [g for g in self.files if g.table is not None]
        if not mapped:
            out.append("  {}  # no file was recognised as a table of the contract: map them by hand")
        for g in sorted(mapped, key=lambda g: list(TABLES).index(g.table)):
            out.append(f"  {g.table}:")
            out.append(f"    file: {q(g.file)}")
            for key, value in g.options.items():
                out.append(f"    {key}: {q(value)}")
            out.append("    columns:")
            for target, source in g.columns.items():
                fmt = g.date_formats.get(target)
                value = f"{{source: {q(source)}, date_format: {q(fmt)}}}" if fmt else q(source)
                out.append(f"      {target}: {value}")
            for note in g.notes:
                out.append(f"    # {note}")
            if g.unmapped:
                use = " (usable as segment columns)" if g.table == "customers" else ""
                out.append(f"    # kept as extra columns{use}: {', '.join(g.unmapped)}")
        rest = [n for g in self.files if g.table is None for n in g.notes] + list(self.notes)
        if rest:
            out += ["", "# Not guessed:"] + [f"# - {n}" for n in rest]
        return "\n".join(out) + "\n"


def _data_files(folder: Path) -> list[Path]:
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith(".") or p.name == MAPPING_FILE or p.name.startswith("truth"):
            continue
        suffix = Path(p.stem).suffix if p.suffix == ".gz" else p.suffix
        if (p.is_file() and suffix.lower() in DATA_SUFFIXES) or (p.is_dir() and any(p.rglob("*.parquet"))):
            files.append(p)
    return files


def _sniff_csv(path: Path) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """A sample of a CSV file as text, the options read it with (delimiter, encoding), and notes."""
    import pyarrow as pa

    with pa.input_stream(str(path), compression="detect") as raw:
        head = raw.read(1 << 20)
    notes, options = [], {}
    for encoding in ("utf-8", "cp1252", "latin-1"):
        try:
            text = head.decode(encoding)
            break
        except UnicodeDecodeError as exc:
            if len(head) - exc.start < 4 and encoding == "utf-8":  # a character cut by the sample's end
                text = head[:exc.start].decode(encoding)
                break
    if encoding != "utf-8":
        options["encoding"] = encoding
        notes.append(f"CHECK: encoding {encoding} guessed (the file is not UTF-8)")
    text = text.lstrip("\ufeff")
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    counts = {d: min((ln.count(d) for ln in lines[:10]), default=0) for d in (",", ";", "\t", "|")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    if counts[delimiter] == 0:
        notes.append("CHECK: no delimiter found (one column?); cx.yml reads CSV with one of , ; tab |")
        delimiter = ","
    if delimiter != ",":
        options["delimiter"] = delimiter
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if len(head) == (1 << 20) and len(rows) > 1:
        rows = rows[:-1]  # the sample may cut the last row
    header, body = rows[0] if rows else [], rows[1:SAMPLE + 1]
    width = len(header)
    frame = pd.DataFrame([r[:width] + [""] * (width - len(r)) for r in body], columns=[h.strip() for h in header],
                         dtype="string")
    return frame.replace("", pd.NA), options, notes


def _sample(path: Path) -> tuple[pd.DataFrame, str, dict[str, str], list[str]]:
    kind = "parquet" if path.is_dir() else DATA_SUFFIXES[(Path(path.stem).suffix if path.suffix == ".gz"
                                                           else path.suffix).lower()]
    if kind == "csv":
        frame, options, notes = _sniff_csv(path)
        return frame, kind, options, notes
    import duckdb

    src = f"'{path}/**/*.parquet'" if path.is_dir() else f"'{path}'"
    return duckdb.connect().sql(f"SELECT * FROM read_parquet({src}) LIMIT {SAMPLE}").df(), kind, {}, []


def _date_format(values: pd.Series) -> tuple[str | None, bool, str]:
    """(format or None for ISO 8601, whether the values are dates at all, a note when ambiguous)."""
    present = values.dropna()
    if present.empty:
        return None, False, ""
    if pd.api.types.is_datetime64_any_dtype(present):
        return None, True, ""
    text = present.astype("string").str.strip()
    if pd.api.types.is_numeric_dtype(present):
        text = present.astype("float64").map(lambda v: str(int(v)) if float(v).is_integer() else str(v))
    if not text.str.fullmatch(r"\d+").all() and pd.to_datetime(text, errors="coerce", format="ISO8601").notna().all():
        return None, True, ""
    fits = [f for f in DATE_FORMATS if pd.to_datetime(text, errors="coerce", format=f).notna().all()]
    if fits and fits[0] == "%Y%m%d":
        years = pd.to_datetime(text, format="%Y%m%d").dt.year
        if not years.between(1900, 2100).all():
            fits = fits[1:]
    if not fits:
        return None, False, ""
    same = [f for f in fits if f.replace("%d", "%m") != fits[0].replace("%d", "%m")]
    ambiguous = len(fits) > 1 and len(same) < len(fits) - 1
    note = (f"CHECK: {fits[0]!r} or {fits[1]!r}? every day in the sample is 12 or less" if ambiguous else "")
    return fits[0], True, note


def _fits(column: Column, values: pd.Series, decimal: str) -> tuple[bool, str | None, str]:
    """Whether sample values fit a contract column's kind; the date format; a note."""
    present = values.dropna()
    if present.empty:
        return True, None, ""
    if column.kind in ("timestamp", "date"):
        fmt, ok, note = _date_format(present)
        return ok, fmt, note
    if column.kind in ("int", "float"):
        numbers = parse_numbers(present, decimal)
        if numbers.isna().any():
            return False, None, ""
        if column.kind == "int" and not (numbers == numbers.round()).all():
            return False, None, ""
        return True, None, ""
    return True, None, ""


def _decimal(frame: pd.DataFrame, delimiter: str) -> str:
    """``","`` when numeric-looking text uses a decimal comma (and commas do not separate values)."""
    if delimiter == ",":
        return "."
    for name in frame.columns:
        text = frame[name].dropna().astype("string").str.strip()
        if len(text) and text.str.fullmatch(r"[+-]?\d{1,3}(\.\d{3})*,\d+|[+-]?\d+,\d+").mean() > 0.5:
            return ","
    return "."


def _guess_table(path: Path, table: str, frame: pd.DataFrame, decimal: str) -> FileGuess:
    spec = TABLES[table]
    by_flat: dict[str, str] = {}
    for name in frame.columns:
        by_flat.setdefault(_flat(name), name)
    taken: set[str] = set()
    columns, formats, notes = {}, {}, []
    for col in spec.columns:
        for synonym in (_flat(col.name), *SYNONYMS.get(col.name, ())):
            source = by_flat.get(synonym)
            if source is None or source in taken:
                continue
            ok, fmt, note = _fits(col, frame[source], decimal)
            if not ok:
                continue
            columns[col.name], taken = source, taken | {source}
            if fmt:
                formats[col.name] = fmt
            if note:
                notes.append(f"{col.name}: {note}")
            break
    missing = [c.name for c in spec.required_columns if c.name not in columns]
    if spec.at_least_one and not any(c in columns for c in spec.at_least_one):
        missing.append(f"one of {list(spec.at_least_one)}")
    key = [columns[k] for k in spec.key if k in columns]
    if table == "customers" and "customer_id" in columns and frame[columns["customer_id"]].dropna().duplicated().any():
        missing.append("customer_id unique per row (a customers file has one row per customer)")
    elif key and len(key) == len(spec.key) and frame[key].dropna().duplicated().any():
        for k in spec.key:
            taken.discard(columns.pop(k))
        notes.append(f"CHECK: {', '.join(map(repr, key))} repeats within the file, so it is not mapped as the key "
                     f"{list(spec.key)}; the contract wants one row per {table[:-1].replace('_', ' ')} "
                     f"(e.g. one per basket, not per line item)")
    hint = any(w in _flat(path.name) for w in FILE_HINTS[table])
    score = (len(spec.required_columns) - len(missing)) * 10 + len(columns) + (5 if hint else 0) - 100 * len(missing)
    return FileGuess(file=path.name, kind="", table=table, columns=columns, date_formats=formats,
                     unmapped=tuple(c for c in frame.columns if c not in taken), notes=tuple(notes), score=score)


def _guess_file(folder: Path, path: Path) -> list[FileGuess]:
    """Every table's reading of one file, best first."""
    frame, kind, options, notes = _sample(path)
    decimal = _decimal(frame, options.get("delimiter", ",")) if kind == "csv" else "."
    if decimal == ",":
        options = {**options, "decimal": ","}
    rel = path.relative_to(folder).as_posix()
    guesses = []
    for table in TABLES:
        g = _guess_table(path, table, frame, decimal)
        guesses.append(FileGuess(file=rel, kind=kind, table=table, columns=g.columns, date_formats=g.date_formats,
                                 options=options, unmapped=g.unmapped, notes=tuple(notes) + g.notes, score=g.score))
    return sorted(guesses, key=lambda g: (-g.score, list(TABLES).index(g.table)))


def _settings(guesses: list[FileGuess], folder: Path) -> dict[str, object]:
    settings: dict[str, object] = {}
    for g in guesses:
        source = g.columns.get("amount") or g.columns.get("monthly_fee") if g.table else None
        if source:
            for code, words in _CURRENCY_WORDS.items():
                if any(w in source.lower() for w in words):
                    settings["currency"] = code
    events = next((g for g in guesses if g.table == "events" and "touchpoint" in g.columns), None)
    if events is not None:
        frame, _, _, _ = _sample(folder / events.file)
        values = frame[events.columns["touchpoint"]].dropna().astype(str)
        if not (values == "purchase").any():
            for pattern in ("purchase", "order_complete", "checkout_complete", "payment_done", "payment", "order",
                            "buy", "conversion", "transaction"):
                hits = sorted(v for v in values.unique() if pattern in v.lower())
                if hits:
                    settings["conversion_touchpoint"] = hits[0]
                    break
    customers = next((g for g in guesses if g.table == "customers"), None)
    if customers is not None:
        frame, _, _, _ = _sample(folder / customers.file)
        segs = [c for c in customers.unmapped if frame[c].dtype == "string" or frame[c].dtype == object]
        segs = [c for c in segs if 1 < frame[c].nunique() <= 50]
        if segs:
            settings["segment_columns"] = [*[c for c in ("region", "age_band", "loyalty_tier", "acquisition_channel")
                                             if c in customers.columns], *segs]
    return settings


def propose_mapping(folder: str | Path) -> MappingProposal:
    """Propose a ``cx.yml`` for the CSV/Parquet files of ``folder`` (see the module docstring).

    Each file gets the table whose required columns it covers best (a table goes to one file only);
    a file that covers no table's required columns is listed as not guessed, with its columns.

    Raises
    ------
    DataContractError
        The folder does not exist or holds no CSV or Parquet file.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "online_retail.csv").write_text(
    ...     "InvoiceNo,CustomerID,InvoiceDate,Total,Country\\n536365,17850,01/12/2010 08:26,15.3,UK\\n"
    ...     "536366,17851,13/12/2010 09:01,22.0,UK\\n")
    >>> g = propose_mapping(folder).files[0]
    >>> g.table, g.columns, g.date_formats
    ('transactions', {'transaction_id': 'InvoiceNo', 'customer_id': 'CustomerID', 'timestamp': 'InvoiceDate', 'amount': 'Total'}, {'timestamp': '%d/%m/%Y %H:%M'})
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataContractError(f"Data folder {folder} does not exist.", rule="folder present")
    paths = _data_files(folder)
    if not paths:
        raise DataContractError(f"Data folder {folder} holds no CSV (.csv, .tsv, .txt) or Parquet file to map.",
                                rule="folder present")
    ranked = {p: _guess_file(folder, p) for p in paths}
    chosen: dict[str, FileGuess] = {}
    notes = []
    # best matches first: a table goes to the file that covers it best
    for score, path, guess in sorted(((g.score, p, g) for p, gs in ranked.items() for g in gs if g.score > 0),
                                     key=lambda x: (-x[0], x[1].name, list(TABLES).index(x[2].table))):
        if path.name in {c.file for c in chosen.values()} or guess.table in chosen:
            continue
        chosen[guess.table] = guess
    files = []
    for path, gs in ranked.items():
        rel = path.relative_to(folder).as_posix()
        mine = next((g for g in chosen.values() if g.file == rel), None)
        if mine is not None:
            files.append(mine)
            continue
        best = gs[0]
        why = (f"'{rel}': no table of the contract recognised (columns: {', '.join(map(str, _columns_of(best)))}); "
               f"closest: {best.table}, which needs {[c.name for c in TABLES[best.table].required_columns]}")
        if best.table in chosen and best.score > 0:
            why = f"'{rel}': also looks like {best.table}, already read from '{chosen[best.table].file}'"
        amount_parts = [c for c in _columns_of(best) if _flat(c) in ("quantity", "qty")] and \
            [c for c in _columns_of(best) if "price" in _flat(c)]
        if amount_parts:
            why += ("; an amount could be quantity x price, but cx.yml maps columns, it does not compute them: "
                    "add an amount column to the export")
        files.append(FileGuess(file=rel, kind=best.kind, table=None, notes=(why,)))
    missing = [t for t in TABLES if t not in chosen]
    if missing:
        notes.append(f"tables without a file: {', '.join(missing)} (optional; each unlocks the sections that need it)")
    return MappingProposal(folder=folder, files=tuple(files), settings=_settings(list(chosen.values()), folder),
                           notes=tuple(notes))


def _columns_of(guess: FileGuess) -> list[str]:
    return [*guess.columns.values(), *guess.unmapped]


def write_mapping(folder: str | Path, *, force: bool = False) -> tuple[Path, MappingProposal]:
    """Write the proposed ``cx.yml`` into ``folder``; an existing one is kept unless ``force``.

    The text written is checked to read back as a valid mapping before it is written.

    Raises
    ------
    DataContractError
        ``cx.yml`` exists and ``force`` is False (nothing is written), or the folder holds no data file.
    """
    folder = Path(folder)
    target = folder / MAPPING_FILE
    if target.exists() and not force:
        raise DataContractError(f"{target} exists already; it was left as it is. Pass --force to replace it with a "
                                "new proposal.", rule="mapping")
    proposal = propose_mapping(folder)
    text = proposal.to_yaml()
    import yaml

    mapping_from_dict(yaml.safe_load(text) or {}, folder=folder)  # what we write must read back
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return target, proposal

