"""Tests of bringing your own data (issue 17): cx.yml mappings, settings, CSV done right, open vocabularies.

Covers :mod:`cxlib.data.mapping` (the mapping file and its mistakes), :mod:`cxlib.data.parse` and
:mod:`cxlib.data.files` (CSV read with the contract's types: formats, decimal comma, encodings, errors
naming file, column, line and value; CSV and Parquet give identical frames) and the minimal contract
(:mod:`cxlib.schema`).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cxlib import data
from cxlib.errors import DataContractError
from cxlib.format import Currency, format_money
from cxlib.schema import CONTRACT, TABLES, contract_frame, table_contract


def sales(folder: Path, text: str, mapping: str | None = None, name: str = "sales.csv") -> Path:
    """A folder with one export file (written as bytes when ``text`` is bytes) and its cx.yml."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    target.write_bytes(text) if isinstance(text, bytes) else target.write_text(text, encoding="utf-8")
    if mapping is not None:
        (folder / "cx.yml").write_text(mapping, encoding="utf-8")
    return folder


RETAIL = "CustomerID,InvoiceDate,Total,Country\nC1,03/11/2025 14:05,12.50,UK\nC2,31/12/2025 09:00,7,FR\n"
RETAIL_MAP = ("currency: GBP\ntables:\n  transactions:\n    file: sales.csv\n    date_format: '%d/%m/%Y %H:%M'\n"
              "    columns: {customer_id: CustomerID, timestamp: InvoiceDate, amount: Total}\n")


# ----------------------------------------------------------------------------- the minimal contract, as data

def test_the_contract_requires_only_identifiers_times_and_measures():
    required = {t: [c.name for c in spec.required_columns] for t, spec in CONTRACT.items()}
    assert required == {
        "customers": ["customer_id"], "units": ["unit_id"], "program_rollout": ["unit_id", "rollout_date"],
        "events": ["customer_id", "timestamp", "touchpoint"], "transactions": ["customer_id", "timestamp", "amount"],
        "subscriptions": ["customer_id", "start_date", "end_date"], "survey_responses": ["customer_id", "responded_at"],
        "tickets": ["customer_id", "opened_at"]}
    assert all(c.unlocks for spec in TABLES.values() for c in spec.optional_columns), "every optional column unlocks"
    frame = contract_frame()
    assert list(frame.columns) == ["table", "column", "kind", "required", "nullable", "unit", "unlocks", "segment"]
    assert len(frame) == sum(len(t.columns) for t in TABLES.values())
    assert frame.query("segment")["column"].tolist() == ["region", "age_band", "loyalty_tier", "acquisition_channel"]
    assert table_contract("survey_responses").at_least_one == ("nps", "csat", "ces")
    with pytest.raises(KeyError, match="'orders' is not a table of the data contract"):
        table_contract("orders")


def test_column_allowed_is_a_deprecated_alias_of_levels():
    col = TABLES["customers"].column("loyalty_tier")
    with pytest.warns(DeprecationWarning, match="Column.allowed is deprecated"):
        assert col.allowed == col.levels == ("bronze", "silver", "gold")


def test_a_transactions_file_alone_with_its_own_names_loads(tmp_path):
    ds = data.load(sales(tmp_path, RETAIL, RETAIL_MAP))
    assert list(ds.tables) == ["transactions"]
    tx = ds.transactions
    assert tx.columns.tolist() == ["customer_id", "timestamp", "amount", "Country"]  # the extra column is kept
    assert tx["timestamp"].tolist() == [pd.Timestamp("2025-11-03 14:05"), pd.Timestamp("2025-12-31 09:00")]
    assert tx["amount"].tolist() == [12.5, 7.0] and tx["amount"].dtype == "float64"
    assert ds.settings.currency == Currency("GBP") and format_money(12.5, ds.settings.currency) == "£12.50"
    assert ds.span == (pd.Timestamp("2025-11-03 14:05"), pd.Timestamp("2025-12-31 09:00"))
    # SQL sees the contract's names and types (a CSV read as text gave binder errors before)
    con = ds.connection()
    assert con.execute("SELECT sum(amount), max(timestamp) FROM transactions").fetchone() == (
        19.5, pd.Timestamp("2025-12-31 09:00").to_pydatetime())
    assert data.table_columns(tmp_path) == {"transactions": ["customer_id", "timestamp", "amount", "Country"]}
    from cxlib.engine import connect  # the SQL engines get the typed frame of a CSV or mapped table

    assert not ds.reads_in_place("transactions")
    assert connect(ds, engine="duckdb").sql("SELECT sum(amount) AS s FROM transactions", {"s": "float64"})[
        "s"].tolist() == [19.5]


