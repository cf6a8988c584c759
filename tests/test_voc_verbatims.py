"""Tests of cxlib.voc.verbatims: deterministic, spread, redacted, never from small cells."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.privacy import Redactor, find_personal_data
from cxlib.voc._demo import demo_responses
from cxlib.voc.sentiment import score_sentiment
from cxlib.voc.themes import tag_themes
from cxlib.voc.verbatims import VERBATIM_COLUMNS, representative_verbatims


@pytest.fixture(scope="module")
def demo():
    r, c, truth = demo_responses(800, rng=np.random.default_rng(21), pii_share=0.5)
    return r.join(score_sentiment(r)), Redactor.from_customers(c), truth


def test_quotes_are_redacted_and_cover_the_sentiment_range(demo):
    r, red, truth = demo
    v = representative_verbatims(r, tags=tag_themes(r), redactor=red)
    assert v.columns.tolist() == list(VERBATIM_COLUMNS)
    assert (v.groupby("theme")["rank"].max() == 3).all()
    assert find_personal_data("\n".join(v["quote"]), truth["pii"]) == []
    assert v["redactions"].sum() > 0 and v["quote"].str.contains(r"\[(?:EMAIL|PHONE|NAME)\]").any()
    for _, g in v.groupby("theme"):
        assert g["sentiment"].is_monotonic_increasing
        assert g["quote"].nunique() == 3
        assert g["quantile"].tolist() == pytest.approx([1 / 6, 1 / 2, 5 / 6])


def test_same_quotes_whatever_the_row_order(demo):
    r, red, _ = demo
    shuffled = r.sample(frac=1, random_state=3)
    a = representative_verbatims(r, tags=tag_themes(r), redactor=red, segment="loyalty_tier")
    b = representative_verbatims(shuffled, tags=tag_themes(shuffled), redactor=red, segment="loyalty_tier")
    pd.testing.assert_frame_equal(a, b)


def test_small_cells_give_no_quotes(demo):
    r, red, _ = demo
    v = representative_verbatims(r, tags=tag_themes(r), redactor=red, segment="loyalty_tier", k=25)
    small = v[v["suppressed"]]
    assert len(small) > 0 and small["quote"].isna().all() and (small["n"] < 25).all()
    assert (v.loc[~v["suppressed"], "n"] >= 25).all()


def test_long_quotes_are_shortened_at_a_word():
    text = "The delivery " + "was very very late " * 20
    d = pd.DataFrame({"comment": [text] * 12, "compound": np.linspace(-0.5, 0.5, 12), "nps": 3})
    v = representative_verbatims(d, tags=tag_themes(d), redactor=Redactor(), k=10, max_chars=60)
    q = v.loc[v["theme"] == "delivery", "quote"]
    assert len(q) == 1  # one distinct text
    assert q.iloc[0] == "The delivery was very very late was very very late was…"  # 55 characters


def test_input_checks(demo):
    r, red, _ = demo
    tags = tag_themes(r)
    with pytest.raises(ParameterError, match="Redactor"):
        representative_verbatims(r, tags=tags, redactor=None)
    with pytest.raises(ParameterError, match="n_quotes=0"):
        representative_verbatims(r, tags=tags, redactor=red, n_quotes=0)
    with pytest.raises(DataContractError, match="compound"):
        representative_verbatims(r.drop(columns="compound"), tags=tags, redactor=red)
