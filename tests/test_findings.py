"""Tests of cxlib.findings: the sidecar notebooks record headline results in."""
from __future__ import annotations

import json
import math
import stat

import pytest

from cxlib import findings
from cxlib.errors import ParameterError
from cxlib.findings import FINDING_COLUMNS, Finding


def nps_change(**kw) -> Finding:
    base = dict(key="nps_change", section="metrics", label="NPS", estimate=4.1, ci_lower=1.2, ci_upper=7.0,
                p_value=0.006, n=1204, method="adjusted Wald", unit="points", better="higher")
    return Finding(**{**base, **kw})


def test_record_then_read_round_trips_and_replaces_by_key(tmp_path):
    path = tmp_path / "findings" / "10_metrics.json"
    findings.record(path, nps_change())
    findings.record(path, Finding(key="csat", section="metrics", label="CSAT", estimate=0.7, method="Wilson"))
    findings.record(path, nps_change(estimate=5.0))  # same key: replaced, not duplicated
    got = findings.read(path)
    assert [f.key for f in got] == ["csat", "nps_change"]
    assert got[1].estimate == 5.0 and got[1].ci_upper == 7.0 and got[1].n == 1204
    assert math.isnan(got[0].p_value) and got[0].significant is None
    assert got[1].significant is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert json.loads(path.read_text())[0]["p_value"] is None  # NaN stored as JSON null


def test_read_folder_sorted_by_file_and_to_frame_has_fixed_columns(tmp_path):
    findings.record(tmp_path / "b.json", nps_change(key="b"))
    findings.record(tmp_path / "a.json", nps_change(key="a", p_value=0.2))
    frame = findings.to_frame(findings.read(tmp_path))
    assert list(frame.columns) == list(FINDING_COLUMNS)
    assert frame["key"].tolist() == ["a", "b"]
    assert findings.to_frame([]).columns.tolist() == list(FINDING_COLUMNS)


def test_no_path_records_nothing_and_bad_values_are_refused(tmp_path):
    assert findings.record("", nps_change()).key == "nps_change"
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ParameterError, match="better='up'"):
        nps_change(better="up")
    with pytest.raises(ParameterError, match="non-empty key"):
        nps_change(key="")


def test_unbounded_interval_ends_round_trip_and_read_as_unbounded(tmp_path):
    from cxlib.sections.summary import parse_sentence, sentence

    path = tmp_path / "f.json"
    findings.record(path, nps_change(ci_lower=-math.inf, ci_upper=12.0, unit="%", label="The effect"))
    (got,) = findings.read(path)
    assert got.ci_lower == -math.inf and got.ci_upper == 12.0
    text = sentence(got)
    assert "95% CI unbounded" in text and "inf" not in text
    back = parse_sentence(text)
    assert back["ci_unbounded"] and back["method"] == "adjusted Wald" and back["p_value"] == 0.006