def test_open_vocabularies_accept_the_datas_own_values(tmp_path):
    events = pd.DataFrame({"customer_id": ["a", "a", "b"], "timestamp": pd.to_datetime(
        ["2025-01-02 10:00", "2025-01-02 10:05", "2025-01-03 09:00"]), "touchpoint": ["landing", "signup", "landing"],
        "channel": ["fax", "fax", "carrier pigeon"]})
    customers = pd.DataFrame({"customer_id": ["a", "b"], "loyalty_tier": ["platinum", None], "Country": ["NL", "BE"]})
    folder = tmp_path / "d"
    folder.mkdir()
    events.to_parquet(folder / "events.parquet")
    customers.to_parquet(folder / "customers.parquet")
    (folder / "cx.yml").write_text("conversion_touchpoint: signup\nfunnel_steps: [landing, signup]\n"
                                   "segment_columns: [loyalty_tier, Country]\n")
    ds = data.load(folder)
    assert set(ds.events["channel"]) == {"fax", "carrier pigeon"}
    assert ds.settings.conversion_touchpoint == "signup" and ds.settings.funnel_steps == ("landing", "signup")
    assert ds.segment_columns() == ["loyalty_tier", "Country"]


def test_vocabulary_cardinality_is_checked(tmp_path):
    n = 501  # events.touchpoint holds at most 500 distinct values
    events = pd.DataFrame({"customer_id": ["a"] * n, "timestamp": pd.Timestamp("2025-01-02")
                           + pd.to_timedelta(np.arange(n), unit="min"), "touchpoint": [f"t{i:03d}" for i in range(n)]})
    folder = tmp_path / "d"
    folder.mkdir()
    events.to_parquet(folder / "events.parquet")
    with pytest.raises(DataContractError, match=r"column 'touchpoint' fails rule 'at most 500 distinct values': it "
                                                r"has 501 distinct values \(most common: 't000' \(1\), 't001' \(1\)"):
        data.load(folder)


def test_default_settings_work_without_any(tmp_path):
    events = pd.DataFrame({"customer_id": ["a"], "timestamp": [pd.Timestamp("2025-01-02")], "touchpoint": ["view"]})
    folder = tmp_path / "d"
    folder.mkdir()
    events.to_parquet(folder / "events.parquet")
    ds = data.load(folder)
    assert ds.settings.currency.code == "EUR" and ds.settings.time_zone == "UTC"
    assert ds.settings.conversion_touchpoint is None  # no 'purchase' in these events: no conversion until set
    assert ds.segment_columns() == [] and ds.mapping.path is None
    ds = data.load(folder, settings={"conversion_touchpoint": "view", "currency": "usd"})  # e.g. from the plan
    assert ds.settings.conversion_touchpoint == "view" and ds.settings.currency.symbol == "$"


# ----------------------------------------------------------------------------- CSV done right

def _world(tmp_path: Path) -> Path:
    from cxlib.synth import generate

    folder = tmp_path / "parquet"
    generate(folder, n_customers=300, seed=11)
    for p in folder.glob("truth*"):
        p.unlink()
    return folder


