"""Tests of cxlib.sections.overview and of the two notebooks it serves (00 data overview, 99 executive summary)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import findings
from cxlib.sections import overview
from cxlib.errors import DataContractError, ParameterError
from cxlib.report.plan import NotebookSpec, project_root
from cxlib.report.runner import execute_notebook
from cxlib.sections.summary import parse_sentence


def tiny_dataset(folder, *, seed: int = 5) -> dict[str, pd.DataFrame]:
    """Five valid contract tables, small enough for a notebook test (40 customers, 2025Q3-Q4)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    units = pd.DataFrame({"unit_id": ["U1", "U2"], "unit_name": ["North store", "South store"],
                          "region": ["North", "South"]})
    ids = [f"C{i:03d}" for i in range(40)]
    customers = pd.DataFrame({
        "customer_id": ids, "first_name": "Ann", "last_name": "Lee",
        "signup_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 300, 40), unit="D"),
        "home_unit_id": rng.choice(["U1", "U2"], 40), "region": rng.choice(["North", "South"], 40),
        "age_band": "25-34", "loyalty_tier": rng.choice(["bronze", "gold"], 40), "acquisition_channel": "web"})
    start = pd.Timestamp("2025-07-01")

    def times(n):
        return (start + pd.to_timedelta(rng.integers(0, 184 * 24 * 60, n), unit="min")).sort_values()

    events = pd.DataFrame({"event_id": [f"E{i}" for i in range(300)], "customer_id": rng.choice(ids, 300),
                           "timestamp": times(300), "touchpoint": rng.choice(["homepage", "cart", "purchase"], 300),
                           "channel": "web"})
    items = rng.integers(1, 5, 100)
    transactions = pd.DataFrame({"transaction_id": [f"T{i}" for i in range(100)], "customer_id": rng.choice(ids, 100),
                                 "unit_id": rng.choice(["U1", "U2"], 100), "timestamp": times(100),
                                 "amount": np.round(rng.lognormal(3.5, 0.8, 100), 2), "items": items,
                                 "returned_items": 0, "stockout_items": 0})
    survey = pd.DataFrame({"response_id": [f"R{i}" for i in range(60)], "customer_id": rng.choice(ids, 60),
                           "unit_id": rng.choice(["U1", "U2"], 60), "touchpoint": "purchase",
                           "responded_at": times(60), "nps": rng.integers(0, 11, 60), "csat": rng.integers(1, 6, 60),
                           "ces": rng.integers(1, 8, 60), "comment": ""})
    tables = {"units": units, "customers": customers, "events": events, "transactions": transactions,
              "survey_responses": survey}
    for name, frame in tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return tables


