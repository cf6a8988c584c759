"""Tests for cxlib/actions/lists.py and cxlib/actions/report.py: CRM lists, ids, values, atomic export."""
from __future__ import annotations

import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from cxlib.actions.lists import (LIST_SUMMARY_COLUMNS, ActionList, build_action_lists, detractor_list,
                                 sla_breach_list, write_action_lists)
from cxlib.sections.actions import action_findings, list_overview, risk_by_customer, theme_counts, without_key_warning
from cxlib.errors import ParameterError


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "test-secret")


def responses():
    return pd.DataFrame({"response_id": ["R1", "R2", "R3", "R4"], "customer_id": ["C1", "C2", "C3", "C2"],
                         "responded_at": pd.to_datetime(["2025-10-05", "2025-11-01", "2025-11-02", "2025-07-01"]),
                         "touchpoint": ["delivery", "store_visit", "app", "app"], "unit_id": [None, "S01", None, None],
                         "nps": [1, 6, 10, 0], "csat": [1, 3, 5, 1], "ces": [7, 4, 1, 7],
                         "comment": ["The parcel never arrived, mail me at ann.lee@example.com",
                                     "Staff were rude and the queue was long", "Great", "old complaint"]})


def customers():
    return pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "first_name": ["Ann", "Bob", "Cy"],
                         "last_name": ["Lee", "Stone", "Ray"]})


def test_detractors_are_pseudonymized_tagged_redacted_and_valued():
    out = detractor_list(responses(), customers(), period="2025Q4", recovery_rate=0.5)
    f = out.frame
    assert out.ids == "pseudonymized" and "customer_id" not in f.columns
    assert f["customer_pseudonym"].str.fullmatch(r"P[0-9a-f]{16}").all()
    assert f["response_id"].tolist() == ["R1", "R2"] and f["nps"].tolist() == [1, 6]  # the July answer is not Q4
    assert f["themes"].tolist() == ["delivery", "waiting_time; staff"]  # in the taxonomy's order
    assert "[EMAIL]" in f.loc[0, "comment"] and "example.com" not in f.to_csv()
    assert out.expected_value == pytest.approx(100 * 0.5 * 2 / 3)  # 2 listed of 3 respondents in Q4


def test_real_ids_are_an_explicit_opt_in_and_bad_values_raise():
    out = detractor_list(responses(), customers(), period="2025Q4", ids="real")
    assert out.frame["customer_id"].tolist() == ["C1", "C2"]
    with pytest.raises(ParameterError, match="ids"):
        detractor_list(responses(), customers(), period="2025Q4", ids="raw")
    with pytest.raises(ParameterError):
        detractor_list(responses(), customers(), period="2025Q4", recovery_rate=2)


def test_sla_breaches_count_tickets_resolved_after_the_end_as_open():
    t = pd.DataFrame({"ticket_id": ["T1", "T2", "T3", "T4"], "customer_id": ["C1", "C2", "C3", "C1"],
                      "unit_id": [None] * 4, "channel": ["email"] * 4, "ticket_type": ["complaint"] * 4,
                      "category": ["delivery"] * 4,
                      "opened_at": pd.to_datetime(["2025-12-01", "2025-12-30", "2025-12-20", "2026-01-05"]),
                      "resolved_at": pd.to_datetime([None, None, "2026-01-03", None])})
    out = sla_breach_list(t, observation_end="2025-12-31", sla_hours=48)
    assert out.frame["ticket_id"].tolist() == ["T1", "T3"]  # T2 is 48 h old (not past), T4 opened later
    assert out.frame["hours_past_sla"].tolist() == [744.0 - 48, 12 * 24.0 - 48]
    assert np.isnan(out.expected_value) and "customer_pseudonym" in out.frame


def test_written_lists_are_neutral_against_formula_injection(tmp_path):
    import csv

    from cxlib.escape import csv_cell_is_neutral

    hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "a;=1+1", "-3.5"]
    item = ActionList(name="x", frame=pd.DataFrame({"segment": hostile, "n": range(len(hostile))}), ids="real")
    path = write_action_lists({"x": item}, tmp_path)[0]
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert all(csv_cell_is_neutral(cell) for row in rows for cell in row)
    assert [r[0] for r in rows[1:]] == ["'" + h for h in hostile[:6]] + ["a;=1+1", "-3.5"]


def test_write_is_atomic_with_a_manifest(tmp_path):
    item = ActionList(name="x", frame=pd.DataFrame({"customer_pseudonym": ["Pa"], "v": [0.1234567891234]}),
                      ids="pseudonymized", expected_value=3.0, value_unit="EUR", assumption="a")
    paths = write_action_lists({"x": item}, tmp_path / "out", parameters={"period": "2025Q4"})
    assert [p.name for p in paths] == ["x.csv", "manifest.json"]
    # text quoted, numbers not (cxlib.escape.csv_text: a separator inside a cell never splits it)
    assert (tmp_path / "out" / "x.csv").read_text() == '"customer_pseudonym","v"\n"Pa",0.1234567891234\n'
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["lists"][0]["rows"] == 1 and manifest["parameters"] == {"period": "2025Q4"}
    assert oct(os.stat(paths[0]).st_mode & 0o777) == "0o644"
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]  # no temporary files left


def test_report_helpers():
    item = ActionList(name="detractors", frame=pd.DataFrame({"themes": ["price", "", "none"]}), ids="real",
                      expected_value=2.0, value_unit="NPS points", assumption="a", method="m")
    assert list(list_overview({"d": item}).columns) == list(LIST_SUMMARY_COLUMNS)
    assert theme_counts(item)["theme"].tolist() == ["price", "no comment", "none"]
    keys = [f.key for f in action_findings({"detractors": item}, period="2025Q4")]
    assert keys == ["action_detractors_rows", "action_detractors_value"]