def test_csv_and_parquet_of_the_same_data_give_identical_frames(tmp_path):
    parquet = _world(tmp_path)
    csv = tmp_path / "csv"
    csv.mkdir()
    for table in TABLES:
        pd.read_parquet(parquet / f"{table}.parquet").to_csv(csv / f"{table}.csv", index=False)
    a, b = data.load(parquet), data.load(csv)
    for table in TABLES:
        pd.testing.assert_frame_equal(a[table], b[table], obj=table)
    pd.testing.assert_frame_equal(a.validation.drop(columns=["file", "format"]),
                                  b.validation.drop(columns=["file", "format"]))
    query = ("SELECT c.loyalty_tier, count(*), round(sum(t.amount), 6), max(t.timestamp) FROM transactions t "
             "JOIN customers c USING (customer_id) GROUP BY 1 ORDER BY 1")
    assert a.connection().execute(query).fetchall() == b.connection().execute(query).fetchall()


def test_both_csv_and_parquet_for_one_table_is_an_error(tmp_path):
    folder = sales(tmp_path, "customer_id,timestamp,amount\nC1,2025-01-01,3\n", name="transactions.csv")
    pd.read_csv(folder / "transactions.csv").to_parquet(folder / "transactions.parquet")
    with pytest.raises(DataContractError, match=r"holds transactions.parquet and transactions.csv for table "
                                                r"'transactions': keep one of them"):
        data.load(folder)


@pytest.mark.parametrize("value, shown", [("2025-01-01T10:00:00+02:00", "2025-01-01 08:00"),
                                          ("2025-01-01 10:00", "2025-01-01 10:00"),
                                          ("2025-01-01", "2025-01-01 00:00"),
                                          ("20250101", "2025-01-01 00:00"),  # ISO 8601 basic format
                                          ("03/11/2025", None)])
def test_iso_dates_parse_and_others_need_a_format(tmp_path, value, shown):
    folder = sales(tmp_path, f"customer_id,timestamp,amount\nC1,{value},3\n", name="transactions.csv")
    if shown is None:
        with pytest.raises(DataContractError, match=r"expected an ISO 8601 date/time \(set date_format in cx.yml"):
            data.load(folder)
        (folder / "cx.yml").write_text("date_format: '%d/%m/%Y'\n")
        shown = "2025-11-03 00:00"
    assert data.load(folder).transactions["timestamp"].iloc[0] == pd.Timestamp(shown)


def test_time_zone_converts_offsets_and_keeps_local_times(tmp_path):
    text = "customer_id,timestamp,amount\nC1,2025-07-01T10:00:00+00:00,3\nC2,2025-07-01 12:30,4\n"
    folder = sales(tmp_path, text, "time_zone: Europe/Paris\n", name="transactions.csv")
    ds = data.load(folder)
    assert ds.transactions["timestamp"].tolist() == [pd.Timestamp("2025-07-01 12:00"), pd.Timestamp("2025-07-01 12:30")]
    assert ds.validation.set_index("table").loc["transactions", "repairs"] == (
        "timestamp: 1 value(s) with a UTC offset converted to Europe/Paris")


def test_decimal_comma_delimiter_and_encoding_from_the_mapping(tmp_path):
    text = "Kunde;Datum;Betrag;Stadt\nK1;03.11.2025;1.234,50;München\nK2;04.11.2025;0,99;Köln\n".encode("cp1252")
    mapping = ("currency: EUR\ndelimiter: ';'\ndecimal: ','\nencoding: cp1252\ndate_format: '%d.%m.%Y'\n"
               "tables:\n  transactions:\n    file: umsatz.csv\n"
               "    columns: {customer_id: Kunde, timestamp: Datum, amount: Betrag}\n")
    ds = data.load(sales(tmp_path, text, mapping, name="umsatz.csv"))
    assert ds.transactions["amount"].tolist() == [1234.5, 0.99]
    assert ds.transactions["Stadt"].tolist() == ["München", "Köln"]