def test_quarter_bounds_is_a_deprecated_alias_and_rejects_bad_periods():
    with pytest.warns(DeprecationWarning, match="quarter_bounds"):
        assert overview.quarter_bounds("2024Q1") == (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-01"))
    with pytest.warns(DeprecationWarning), pytest.raises(ParameterError, match="'2024-Q1' is not a quarter"):
        overview.quarter_bounds("2024-Q1")
    with pytest.raises(ParameterError, match="'2024-Q1' is not a period"):
        overview.overview_findings({}, period="2024-Q1")


def test_counts_and_distributions(tmp_path):
    tabs = tiny_dataset(tmp_path / "data")
    daily = overview.daily_counts(tabs["events"])
    assert int(daily["n"].sum()) == 300 and daily["date"].is_monotonic_increasing
    assert (daily["date"].diff().dropna() == pd.Timedelta("1D")).all()
    dist = overview.score_distribution(tabs["survey_responses"])
    assert dist.shape == (11, 3) and int(dist["n"].sum()) == 60 and dist["share"].sum() == pytest.approx(1.0)
    assert dist.loc[dist.score == 7, "n"].item() == int((tabs["survey_responses"]["nps"] == 7).sum())
    hist = overview.amount_histogram(tabs["transactions"], bins=10)
    assert len(hist) == 10 and int(hist["n"].sum()) == 100
    assert hist["left"].iloc[0] == pytest.approx(tabs["transactions"]["amount"].min())
    assert np.allclose(hist["right"].to_numpy()[:-1], hist["left"].to_numpy()[1:])
    fs = overview.overview_findings(tabs, period="2025Q4")
    in_q4 = int((tabs["survey_responses"]["responded_at"] >= "2025-10-01").sum())
    assert [(f.key, f.estimate, f.n, f.method) for f in fs] == [
        ("customers", 40.0, 40.0, "count"), ("survey_responses_in_period", float(in_q4), float(in_q4), "count"),
        ("transactions_in_period", float((tabs["transactions"]["timestamp"] >= "2025-10-01").sum()),
         float((tabs["transactions"]["timestamp"] >= "2025-10-01").sum()), "count")]


def test_input_errors():
    with pytest.raises(DataContractError, match="Column 'ts' not found"):
        overview.daily_counts(pd.DataFrame({"timestamp": []}), time_col="ts")
    with pytest.raises(DataContractError, match="lacks column"):
        overview.table_overview(pd.DataFrame({"table": ["x"]}))
    with pytest.raises(ParameterError, match="bins=0"):
        overview.amount_histogram(pd.DataFrame({"amount": [1.0]}), bins=0)
    assert overview.daily_counts(pd.DataFrame({"timestamp": pd.to_datetime([])})).shape == (0, 2)


def test_plots_draw_what_they_are_given(tmp_path):
    tabs = tiny_dataset(tmp_path / "data")
    dist = overview.score_distribution(tabs["survey_responses"])
    ax = overview.plot_score_distribution(dist)
    assert [int(p.get_height()) for p in ax.patches] == dist["n"].tolist()
    hist = overview.amount_histogram(tabs["transactions"], bins=8)
    ax = overview.plot_amount_histogram(hist)
    assert len(ax.patches) == 8 and ax.get_xscale() == "log"
    daily = overview.daily_counts(tabs["events"])
    ax = overview.plot_daily_counts(daily)
    assert ax.lines[0].get_ydata().tolist() == daily["n"].tolist()


def test_overview_and_summary_notebooks_execute_and_agree(tmp_path):
    """The real notebooks 00 and 99 on tiny data: findings recorded, summary sentences equal them."""
    tabs = tiny_dataset(tmp_path / "data")
    nbs = project_root() / "notebooks"
    base = {"data_dir": str(tmp_path / "data"), "period": "2025Q4", "comparison_period": "2025Q3", "alpha": 0.05,
            "seed": 1, "segment_columns": ["loyalty_tier"]}
    ov = execute_notebook(NotebookSpec("00_data_overview", nbs / "00_data_overview.ipynb"),
                          {**base, "findings_path": str(tmp_path / "findings" / "00_data_overview.json")},
                          output=tmp_path / "out" / "00.ipynb", cwd=nbs, progress=None)
    assert ov.status == "ok", ov.message
    recorded = findings.read(tmp_path / "findings")
    assert {f.key: f.estimate for f in recorded}["customers"] == len(tabs["customers"])
    sm = execute_notebook(NotebookSpec("99_executive_summary", nbs / "99_executive_summary.ipynb"),
                          {**base, "findings_path": "", "findings_dir": str(tmp_path / "findings")},
                          output=tmp_path / "out" / "99.ipynb", cwd=nbs, progress=None)
    assert sm.status == "ok", sm.message
    import nbformat

    nb = nbformat.read(tmp_path / "out" / "99.ipynb", as_version=4)
    # since issue 18 the summary is a few ranked key messages; every finding is listed in its appendix table
    outputs = [o for c in nb.cells for o in c.get("outputs", [])]
    text = "\n".join([o.get("text", "") for o in outputs if o.output_type == "stream"]
                     + [str(o.get("data", {}).get(m, "")) for o in outputs for m in ("text/markdown", "text/html")])
    assert recorded and all(f.label in text for f in recorded), [f.label for f in recorded if f.label not in text]
    kinds = {o.output_type for c in nb.cells for o in c.get("outputs", [])}
    assert "error" not in kinds and any("image/png" in o.get("data", {}) for c in nb.cells
                                        for o in c.get("outputs", []))


@pytest.mark.parametrize("fmt", ["parquet", "csv with UTC offsets"])
def test_daily_counts_in_duckdb_equal_the_pandas_counts(tmp_path, fmt):
    """The overview counts events per day in DuckDB (no pandas event log); same days, same counts."""
    from cxlib import data, synth

    folder = tmp_path / "world"
    synth.generate(folder, n_customers=300, seed=5)
    if fmt != "parquet":  # the same instants written as local times two hours east of UTC
        ev = pd.read_parquet(folder / "events.parquet")
        local = (ev["timestamp"] + pd.Timedelta(hours=2)).dt.strftime("%Y-%m-%d %H:%M:%S.%f") + "+02:00"
        ev.assign(timestamp=local).to_csv(folder / "events.csv", index=False)
        (folder / "events.parquet").unlink()
    full = data.load(folder, tables=["customers", "events"])
    lazy = data.load(folder, tables=["customers", "events"], lazy=["events"])
    want = overview.daily_counts(full.events, time_col="timestamp")
    got = overview.daily_counts_db(lazy.connection(), table="events", time_col="timestamp")
    pd.testing.assert_frame_equal(got, want)
    assert got["n"].sum() == len(full.events) and len(got) > 300
    with pytest.raises(DataContractError, match="when"):
        overview.daily_counts_db(lazy.connection(), table="events", time_col="when")
