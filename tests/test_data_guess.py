"""Tests of ``cx init`` (:mod:`cxlib.data.guess`): a proposed cx.yml for a folder of exports, checked by loading it."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from cxlib import data
from cxlib.cli import main
from cxlib.data.guess import propose_mapping, write_mapping
from cxlib.errors import DataContractError

ROOT = Path(__file__).resolve().parents[1]


def _init(folder: Path, *args: str) -> str:
    result = CliRunner().invoke(main, ["init", str(folder), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_cdnow_exported_with_its_own_names_is_mapped_and_loads(tmp_path):
    """CDNOW (tests/data/CDNOW_sample.txt, from the lifetimes wheel) as a CSV with lifetimes' column names."""
    raw = pd.read_csv(ROOT / "tests" / "data" / "CDNOW_sample.txt", sep=r"\s+", header=None, dtype=str,
                      names=["master_id", "customer_id", "date", "number_of_cds", "dollar_value"])
    raw.drop(columns="master_id").to_csv(tmp_path / "cdnow.csv", index=False)
    out = _init(tmp_path)
    assert "cdnow.csv" in out and "transactions (customer_id <- customer_id, timestamp <- date" in out
    text = (tmp_path / "cx.yml").read_text()
    assert 'timestamp: {source: "date", date_format: "%Y%m%d"}' in text
    assert 'currency: "USD"' in text and 'items: "number_of_cds"' in text
    ds = data.load(tmp_path)
    tx = ds.transactions
    assert len(tx) == 6919 and tx["customer_id"].nunique() == 2357  # the sample's documented sizes
    assert tx["amount"].sum() == pytest.approx(pd.to_numeric(raw["dollar_value"]).sum())
    assert (tx["timestamp"].min(), tx["timestamp"].max()) == (pd.Timestamp("1997-01-01"), pd.Timestamp("1998-06-30"))
    assert ds.settings.currency.code == "USD"


def test_an_event_log_and_a_customers_file_are_told_apart(tmp_path):
    pd.DataFrame({"user_id": ["u1", "u1", "u2"], "session_id": ["s1", "s1", "s2"],
                  "event": ["home", "payment_done", "home"],
                  "timestamp": ["2024-03-13 10:21:14", "2024-03-13 10:22:00", "2024-03-14 09:00:00"],
                  "platform": ["web", "web", "app"]}).to_csv(tmp_path / "clickstream.csv", index=False)
    pd.DataFrame({"UserID": ["u1", "u2"], "Segment": ["new", "loyal"], "Joined": ["2024-01-05", "2023-11-30"]}
                 ).to_parquet(tmp_path / "users.parquet")
    proposal = propose_mapping(tmp_path)
    by_file = {g.file: g for g in proposal.files}
    assert by_file["clickstream.csv"].table == "events"
    assert by_file["clickstream.csv"].columns == {"customer_id": "user_id", "journey_id": "session_id",
                                                  "timestamp": "timestamp", "touchpoint": "event",
                                                  "channel": "platform"}
    assert by_file["users.parquet"].table == "customers"
    assert by_file["users.parquet"].columns == {"customer_id": "UserID", "signup_date": "Joined"}
    assert proposal.settings == {"conversion_touchpoint": "payment_done", "segment_columns": ["Segment"]}
    write_mapping(tmp_path)
    ds = data.load(tmp_path)
    assert ds.settings.conversion_touchpoint == "payment_done" and ds.segment_columns() == ["Segment"]
    assert ds.customers["signup_date"].tolist() == [pd.Timestamp("2024-01-05"), pd.Timestamp("2023-11-30")]


def test_semicolons_decimal_commas_and_a_legacy_encoding_are_guessed(tmp_path):
    (tmp_path / "umsatz.csv").write_bytes("Kundennummer;Datum;Betrag;Ort\nK1;03.11.2025;1.234,50;München\n"
                                          "K2;14.11.2025;0,99;Köln\n".encode("cp1252"))
    (tmp_path / "cx.yml")  # not there yet
    proposal = propose_mapping(tmp_path)
    g = proposal.files[0]
    assert g.table is None  # German names are not among the synonyms: listed as not guessed
    assert "no table of the contract recognised (columns: Kundennummer, Datum, Betrag, Ort)" in g.notes[0]
    (tmp_path / "umsatz.csv").write_bytes("CustomerID;Date;Amount;Ort\nK1;03.11.2025;1.234,50;München\n"
                                          "K2;14.11.2025;0,99;Köln\n".encode("cp1252"))
    g = propose_mapping(tmp_path).files[0]
    assert g.table == "transactions" and g.options == {"encoding": "cp1252", "delimiter": ";", "decimal": ","}
    assert g.date_formats == {"timestamp": "%d.%m.%Y"}
    write_mapping(tmp_path)
    assert data.load(tmp_path).transactions["amount"].tolist() == [1234.5, 0.99]


def test_line_items_and_amounts_to_compute_are_flagged(tmp_path):
    pd.DataFrame({"InvoiceNo": ["536365", "536365"], "CustomerID": ["17850", "17850"],
                  "InvoiceDate": ["12/1/2010 8:26", "12/1/2010 8:26"], "Quantity": [6, 8],
                  "UnitPrice": [2.55, 3.39]}).to_csv(tmp_path / "online_retail.csv", index=False)
    g = propose_mapping(tmp_path).files[0]
    assert g.table is None
    assert "an amount could be quantity x price, but cx.yml maps columns, it does not compute them" in g.notes[0]
    pd.DataFrame({"InvoiceNo": ["536365", "536365"], "CustomerID": ["17850", "17850"],
                  "InvoiceDate": ["2010-12-01 08:26", "2010-12-01 08:26"], "Total": [15.3, 27.12]}).to_csv(
        tmp_path / "online_retail.csv", index=False)
    g = propose_mapping(tmp_path).files[0]
    assert g.table == "transactions" and "transaction_id" not in g.columns
    assert any("'InvoiceNo' repeats within the file" in n for n in g.notes)


def test_cx_init_never_overwrites_without_force(tmp_path):
    (tmp_path / "transactions.csv").write_text("customer_id,timestamp,amount\nC1,2025-01-01,3\n")
    (tmp_path / "cx.yml").write_text("currency: GBP\n")
    result = CliRunner().invoke(main, ["init", str(tmp_path)])
    assert result.exit_code == 1 and "exists already; it was left as it is. Pass --force" in result.output
    assert (tmp_path / "cx.yml").read_text() == "currency: GBP\n"
    _init(tmp_path, "--force")
    assert yaml.safe_load((tmp_path / "cx.yml").read_text())["tables"]["transactions"]["columns"] == {
        "customer_id": "customer_id", "timestamp": "timestamp", "amount": "amount"}


def test_the_proposal_is_deterministic_and_lists_what_it_could_not_guess(tmp_path):
    (tmp_path / "transactions.csv").write_text("customer_id,timestamp,amount\nC1,2025-01-01,3\n")
    (tmp_path / "notes.csv").write_text("what,who\nhello,me\n")
    first = propose_mapping(tmp_path).to_yaml()
    assert first == propose_mapping(tmp_path).to_yaml()
    assert "# - 'notes.csv': no table of the contract recognised (columns: what, who)" in first
    assert "# - tables without a file: customers, units, program_rollout, events, subscriptions" in first
    assert "# currency: EUR          # not guessed" in first


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataContractError, match="holds no CSV"):
        propose_mapping(tmp_path)
