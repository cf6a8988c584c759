"""Tests of cxlib.sections.voc (the VoC notebook's glue) and of notebooks/50_voc.ipynb."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from cxlib.voc import key_drivers, sentiment_agreement, tag_themes, theme_change, theme_shares
from cxlib.voc._demo import demo_responses
from cxlib.sections.voc import comment_frame, theme_overview, voc_findings

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "50_voc.ipynb"


@pytest.fixture(scope="module")
def frame():
    r, c, _ = demo_responses(900, rng=np.random.default_rng(8))
    c = c.assign(loyalty_tier=r["loyalty_tier"].to_numpy())
    return comment_frame(r.drop(columns=["loyalty_tier"]), c, segment=["loyalty_tier", "absent"])


def test_comment_frame_drops_raw_ids_and_adds_sentiment(frame):
    assert "customer_id" not in frame.columns
    assert {"loyalty_tier", "compound", "label", "quarter"} <= set(frame.columns)
    assert len(frame) == 900 and frame["quarter"].str.match(r"^2025Q[1-4]$").all()


def test_overview_and_findings_carry_uncertainty(frame):
    tags = tag_themes(frame)
    now = frame["quarter"] == "2025Q4"
    shares = theme_shares(frame[now], tags=tags[now])
    change = theme_change(frame, tags=tags, period="2025Q4", comparison_period="2025Q3")
    ov = theme_overview(shares, change)
    assert ov["theme"].tolist() == shares["theme"].tolist()
    assert ov["change"].tolist() == pytest.approx(change["difference"].tolist())
    drivers = key_drivers(pd.concat([frame.loc[now, ["nps"]], tags[now].astype(float)], axis=1),
                          drivers=list(tags.columns), rng=np.random.default_rng(0), n_boot=30)
    found = voc_findings(shares=shares, change=change, agreement=sentiment_agreement(frame[now]), drivers=drivers,
                         period="2025Q4", comparison_period="2025Q3")
    keys = [f.key for f in found]
    assert keys[0] == "voc_top_theme" and keys[-2:] == ["voc_sentiment_agreement", "voc_top_driver"]
    for f in found:
        assert f.section == "voc" and f.n > 0 and f.method
        assert f.ci_lower <= f.estimate <= f.ci_upper
    top = found[0]
    assert top.label == f"The share of comments on {shares.sort_values('share').iloc[-1]['theme']} (the most mentioned theme)"
    assert top.unit == "share"


def test_notebook_follows_the_conventions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert nb.metadata["kernelspec"] == {"name": "cxlib", "display_name": "Python (cxlib workbook)",
                                         "language": "python"}
    assert nb.cells[0].cell_type == "raw" and nb.cells[0].source.startswith("---\ntitle:")
    params = nb.cells[1]
    assert params.metadata["tags"] == ["parameters"]
    for name in ("data_dir", "findings_path", "period", "comparison_period", "alpha", "seed", "segment_columns",
                 "min_cell", "n_topics"):
        assert f"{name} = " in params.source
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in code)  # committed without outputs
    assert not any("matplotlib.use" in c.source or "customer_id" in c.source for c in code)
    def logic_lines(source):  # not counting Quarto options, imports and blank lines
        return [l for l in source.splitlines()
                if l.strip() and not l.startswith(("#|", "import ", "from ", "%"))]
    assert max(len(logic_lines(c.source)) for c in code) <= 15


@pytest.mark.slow
@pytest.mark.pipeline
def test_notebook_runs_on_a_small_world_and_shows_no_planted_personal_data(tmp_path):
    from cxlib.privacy import find_personal_data
    from cxlib.synth import generate
    cx = Path(sys.executable).with_name("cx")
    if not cx.exists():
        pytest.skip(f"the cx console script is not installed next to {sys.executable}")
    generate(tmp_path / "data", n_customers=2000, seed=1)
    run = subprocess.run([str(cx), "run", str(NOTEBOOK), "--data", str(tmp_path / "data"), "--out",
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert run.returncode == 0, run.stderr[-3000:]
    executed = (tmp_path / "out" / "50_voc.ipynb").read_text(encoding="utf-8")
    planted = pd.read_parquet(tmp_path / "data" / "truth_pii.parquet")["value"].tolist()
    assert find_personal_data(executed, planted) == []
    raw_ids = pd.read_parquet(tmp_path / "data" / "customers.parquet")["customer_id"].head(300)
    assert not any(f'"{cid}"' in executed or f" {cid} " in executed for cid in raw_ids)
    found = json.loads((tmp_path / "out" / "findings" / "50_voc.json").read_text())
    assert {"voc_top_theme", "voc_sentiment_agreement", "voc_top_driver"} <= {f["key"] for f in found}