def test_key_warning_becomes_a_flag(monkeypatch):
    monkeypatch.delenv("CX_PSEUDONYM_KEY")
    out, keyless = without_key_warning(detractor_list, responses(), customers(), period="2025Q4")
    assert keyless and len(out.frame) == 2


def test_lists_on_a_synthetic_world_rank_by_value_and_join_back(tmp_path):
    from cxlib.data import load
    from cxlib.synth import generate
    generate(tmp_path / "w", n_customers=1500, seed=4)
    ds = load(tmp_path / "w")
    lists = build_action_lists(ds, period="2025Q4", save_rate=0.25)
    churn = lists["churn_risk"]
    v = churn.frame["value_at_stake"].to_numpy()
    assert len(v) > 50 and (np.diff(v) <= 1e-12).all() and churn.frame["rank"].tolist() == list(range(1, len(v) + 1))
    assert churn.expected_value == pytest.approx(0.25 * v.sum(), rel=1e-9)
    assert churn.ci_lower < churn.expected_value < churn.ci_upper
    text = "".join(item.frame.to_csv() for item in lists.values())
    assert not re.search(r"\bC\d{7}\b", text)  # no raw customer id in any list
    risk = risk_by_customer(churn, ds.customers["customer_id"].pipe(pd.Index))
    assert risk.notna().sum() == len(churn.frame)


def test_segments_go_into_every_export_after_the_customer():
    labels = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "rfm_segment": ["champions", "at risk", None],
                           "behavioural_segment": [2, 0, 1]})
    real = detractor_list(responses(), customers(), period="2025Q4", ids="real", segments=labels)
    assert real.frame.columns[:3].tolist() == ["customer_id", "rfm_segment", "behavioural_segment"]
    assert real.frame[["customer_id", "rfm_segment", "behavioural_segment"]].values.tolist() == [
        ["C1", "champions", "2"], ["C2", "at risk", "0"]]
    pseudo = detractor_list(responses(), customers(), period="2025Q4", segments=labels)
    assert pseudo.frame.columns[:2].tolist() == ["customer_pseudonym", "rfm_segment"]
    plain = detractor_list(responses(), customers(), period="2025Q4")
    pd.testing.assert_frame_equal(pseudo.frame.drop(columns=["rfm_segment", "behavioural_segment"]), plain.frame)
    t = pd.DataFrame({"ticket_id": ["T1", "T2"], "customer_id": ["C3", "C9"], "unit_id": [None] * 2,
                      "channel": ["email"] * 2, "ticket_type": ["complaint"] * 2, "category": ["delivery"] * 2,
                      "opened_at": pd.to_datetime(["2025-12-01", "2025-12-02"]), "resolved_at": pd.NaT})
    sla = sla_breach_list(t, observation_end="2025-12-31", ids="real", segments=labels)
    assert sla.frame[["ticket_id", "rfm_segment", "behavioural_segment"]].values.tolist() == [
        ["T1", "unassigned", "1"], ["T2", "unassigned", "unassigned"]]


def test_segments_must_be_one_label_per_customer():
    from cxlib.errors import DataContractError
    with pytest.raises(DataContractError, match="repeated customer_id.*C1"):
        detractor_list(responses(), customers(), period="2025Q4",
                       segments=pd.DataFrame({"customer_id": ["C1", "C1"], "s": ["a", "b"]}))
    with pytest.raises(DataContractError, match="C1"):  # the old mapping type is checked the same way
        detractor_list(responses(), customers(), period="2025Q4",
                       segments={"s": pd.Series(["a", "b"], index=["C1", "C1"])})
    with pytest.raises(ParameterError, match="Series"):
        detractor_list(responses(), customers(), period="2025Q4", segments={"s": ["a"]})
    with pytest.raises(ParameterError, match="DataFrame with a customer_id column"):
        detractor_list(responses(), customers(), period="2025Q4", segments=["a"])


def test_the_old_segments_types_still_work_and_warn():
    """A mapping of Series and a frame indexed by customer id (the types before issue 16) give the same export."""
    frame = pd.DataFrame({"customer_id": ["C1", "C2"], "rfm_segment": ["champions", "at risk"]})
    new = detractor_list(responses(), customers(), period="2025Q4", ids="real", segments=frame).frame
    with pytest.warns(DeprecationWarning, match="mapping of name to Series.*rename_axis\\('customer_id'\\)"):
        old = detractor_list(responses(), customers(), period="2025Q4", ids="real",
                             segments={"rfm_segment": frame.set_index("customer_id")["rfm_segment"]}).frame
    pd.testing.assert_frame_equal(old, new)
    with pytest.warns(DeprecationWarning, match="indexed by customer id"):
        old = detractor_list(responses(), customers(), period="2025Q4", ids="real",
                             segments=frame.set_index("customer_id")).frame
    pd.testing.assert_frame_equal(old, new)


def test_the_lists_import_analyses_only_never_notebook_glue():
    import ast
    from pathlib import Path

    import cxlib.actions.lists as lists

    tree = ast.parse(Path(lists.__file__).read_text(encoding="utf-8"))
    modules = [("." * n.level) + (n.module or "") for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    modules += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert modules and not [m for m in modules if "sections" in m or m.endswith(".report") or ".report." in m]