@pytest.mark.parametrize("amount, decimal, fragment", [
    ("twelve", ".", r"line 3 \(data row 1\): 'twelve'"),
    ("1.5", ",", r"expected a number \(decimal separator ','\).*line 3 \(data row 1\): '1.5'"),
])
def test_an_unparseable_value_names_file_column_line_and_value(tmp_path, amount, decimal, fragment):
    text = f"CustomerID;Date;Total\nC1;2025-01-01;3\nC2;2025-01-02;{amount}\n"
    mapping = (f"delimiter: ';'\ndecimal: '{decimal}'\ntables:\n  transactions:\n    file: export.csv\n"
               "    columns: {customer_id: CustomerID, timestamp: Date, amount: Total}\n")
    with pytest.raises(DataContractError) as err:
        data.load(sales(tmp_path, text, mapping, name="export.csv"))
    message = str(err.value)
    assert message.startswith("Table 'transactions' (export.csv), column 'amount' (source column 'Total') fails rule "
                              "'type: float'")
    assert re.search(fragment, message), message
    assert err.value.table == "transactions" and err.value.column == "amount"


def test_a_date_not_in_the_mapped_format_names_the_format(tmp_path):
    text = "customer_id,timestamp,amount\nC1,03/11/2025,3\nC2,2025-11-04,4\nC3,13/13/2025,5\n"
    folder = sales(tmp_path, text, "date_format: '%d/%m/%Y'\n", name="transactions.csv")
    with pytest.raises(DataContractError, match=r"column 'timestamp' fails rule 'type: timestamp': expected a "
                                                r"date/time in the format '%d/%m/%Y'.* in 2 row\(s\).*Examples: line 3 "
                                                r"\(data row 1\): '2025-11-04', line 4 \(data row 2\): '13/13/2025'"):
        data.load(folder)


def test_csv_extra_columns_of_numbers_are_numbers_but_codes_stay_text(tmp_path):
    text = "customer_id,timestamp,amount,visits,score,zip\nC1,2025-01-01,3,4,1.5,01234\nC2,2025-01-02,4,5,,99999\n"
    tx = data.load(sales(tmp_path, text, name="transactions.csv")).transactions
    assert tx["visits"].dtype == "int64" and tx["score"].dtype == "float64" and tx["zip"].dtype == data.TEXT_DTYPE
    assert tx["zip"].tolist() == ["01234", "99999"]


# ----------------------------------------------------------------------------- every mapping mistake, by name

