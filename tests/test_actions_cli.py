"""Tests for the `cx actions` subcommand in cxlib/cli.py."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from cxlib.cli import main


def test_cx_actions_writes_pseudonymized_lists_and_opt_in_real_ids(tmp_path, monkeypatch):
    from cxlib.synth import generate
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "cli-secret")
    generate(tmp_path / "w", n_customers=800, seed=5)
    runner = CliRunner()
    res = runner.invoke(main, ["actions", str(tmp_path / "w"), "--out", str(tmp_path / "out"), "--top", "25"])
    assert res.exit_code == 0, res.output
    assert "OK: 3 list(s)" in res.output
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["churn_risk.csv", "detractors.csv", "manifest.json", "sla_breaches.csv"]
    text = "".join((tmp_path / "out" / f).read_text() for f in files if f.endswith(".csv"))
    assert not re.search(r"\bC\d{7}\b", text) and "customer_pseudonym" in text
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["parameters"]["ids"] == "pseudonymized"
    assert [x["rows"] for x in manifest["lists"] if x["list"] == "churn_risk"] == [25]
    res = runner.invoke(main, ["actions", str(tmp_path / "w"), "--out", str(tmp_path / "real"), "--real-ids"])
    assert res.exit_code == 0 and re.search(r"\bC\d{7}\b", (tmp_path / "real" / "churn_risk.csv").read_text())


def test_cx_actions_reports_a_contract_error(tmp_path):
    (tmp_path / "empty").mkdir()
    res = CliRunner().invoke(main, ["actions", str(tmp_path / "empty"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "ERROR" in res.output
