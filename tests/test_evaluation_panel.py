"""Tests of cxlib.evaluation.panel: store x period metric panels from the contract tables."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.evaluation import PANEL_COLUMNS, PANEL_METRICS, build_panel

D = pd.Timestamp


@pytest.fixture()
def tables() -> dict:
    customers = pd.DataFrame({"customer_id": ["c1", "c2", "c3", "c4"], "home_unit_id": ["S1", "S1", "S2", "S2"],
                              "signup_date": [D("2024-12-01"), D("2025-01-15"), D("2024-11-01"), D("2024-11-01")]})
    tx = pd.DataFrame({
        "transaction_id": [f"t{i}" for i in range(5)], "customer_id": ["c1", "c2", "c3", "c1", "c2"],
        "unit_id": ["S1", "S1", "S2", "S2", "S1"],
        "timestamp": [D("2025-01-03"), D("2025-01-20"), D("2025-01-05"), D("2025-02-10"), D("2025-02-11")],
        "amount": [10.0] * 5, "items": [2, 1, 4, 3, 1], "returned_items": [1, 0, 1, 0, 0],
        "stockout_items": [0, 1, 0, 1, 0]})
    tickets = pd.DataFrame({
        "ticket_id": ["k1", "k2", "k3"], "customer_id": ["c1", "c3", "c2"], "unit_id": ["S1", None, "S1"],
        "ticket_type": ["complaint", "complaint", "inquiry"],
        "opened_at": [D("2025-01-04 10:00"), D("2025-02-01 09:00"), D("2025-02-02 08:00")],
        "resolved_at": [D("2025-01-04 16:00"), D("2025-02-02 09:00"), pd.NaT]})
    surveys = pd.DataFrame({
        "response_id": ["r1", "r2", "r3"], "customer_id": ["c1", "c2", "c3"], "unit_id": ["S1", "S1", None],
        "responded_at": [D("2025-01-10"), D("2025-01-11"), D("2025-02-11")], "nps": [10, 3, 9],
        "csat": [5, 2, np.nan]})
    return {"units": pd.DataFrame({"unit_id": ["S1", "S2"]}),
            "program_rollout": pd.DataFrame({"unit_id": ["S1"], "program": ["cx"], "rollout_date": [D("2025-01-15")]}),
            "customers": customers, "transactions": tx, "tickets": tickets, "survey_responses": surveys}


def _cell(panel: pd.DataFrame, unit: str, month: str) -> pd.Series:
    return panel[(panel.unit_id == unit) & (panel.period == D(month))].iloc[0]


def test_schema_balance_and_first_full_period(tables):
    panel = build_panel(tables, metric="return_rate")
    assert list(panel.columns) == list(PANEL_COLUMNS)
    assert len(panel) == 4  # 2 stores x 2 months
    # rollout on 2025-01-15: January is partly treated, so February is the first treated month
    assert (panel.loc[panel.unit_id == "S1", "first_treated"] == D("2025-02-01")).all()
    assert panel.loc[panel.unit_id == "S2", "first_treated"].isna().all()
    assert panel["treated"].tolist() == [0, 1, 0, 0]


@pytest.mark.parametrize(("metric", "unit", "month", "expected"), [
    ("return_rate", "S1", "2025-01-01", 1 / 3),            # (1 + 0) / (2 + 1)
    ("out_of_stock_rate", "S1", "2025-01-01", 1 / 4),      # 1 / (3 items + 1 stock-out)
    ("out_of_stock_rate", "S2", "2025-02-01", 1 / 4),
    ("purchase_frequency", "S1", "2025-01-01", 1.0),       # only c1 signed up before Jan 1: 1 purchase
    ("purchase_frequency", "S1", "2025-02-01", 1.0),       # c1 (S2 purchase counts) and c2: 2 / 2
    ("complaint_rate", "S1", "2025-01-01", 1000.0),        # 1 complaint / 1 customer x 1000
    ("complaint_rate", "S2", "2025-02-01", 0.0),           # the complaint without unit_id is not a store's
    ("nps", "S1", "2025-01-01", 0.0),                      # one promoter, one detractor
    ("nps", "S2", "2025-02-01", 100.0),                    # no unit_id: the respondent's home store
    ("csat", "S1", "2025-01-01", 0.5),
    ("resolution_time", "S1", "2025-01-01", 6.0),
    ("resolution_time", "S2", "2025-02-01", 24.0),
])
def test_metric_definitions(tables, metric, unit, month, expected):
    panel = build_panel(tables, metric=metric)
    assert _cell(panel, unit, month)["value"] == pytest.approx(expected)


def test_empty_cells_are_nan_not_zero(tables):
    panel = build_panel(tables, metric="csat")
    assert np.isnan(_cell(panel, "S2", "2025-01-01")["value"])
    assert _cell(panel, "S2", "2025-01-01")["denominator"] == 0


def test_every_metric_is_documented():
    assert set(PANEL_METRICS) == {"complaint_rate", "purchase_frequency", "return_rate", "out_of_stock_rate",
                                  "nps", "csat", "resolution_time"}
    assert all(m.better in ("higher", "lower") and m.definition for m in PANEL_METRICS.values())


def test_errors(tables):
    with pytest.raises(ParameterError, match="metric='churn'"):
        build_panel(tables, metric="churn")
    with pytest.raises(ParameterError, match="program='other'"):
        build_panel(tables, metric="nps", program="other")
    two = dict(tables, program_rollout=pd.concat([tables["program_rollout"],
                                                  tables["program_rollout"].assign(program="b")]))
    with pytest.raises(ParameterError, match="choose one"):
        build_panel(two, metric="nps")
    with pytest.raises(DataContractError, match="'tickets' is needed"):
        build_panel({k: v for k, v in tables.items() if k != "tickets"}, metric="complaint_rate")


def test_segment_filter_is_the_panel_of_the_segments_customers(tables):
    tables["customers"]["tier"] = ["gold", "bronze", "gold", "bronze"]
    gold = build_panel(tables, metric="return_rate", segment={"tier": "gold"})  # c1 and c3
    # S1 January: c1's 2 items, 1 returned (c2's transaction is left out); S2 February: c1's 3 items, none returned
    assert _cell(gold, "S1", "2025-01-01")["value"] == 0.5 and _cell(gold, "S1", "2025-01-01")["denominator"] == 2
    assert _cell(gold, "S2", "2025-02-01")["value"] == 0.0 and np.isnan(_cell(gold, "S1", "2025-02-01")["value"])
    sub = {k: (v[v["customer_id"].isin(["c1", "c3"])] if "customer_id" in v else v) for k, v in tables.items()}
    for metric in ("complaint_rate", "purchase_frequency", "nps"):
        pd.testing.assert_frame_equal(build_panel(tables, metric=metric, segment={"tier": ["gold"]}),
                                      build_panel(sub, metric=metric))
    with pytest.raises(DataContractError, match="region"):
        build_panel(tables, metric="nps", segment={"region": "north"})
    with pytest.raises(ParameterError, match="levels found"):
        build_panel(tables, metric="nps", segment={"tier": "platinum"})
