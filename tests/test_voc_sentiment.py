"""Tests of cxlib.voc.sentiment: VADER offline, labels, agreement with scores, sentiment by group."""
from __future__ import annotations

import math
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cxlib.errors import DataContractError, ParameterError
from cxlib.voc import sentiment as sentiment_module
from cxlib.voc._demo import demo_responses
from cxlib.voc.sentiment import (AGREEMENT_COLUMNS, SENTIMENT_COLUMNS, score_sentiment, sentiment_agreement,
                                 sentiment_by)


def test_vader_runs_with_the_network_blocked(monkeypatch):
    """The lexicon ships in the wheel: building the analyzer and scoring open no socket."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")
    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    sentiment_module._analyzer.cache_clear()
    out = score_sentiment(["Great value for money.", "My parcel arrived late and damaged."])
    assert out["label"].tolist() == ["positive", "negative"]
    sentiment_module._analyzer.cache_clear()


def test_fresh_interpreter_imports_and_scores_without_network():
    code = textwrap.dedent("""
        import socket
        def refuse(*a, **k):
            raise SystemExit("network access attempted")
        socket.socket = refuse
        socket.create_connection = refuse
        from cxlib.voc import score_sentiment
        print(score_sentiment(["Lovely staff"])["label"].iloc[0])
    """)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "positive"


def test_scores_match_vader_reference_values():
    # reference: vaderSentiment 3.3.2, SentimentIntensityAnalyzer().polarity_scores(text)["compound"]
    out = score_sentiment(pd.Series(["VADER is smart, handsome, and funny.", "The staff were rude and unhelpful."]),
                          lexicon=None)
    assert out.columns.tolist() == list(SENTIMENT_COLUMNS)
    assert out["compound"].round(4).tolist() == [0.8316, -0.4588]
    assert np.allclose(out[["positive", "neutral", "negative"]].sum(axis=1), 1, atol=0.002)


def test_cx_lexicon_fixes_words_vader_lacks():
    text = ["The app keeps crashing and logs me out.", "Far too expensive, overpriced."]
    plain = score_sentiment(text, lexicon=None)["compound"]
    cx = score_sentiment(text)["compound"]
    assert plain.tolist() == [0.0, 0.0]
    assert (cx < -0.3).all()
    assert score_sentiment(text, lexicon={"crashing": 2.0})["compound"].iloc[0] > 0.3


def test_missing_blank_comments_and_index():
    s = pd.Series([None, "  ", "Thank you!", float("nan")], index=[3, 4, 5, 6])
    out = score_sentiment(s)
    assert out.index.tolist() == [3, 4, 5, 6]
    assert out["label"].tolist() == [None, None, "positive", None]
    assert out["compound"].isna().tolist() == [True, True, False, True]
    with pytest.raises(DataContractError, match="'text'"):
        score_sentiment(pd.DataFrame({"comment": ["x"]}), col="text")


def test_agreement_matches_scipy_and_hand_counts():
    d = pd.DataFrame({"nps": [0, 2, 5, 6, 8, 9, 10, 10, 3, 9, None],
                      "compound": [-0.8, -0.5, -0.4, 0.1, 0.2, 0.6, 0.9, 0.7, -0.2, -0.3, 0.5]})
    a = sentiment_agreement(d)
    rho, p = stats.spearmanr(d.dropna()["compound"], d.dropna()["nps"])
    assert a.n == 10 and math.isclose(a.spearman_rho, rho) and math.isclose(a.p_value, p)
    # Fisher z with Bonett-Wright SE, by hand
    se = math.sqrt((1 + rho**2 / 2) / 7)
    assert math.isclose(a.rho_ci_lower, math.tanh(math.atanh(rho) - 1.959963984540054 * se))
    # polar on both: all but nps=8 (passive); mismatches: nps 6 with +0.1, nps 9 with -0.3
    assert (a.n_polar, a.agreement) == (9, 7 / 9)
    assert a.agreement_ci_lower < 7 / 9 < a.agreement_ci_upper
    assert a.to_frame().columns.tolist() == list(AGREEMENT_COLUMNS)


def test_agreement_orients_effort_scores():
    d = pd.DataFrame({"ces": [1, 2, 6, 7, 4], "compound": [0.6, 0.4, -0.5, -0.7, 0.0]})
    a = sentiment_agreement(d, score_col="ces")
    assert a.spearman_rho == pytest.approx(1.0) and a.agreement == 1.0 and a.n_polar == 4


def test_agreement_needs_known_cutoffs_or_explicit_ones():
    d = pd.DataFrame({"stars": [1, 5, 2, 4], "compound": [-0.5, 0.5, -0.1, 0.3]})
    with pytest.raises(ParameterError, match="stars"):
        sentiment_agreement(d, score_col="stars")
    a = sentiment_agreement(d, score_col="stars", cutoffs=(2, 4, True))
    assert a.agreement == 1.0 and a.n_polar == 4


def test_sentiment_agrees_with_score_on_demo_world():
    r, _, _ = demo_responses(1500, rng=np.random.default_rng(5))
    a = sentiment_agreement(r.join(score_sentiment(r)))
    # measured: rho = 0.64, polarity agreement = 0.98 on this seed
    assert a.spearman_rho > 0.5 and a.rho_ci_lower > 0.45
    assert a.agreement > 0.9


def test_sentiment_by_uses_the_metric_schema():
    d = pd.DataFrame({"touchpoint": ["app"] * 4 + ["delivery"] * 4,
                      "compound": [-0.5, -0.1, 0.1, None, 0.2, 0.4, 0.6, 0.8]})
    out = sentiment_by(d, segment="touchpoint")
    assert out["metric"].unique().tolist() == ["sentiment"]
    assert out["n"].tolist() == [3, 4]
    assert out["estimate"].round(6).tolist() == [round(-0.5 / 3, 6), 0.5]
    t = stats.t.ppf(0.975, 3) * np.std([0.2, 0.4, 0.6, 0.8], ddof=1) / 2
    assert out.loc["delivery", "ci_upper"] == pytest.approx(0.5 + t)
