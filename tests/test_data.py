"""Tests of cxlib.data: loading through DuckDB and the data contract (cxlib.schema)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cxlib import data
from cxlib.errors import DataContractError
from cxlib.schema import TABLES, contract_markdown

ROOT = Path(__file__).resolve().parents[1]


def tiny_tables() -> dict[str, pd.DataFrame]:
    """A minimal valid dataset: every table, every rule satisfied."""
    ts = pd.Timestamp
    return {
        "units": pd.DataFrame({"unit_id": ["S01", "S02"], "unit_name": ["Leeds", "York"],
                               "region": ["North", "North"], "size_sqm": [800.0, 650.0]}),
        "program_rollout": pd.DataFrame({"unit_id": ["S01"], "program": ["cx_program"],
                                         "rollout_date": [ts("2025-01-01")], "wave": [1]}),
        "customers": pd.DataFrame({
            "customer_id": ["C1", "C2", "C3"], "first_name": ["Ann", "Bo", None], "last_name": ["Lee", "Ng", "Ox"],
            "signup_date": [ts("2024-01-05"), ts("2024-02-01"), ts("2024-03-01")],
            "home_unit_id": ["S01", "S02", "S01"], "region": ["North", "South", "East"],
            "age_band": ["18-24", "65+", "35-44"], "loyalty_tier": ["gold", "bronze", "silver"],
            "acquisition_channel": ["web", "store", "app"]}),
        "events": pd.DataFrame({
            "event_id": ["E1", "E2", "E3"], "customer_id": ["C1", "C1", "C2"], "journey_id": ["J1", "J1", "J2"],
            "timestamp": [ts("2024-03-01 10:00"), ts("2024-03-01 10:05"), ts("2024-03-02 09:00")],
            "touchpoint": ["homepage", "purchase", "search"], "channel": ["web", "web", "app"],
            "unit_id": [None, None, None]}),
        "transactions": pd.DataFrame({
            "transaction_id": ["T1", "T2"], "customer_id": ["C1", "C2"], "unit_id": ["S01", "S02"],
            "timestamp": [ts("2024-03-01 10:05"), ts("2024-04-01 12:00")], "amount": [59.9, 120.0],
            "items": [1, 3], "returned_items": [0, 1], "stockout_items": [0, 2]}),
        "subscriptions": pd.DataFrame({
            "subscription_id": ["M1", "M2"], "customer_id": ["C1", "C3"], "plan": ["basic", "premium"],
            "monthly_fee": [5.0, 15.0], "start_date": [ts("2024-01-05"), ts("2024-03-01")],
            "end_date": [ts("2024-08-01"), pd.NaT]}),
        "survey_responses": pd.DataFrame({
            "response_id": ["R1", "R2"], "customer_id": ["C1", "C2"], "unit_id": ["S01", None],
            "touchpoint": ["purchase", "support"], "responded_at": [ts("2024-03-02"), ts("2024-04-02")],
            "nps": [9, None], "csat": [5, 2], "ces": [None, 6], "comment": ["Great fit", None]}),
        "tickets": pd.DataFrame({
            "ticket_id": ["K1", "K2"], "customer_id": ["C2", "C3"], "unit_id": ["S02", None],
            "channel": ["chat", "email"], "ticket_type": ["complaint", "inquiry"], "category": ["sizing", "delivery"],
            "opened_at": [ts("2024-04-01 09:00"), ts("2024-05-01 09:00")],
            "first_response_at": [ts("2024-04-01 09:03"), pd.NaT],
            "resolved_at": [ts("2024-04-01 10:00"), pd.NaT], "hold_minutes": [1.5, None],
            "handle_minutes": [12.0, None]}),
    }


def write(tables: dict[str, pd.DataFrame], folder: Path, fmt: str = "parquet") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_valid_folder_loads_with_contract_types(tmp_path, fmt):
    ds = data.load(write(tiny_tables(), tmp_path, fmt))
    assert set(ds.tables) == set(TABLES)
    assert ds.customers.shape == (3, 9)
    assert ds.transactions["items"].dtype == "int64"
    assert str(ds.survey_responses["nps"].dtype) == "Int64"
    assert ds.events["timestamp"].dtype == "datetime64[ns]"
    assert ds.subscriptions["end_date"].isna().sum() == 1
    v = ds.validation.set_index("table")
    assert v.loc["transactions", "rows"] == 2 and (v["status"] == "valid").all()
    assert v.loc["events", "first"] == pd.Timestamp("2024-03-01 10:00")
    assert (v["checks"] > 3).all()


def test_connection_views_read_files_directly(tmp_path):
    ds = data.load(write(tiny_tables(), tmp_path))
    con = ds.connection(threads=1)
    assert con.execute("SELECT sum(items) FROM transactions").fetchone()[0] == 4
    assert len(ds.file_hashes()["units"]) == 64


def test_csv_with_time_zone_offsets_is_converted_to_utc(tmp_path):
    tables = tiny_tables()
    tables["events"]["timestamp"] = ["2024-03-01T11:00:00+01:00", "2024-03-01T10:05:00Z", "2024-03-02 09:00"]
    ds = data.load(write(tables, tmp_path, "csv"))
    assert ds.events["timestamp"].iloc[0] == pd.Timestamp("2024-03-01 10:00")


def _break(table: str, change) -> dict[str, pd.DataFrame]:
    tables = tiny_tables()
    tables[table] = change(tables[table].copy())
    return tables


BAD_INPUTS = {
    "missing column": (_break("transactions", lambda d: d.drop(columns="amount")),
                       "transactions", "amount", "missing required column"),
    "optional column that looks like a misspelling": (_break("customers", lambda d: d.rename(
        columns={"loyalty_tier": "LoyaltyTier"})), "customers", "loyalty_tier", "'LoyaltyTier' looks like"),
    "no score column at all": (_break("survey_responses", lambda d: d.drop(columns=["nps", "csat", "ces"])),
                               "survey_responses", "nps", "at least one of ['nps', 'csat', 'ces']"),
    "vocabulary column present but empty": (_break("customers", lambda d: d.assign(region=[None, None, None])),
                                            "customers", "region", "present but empty"),
    "misspelled column": (_break("customers", lambda d: d.rename(columns={"signup_date": "signupdate"})),
                          "customers", "signup_date", "signupdate"),
    "wrong type": (_break("transactions", lambda d: d.assign(amount=["12.5", "twelve"])),
                   "transactions", "amount", "twelve"),
    "fractional count": (_break("transactions", lambda d: d.assign(items=[1.5, 2.0])),
                         "transactions", "items", "whole number"),
    "score out of range": (_break("survey_responses", lambda d: d.assign(nps=[11, None])),
                           "survey_responses", "nps", "<= 10"),
    "end before start": (_break("subscriptions", lambda d: d.assign(end_date=[pd.Timestamp("2023-12-01"), pd.NaT])),
                         "subscriptions", "end_date", "before 'start_date'"),
    "resolved before opened": (_break("tickets", lambda d: d.assign(
        resolved_at=[pd.Timestamp("2024-03-01"), pd.NaT])), "tickets", "resolved_at", "before 'opened_at'"),
    "duplicate key": (_break("customers", lambda d: d.assign(customer_id=["C1", "C1", "C3"])),
                      "customers", "customer_id", "unique key"),
    "orphan foreign key": (_break("transactions", lambda d: d.assign(customer_id=["C1", "C99"])),
                           "transactions", "customer_id", "C99"),
    "orphan unit in rollout": (_break("program_rollout", lambda d: d.assign(unit_id=["S77"])),
                               "program_rollout", "unit_id", "S77"),
    "empty table": (_break("tickets", lambda d: d.iloc[0:0]), "tickets", None, "empty"),
    "null in required": (_break("events", lambda d: d.assign(touchpoint=["homepage", None, "search"])),
                         "events", "touchpoint", "not null"),
    "returned more than bought": (_break("transactions", lambda d: d.assign(returned_items=[2, 1])),
                                  "transactions", "returned_items", "returned_items <= items"),
    "response without scores": (_break("survey_responses", lambda d: d.assign(csat=[5, None], ces=[None, None])),
                                "survey_responses", "nps", "at least one score"),
    "timestamp in the future": (_break("events", lambda d: d.assign(
        timestamp=[pd.Timestamp("2024-03-01 10:00"), pd.Timestamp("2199-01-01"), pd.Timestamp("2024-03-02")])),
        "events", "timestamp", "in the future"),
    "placeholder far-future date": (_break("subscriptions", lambda d: d.assign(
        end_date=pd.Series([pd.Timestamp("2024-08-01"), pd.Timestamp("9999-12-31")], dtype="datetime64[s]"))),
        "subscriptions", "end_date", "should be empty"),
    "huge outlier amount": (_break("transactions", lambda d: d.assign(amount=[59.9, 3e9])),
                            "transactions", "amount", "<= 1000000"),
    "score as text": (_break("survey_responses", lambda d: d.assign(nps=["9", "ten"])),
                      "survey_responses", "nps", "ten"),
    "negative fee": (_break("subscriptions", lambda d: d.assign(monthly_fee=[5.0, -15.0])),
                     "subscriptions", "monthly_fee", ">= 0"),
    "first response before opened": (_break("tickets", lambda d: d.assign(
        first_response_at=[pd.Timestamp("2024-03-31"), pd.NaT])), "tickets", "first_response_at", "before"),
    "duplicate rollout": (_break("program_rollout", lambda d: pd.concat([d, d])),
                          "program_rollout", "unit_id", "unique key"),
    "all-missing required column": (_break("units", lambda d: d.assign(unit_name=[None, None])),
                                    "units", "unit_name", "not null"),
    "date with time of day": (_break("subscriptions", lambda d: d.assign(
        start_date=[pd.Timestamp("2024-01-05 13:30"), pd.Timestamp("2024-03-01")])),
        "subscriptions", "start_date", "times of day"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_names_table_column_rule_and_rows(tmp_path, case):
    tables, table, column, fragment = BAD_INPUTS[case]
    folder = write(tables, tmp_path)
    with pytest.raises(DataContractError) as err:
        data.load(folder)
    message = str(err.value)
    assert err.value.table == table
    assert f"'{table}'" in message
    assert fragment in message, message
    if column is not None:
        assert err.value.column == column
        assert f"'{column}'" in message


def test_bad_rows_are_sampled_in_the_error(tmp_path):
    tables = _break("survey_responses", lambda d: d.assign(csat=[7, 9]))
    with pytest.raises(DataContractError) as err:
        data.load(write(tables, tmp_path))
    assert "2 row(s)" in str(err.value)
    assert "row 0: 7" in str(err.value) and "row 1: 9" in str(err.value)


def test_malformed_csv_and_truncated_parquet_are_clear(tmp_path):
    folder = write(tiny_tables(), tmp_path / "a", "csv")
    (folder / "units.csv").write_bytes(b'unit_id,unit_name,region\nS01,"Leeds,North\nS02,York\n')
    with pytest.raises(DataContractError, match="Table 'units': cannot read units.csv"):
        data.load(folder)
    folder = write(tiny_tables(), tmp_path / "b")
    blob = (folder / "events.parquet").read_bytes()
    (folder / "events.parquet").write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataContractError, match="Table 'events': cannot read events.parquet"):
        data.load(folder)


def test_non_utf8_csv_is_named(tmp_path):
    folder = write(tiny_tables(), tmp_path, "csv")
    (folder / "units.csv").write_bytes("unit_id,unit_name,region\nS01,M\xfcnster,North\nS02,York,North\n"
                                       .encode("latin-1"))
    with pytest.raises(DataContractError, match="Table 'units': cannot read units.csv.*UTF-8"):
        data.load(folder)


def test_time_zone_repairs_are_reported_in_the_validation_summary(tmp_path):
    tables = tiny_tables()
    tables["events"]["timestamp"] = ["2024-03-01T11:00:00+01:00", "2024-03-01T10:05:00Z", "2024-03-02 09:00"]
    ds = data.load(write(tables, tmp_path, "csv"))
    repairs = ds.validation.set_index("table")["repairs"]
    assert repairs["events"] == "timestamp: 2 value(s) with a UTC offset converted to UTC"
    assert repairs["customers"] == ""


def test_missing_folder_and_missing_requested_table(tmp_path):
    with pytest.raises(DataContractError, match="does not exist"):
        data.load(tmp_path / "nope")
    folder = write({k: v for k, v in tiny_tables().items() if k != "tickets"}, tmp_path / "x")
    assert "tickets" not in data.load(folder)
    with pytest.raises(DataContractError, match=r"no file for table\(s\) \['tickets'\]"):
        data.load(folder, tables=["customers", "tickets"])


def test_data_readme_is_generated_from_the_contract():
    assert (ROOT / "data" / "README.md").read_text(encoding="utf-8") == contract_markdown(), \
        "data/README.md is stale: run `python -m cxlib.schema > data/README.md`"


def test_cx_validate_reports_ok_and_failures(tmp_path):
    from click.testing import CliRunner

    from cxlib.cli import main

    good = write(tiny_tables(), tmp_path / "good")
    result = CliRunner().invoke(main, ["validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "OK: 8 table(s)" in result.output and "transactions" in result.output
    assert ("Settings by default (no cx.yml): currency EUR (€), time zone UTC, conversion touchpoint purchase, funnel "
            "the journeys section's default, segment columns region, age_band, loyalty_tier, acquisition_channel."
            ) in result.output
    bad = write(_break("survey_responses", lambda d: d.assign(nps=[11, None])), tmp_path / "bad")
    result = CliRunner().invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "INVALID" in result.output and "<= 10" in result.output
    assert CliRunner().invoke(main, ["validate", "--help"]).exit_code == 0


def test_string_coercion_equals_the_per_value_rule():
    """The vectorised text coercion (issue 9) equals the per-value rule: missing or blank (``v.strip() == ""``,
    any Unicode whitespace) becomes None, other values are kept as they are (non-text ones as ``str(v)``)."""
    import numpy as np

    from cxlib.data import _coerce
    from cxlib.schema import TABLES

    def old(raw):
        values = raw.astype(object).where(raw.notna(), None)
        if values.map(lambda v: v is not None and not isinstance(v, str)).any():
            values = values.map(lambda v: None if v is None else str(v))
        return values.map(lambda v: None if v is None or v.strip() == "" else v).astype(object)

    col = next(c for c in TABLES["customers"].columns if c.name == "first_name")
    texts = ["Ana", "", " ", "\t\n", "\u3000", "\x1c\x1d", "\u00a0", " x ", "é", "—", "\u200b", "..", "_", "日本",
             "\ud800", None, np.nan, pd.NA]
    encodable = [t for t in texts if not (isinstance(t, str) and t == "\ud800")]  # the pyarrow path (a lone surrogate takes the fallback)
    for raw in (pd.Series(texts, dtype=object), pd.Series(encodable, dtype=object),
                pd.Series(encodable[:-3], dtype=object),
                pd.Series([1, 2.5, "a", " ", None], dtype=object), pd.Series([None, None], dtype=object),
                pd.Series(["a", " ", None], dtype="string"), pd.Series([3, 4]), pd.Series([], dtype=object)):
        new, ref = _coerce(raw, col, "customers", []), old(raw)
        pd.testing.assert_series_equal(new, ref)
        assert [type(v) for v in new] == [type(v) for v in ref]


# ----------------------------------------------------------------------------- memory and validate-once

def test_text_columns_are_arrow_strings_and_blank_text_is_missing(tmp_path):
    tables = tiny_tables()
    tables["customers"]["first_name"] = ["Ann", "  ", None]
    tables["customers"]["nickname"] = ["a", "b", "c"]  # an extra column is kept, as text
    ds = data.load(write(tables, tmp_path / "d"))
    for name, frame in ds.tables.items():
        for col in TABLES[name].columns:
            if col.kind == "string" and col.name in frame:
                assert frame[col.name].dtype == data.TEXT_DTYPE, (name, col.name)
    assert ds.customers["first_name"].isna().tolist() == [False, True, True]
    assert ds.customers["nickname"].tolist() == ["a", "b", "c"]
    assert ds.customers["nickname"].dtype == data.TEXT_DTYPE


def test_arrow_text_uses_a_fraction_of_the_memory_of_python_strings(tmp_path):
    n = 50_000
    events = pd.DataFrame({"event_id": [f"E{i:08d}" for i in range(n)], "customer_id": [f"C{i % 997:07d}" for i in range(n)],
                           "journey_id": [f"J{i // 5:08d}" for i in range(n)],
                           "timestamp": pd.Timestamp("2024-03-01") + pd.to_timedelta(range(n), unit="s"),
                           "touchpoint": "homepage", "channel": "web", "unit_id": None})
    tables = tiny_tables()
    tables["customers"] = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(997)],
                                        "first_name": "A", "last_name": "B", "signup_date": pd.Timestamp("2024-01-01"),
                                        "home_unit_id": "S01", "region": "North", "age_band": "65+",
                                        "loyalty_tier": "gold", "acquisition_channel": "web"})
    tables["events"] = events
    for t in ("transactions", "subscriptions", "survey_responses", "tickets"):
        tables[t]["customer_id"] = "C0000001"
    ds = data.load(write(tables, tmp_path / "d"))
    arrow_bytes = ds.events.memory_usage(deep=True).sum()
    object_bytes = ds.events.astype({c: object for c in ds.events.columns if c != "timestamp"}).memory_usage(deep=True).sum()
    assert arrow_bytes < 0.4 * object_bytes
    assert ds.events["event_id"].iloc[12345] == "E00012345"


def _stamped(tmp_path, monkeypatch):
    folder = write(tiny_tables(), tmp_path / "d")
    full = data.load(folder)
    from cxlib.report.provenance import file_hashes
    stamp = data.write_validation_stamp(tmp_path / "validated.json", folder, file_hashes(folder), full.validation)
    monkeypatch.setenv(data.VALIDATED_ENV, str(stamp))
    return folder, full


def test_a_stamp_for_the_same_bytes_skips_revalidation(tmp_path, monkeypatch):
    folder, full = _stamped(tmp_path, monkeypatch)
    calls = []
    real = data.validate_tables
    monkeypatch.setattr(data, "validate_tables", lambda frames, **kw: calls.append(list(frames)) or real(frames, **kw))
    again = data.load(folder)
    assert calls == []
    pd.testing.assert_frame_equal(again.validation, full.validation)
    for name in full.tables:
        pd.testing.assert_frame_equal(again[name], full[name])
    subset = data.load(folder, tables=["customers", "events"])
    assert calls == [] and subset.validation["checks"].tolist() == full.validation.set_index("table").loc[
        ["customers", "events"], "checks"].tolist()


@pytest.mark.parametrize("spoil", ["changed file", "other contract", "other folder", "unreadable stamp"])
def test_a_stamp_that_does_not_cover_the_bytes_is_ignored(tmp_path, monkeypatch, spoil):
    folder, _ = _stamped(tmp_path, monkeypatch)
    if spoil == "changed file":  # a broken row written after the stamp: caught, because validation runs again
        broken = tiny_tables()
        broken["survey_responses"].loc[0, "nps"] = 11
        write({"survey_responses": broken["survey_responses"]}, folder)
    elif spoil == "other contract":
        monkeypatch.setattr(data, "contract_digest", lambda: "0" * 64)
    elif spoil == "other folder":
        import shutil
        folder = Path(shutil.copytree(folder, tmp_path / "copy"))
    else:
        Path(data.os.environ[data.VALIDATED_ENV]).write_text("{not json")
    calls = []
    real = data.validate_tables
    monkeypatch.setattr(data, "validate_tables", lambda frames, **kw: calls.append(1) or real(frames, **kw))
    if spoil == "changed file":
        with pytest.raises(DataContractError, match="nps"):
            data.load(folder)
    else:
        data.load(folder)
    assert calls == [1]


def test_lazy_tables_are_validated_but_stay_in_duckdb(tmp_path):
    folder = write(tiny_tables(), tmp_path / "d")
    full = data.load(folder)
    ds = data.load(folder, lazy=["events"])
    assert "events" not in ds.tables and "customers" in ds.tables
    with pytest.raises(KeyError, match="lazily.*connection"):
        ds["events"]
    assert ds.connection().execute("SELECT count(*) FROM events").fetchone()[0] == 3
    pd.testing.assert_frame_equal(ds.validation, full.validation)
    broken = tiny_tables()
    broken["events"].loc[0, "customer_id"] = "C404"  # a foreign key broken in the lazy table is still caught
    with pytest.raises(DataContractError, match="C404|customer_id"):
        data.load(write(broken, tmp_path / "b"), lazy=["events"])
    with pytest.raises(DataContractError, match="lazy"):
        data.load(folder, tables=["customers"], lazy=["events"])


def test_lazy_tables_under_a_stamp_are_not_read(tmp_path, monkeypatch):
    folder, full = _stamped(tmp_path, monkeypatch)
    read = []
    real = data.read_table
    monkeypatch.setattr(data, "read_table", lambda file, table, **kw: read.append(table) or real(file, table, **kw))
    ds = data.load(folder, lazy=["events", "transactions"])
    assert "events" not in read and "transactions" not in read and "customers" in read
    pd.testing.assert_frame_equal(ds.validation, full.validation, check_dtype=False)