MISTAKES = {
    "unknown table": ("tables:\n  orders:\n    file: sales.csv\n",
                      r"cx.yml: unknown table\(s\) \['orders'\] under 'tables'; the contract's tables are \['customers'"),
    "unknown key": ("currencies: USD\n", r"cx.yml: unknown key\(s\) \['currencies'\]; expected some of \['conversion_"),
    "unknown table key": ("tables:\n  transactions:\n    path: sales.csv\n",
                          r"cx.yml: tables.transactions: unknown key\(s\) \['path'\]; expected some of \['file', "),
    "missing file": ("tables:\n  transactions:\n    file: sale.csv\n",
                     r"tables.transactions.file='sale.csv' does not exist in .*; files there: \['sales.csv'\]"),
    "missing source column": (RETAIL_MAP.replace("amount: Total", "amount: Totl"),
                              r"cx.yml: tables.transactions.columns.amount names source column 'Totl', which sales.csv "
                              r"does not have; its columns: \['CustomerID', 'InvoiceDate', 'Total', 'Country'\]"),
    "bad date format": (RETAIL_MAP.replace("%d/%m/%Y %H:%M", "%d/%q/%Y"),
                        r"tables.transactions.date_format='%d/%q/%Y' is not a valid date format: unknown directive "
                        r"'%q'"),
    "date format without a year": ("date_format: '%d/%m'\n", r"date_format='%d/%m' is not a valid date format: it needs "
                                                              r"a year \(%Y\) and a month \(%m\)"),
    "duplicate target": (RETAIL_MAP.replace("amount: Total}", "amount: Total}\n    columns: {amount: Country}"),
                         r"cx.yml is not valid YAML: .*duplicate key 'columns' \(first on line 6, again on line 7\)"),
    "duplicate target in one mapping": (RETAIL_MAP.replace("amount: Total}", "amount: Total, amount: Country}"),
                                        r"duplicate key 'amount'"),
    "one source column mapped twice": (RETAIL_MAP.replace("amount: Total", "amount: Total, Country: CustomerID"),
                                           r"maps source column 'CustomerID' to several columns \['customer_id', "
                                           r"'Country'\]"),
    "bad decimal": ("decimal: ';'\n", r"cx.yml.decimal=';': the decimal separator must be '.' or ','"),
    "bad delimiter": ("delimiter: ';;'\n", r"cx.yml.delimiter=';;': the delimiter must be one character"),
    "bad encoding": ("encoding: klingon\n", r"cx.yml.encoding='klingon' is not a text encoding Python knows"),
    "bad time zone": ("time_zone: Mars/Olympus\n", r"time_zone='Mars/Olympus' is not an IANA time zone"),
    "bad currency": ("currency: Dollars\n", r"currency='Dollars' is not an ISO 4217 code"),
    "one funnel step": ("funnel_steps: [purchase]\n", r"funnel_steps must list at least two touchpoints"),
    "invalid yaml": ("tables: [\n", r"cx.yml is not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_every_mapping_mistake_has_a_specific_message(tmp_path, case):
    mapping, message = MISTAKES[case]
    with pytest.raises(DataContractError, match=message) as err:
        data.load(sales(tmp_path, RETAIL, mapping))
    assert err.value.rule in ("mapping", "required column")


def test_a_mapped_column_next_to_a_column_of_the_same_name_is_refused(tmp_path):
    text = "CustomerID,customer_id,timestamp,amount\nC1,X1,2025-01-01,3\n"
    mapping = "tables:\n  transactions:\n    file: t.csv\n    columns: {customer_id: CustomerID}\n"
    with pytest.raises(DataContractError, match=r"tables.transactions.columns.customer_id: t.csv has a column "
                                                r"'customer_id' besides the mapped source column 'CustomerID'"):
        data.load(sales(tmp_path, text, mapping, name="t.csv"))


def test_settings_that_name_what_the_data_lack_are_errors(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    pd.DataFrame({"customer_id": ["a", "b"], "timestamp": pd.to_datetime(["2025-01-02", "2025-01-03"]),
                  "touchpoint": ["view", "buy"]}).to_parquet(folder / "events.parquet")
    pd.DataFrame({"customer_id": ["a", "b"], "region": ["N", "S"]}).to_parquet(folder / "customers.parquet")
    (folder / "cx.yml").write_text("conversion_touchpoint: purchase\n")
    with pytest.raises(DataContractError, match=r"touchpoint\(s\) \['purchase'\] .* never holds; its most common "
                                                r"values: \['buy', 'view'\]"):
        data.load(folder)
    (folder / "cx.yml").write_text("segment_columns: [tier]\n")
    with pytest.raises(DataContractError, match=r"segment column\(s\) \['tier'\], which the customers table does not "
                                                r"have; its columns: \['customer_id', 'region'\]"):
        data.load(folder)


def test_validation_examples_are_the_first_rows_in_order_and_never_cut(tmp_path):
    n = 40
    tx = pd.DataFrame({"customer_id": [f"customer-with-a-long-identifier-{i:03d}" for i in range(n)],
                       "timestamp": pd.Timestamp("2025-01-01"), "amount": -1.0 * np.arange(1, n + 1)})
    folder = tmp_path / "d"
    folder.mkdir()
    tx.iloc[::-1].reset_index(drop=True).to_parquet(folder / "transactions.parquet")
    with pytest.raises(DataContractError) as err:
        data.load(folder)
    line = err.value.failures[0]
    assert line == ("column 'amount' fails rule '>= 0' in 40 row(s); examples (first 5 shown): row 0: -40.0, "
                    "row 1: -39.0, row 2: -38.0, row 3: -37.0, row 4: -36.0")
