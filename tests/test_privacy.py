"""Tests of cxlib.privacy: redaction, report scanning, pseudonyms, small-cell suppression."""
from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.privacy import (FALLBACK_KEY, PLACEHOLDERS, REDACTION_KINDS, PseudonymKeyWarning, Redactor,
                           find_personal_data, luhn_valid, pseudonymize, pseudonymize_frame, redact,
                           suppress_small_cells)

# ---------------------------------------------------------------- redaction


@pytest.mark.parametrize("text, kind", [
    ("mail me at anna.berger42@example.com please", "email"),
    ("customer17@example.org", "email"),
    ("First.Last+tag@mail.example.co.uk", "email"),
    ("call +44 20 7946 0123", "phone"),
    ("call 020 7946 0999", "phone"),
    ("call (020) 7946-0999", "phone"),
    ("call 07700 900123", "phone"),
    ("Call me back on 555-0142 please.", "phone"),
    ("US office (212) 555-0142", "phone"),
    ("+1 202 555 0191", "phone"),
    ("card 4111 1111 1111 1111 expired", "card"),
    ("card 5500-0000-0000-0004", "card"),
    ("amex 378282246310005", "card"),
    ("track it at https://shop.example.com/track?order_id=88123&email=a@b.com", "url"),
    ("reset via https://example.com/reset?token=f3a9c2d1", "url"),
    ("see www.example.com/u/AbC123dEf456GhI789jK/profile", "url"),
])
def test_each_kind_is_redacted_and_counted(text, kind):
    out = redact(text)
    assert out.counts[kind] == 1, out
    assert out.total == 1
    assert PLACEHOLDERS[kind] in out.text
    assert set(out.counts) == set(REDACTION_KINDS)


@pytest.mark.parametrize("text", [
    "Delivery took 2 weeks, paid 129.99 EUR on 2025-11-03 for 3 items.",
    "Order 1234567890123 arrived",  # 13 digits failing Luhn: an order number, not a card
    "see https://shop.example.com/returns for the policy",
    "I waited 45 minutes at 10:30 in store 12",
    "The price was too high and the wood was cheap",
])
def test_ordinary_text_is_left_alone(text):
    out = redact(text, names=["Price", "Wood"])
    assert out.text == text
    assert out.total == 0


def test_names_capitalised_possessive_and_full_lowercase_pairs():
    r = Redactor.from_names(["Anna", "Ben", "Al"], ["Berger", "Price", "Xu"])
    out = r.redact("Anna Berger helped; ANNA was kind. Ben's coat. price ok. ben price wrote. Al and Xu.")
    # "Al" and "Xu" are shorter than min_name_length=3; "price ok" is not a full name
    assert out.text == ("[NAME] [NAME] helped; [NAME] was kind. [NAME]'s coat. price ok. "
                        "[NAME] [NAME] wrote. Al and Xu.")
    assert out.counts["name"] == 6


def test_redactor_from_customers_and_missing_names():
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "first_name": ["Grace", None],
                              "last_name": ["Hansen", "Okafor"]})
    r = Redactor.from_customers(customers)
    assert r.names == frozenset({"grace", "hansen", "okafor"})
    assert r.full_names == frozenset({("grace", "hansen")})
    assert Redactor.from_customers(customers[["customer_id"]]).names == frozenset()


def test_redact_series_keeps_index_missing_values_and_counts():
    r = Redactor.from_names(["Tara"], ["Weber"])
    s = pd.Series(["Tara here: tara@example.com", None, "fine", "call +44 20 7946 0001 or 555-0101"],
                  index=[10, 11, 12, 13], name="comment")
    out, counts = r.redact_series(s)
    assert out.index.tolist() == [10, 11, 12, 13] and out.name == "comment"
    assert out.iloc[1] is None
    assert out.tolist()[::2] == ["[NAME] here: [EMAIL]", "fine"]
    assert counts.set_index("kind")["items"].to_dict() == {"url": 0, "email": 1, "card": 0, "phone": 2, "name": 1}
    assert counts.set_index("kind")["texts"].to_dict() == {"url": 0, "email": 1, "card": 0, "phone": 1, "name": 1}


def test_redaction_result_frame_has_one_row_in_fixed_columns():
    f = redact("x@example.com").to_frame()
    assert f.columns.tolist() == ["text", *REDACTION_KINDS, "total"]
    assert f.iloc[0].to_dict() == {"text": "[EMAIL]", "url": 0, "email": 1, "card": 0, "phone": 0, "name": 0,
                                   "total": 1}


@pytest.mark.parametrize("number, valid", [
    ("4111111111111111", True), ("4012888888881881", True), ("6011111111111117", True),
    ("4111111111111112", False), ("1234567890123456", False), ("0", False),
])
def test_luhn_against_published_test_numbers(number, valid):
    # test card numbers published by payment processors (Stripe/PayPal test-card lists)
    assert luhn_valid(number) is valid


def test_redaction_catches_every_planted_item_of_the_demo_world():
    from cxlib.voc._demo import demo_responses
    responses, customers, truth = demo_responses(600, rng=np.random.default_rng(11), pii_share=0.2)
    assert len(truth["pii"]) > 80
    out, counts = Redactor.from_customers(customers).redact_series(responses["comment"])
    planted = list(dict.fromkeys(truth["pii"]))  # a name can be planted twice; found once
    assert find_personal_data("\n".join(responses["comment"]), planted) == planted
    assert find_personal_data("\n".join(out), truth["pii"]) == []
    assert int(counts["items"].sum()) >= len(truth["pii"])


# ---------------------------------------------------------------- report scanning


def test_find_personal_data_tolerates_markup_and_pdf_spacing():
    html = ("<td>Call +44&nbsp;20 7946 0123</td><p>+44 (20)\n7946-0456</p><li>ANNA.BERGER12@EXAMPLE.COM</li>"
            "<p>Regards, Anna\nBerger</p><p>5550199</p>")
    html = html.replace("&nbsp;", "\u00a0")
    planted = ["+44 20 7946 0123", "+44 20 7946 0456", "anna.berger12@example.com", "Anna Berger",
               "555-0199", "+44 20 7946 0999", "bob@example.org", "Ann"]
    assert find_personal_data(html, planted) == planted[:5]


def test_find_personal_data_does_not_match_inside_longer_numbers_or_words():
    text = "Annabel paid 1555-01234 and ref 4420794601230"
    assert find_personal_data(text, ["Anna", "555-0123", "+44 20 7946 0123"]) == []


# ---------------------------------------------------------------- pseudonyms


def test_pseudonyms_are_hmac_sha256_of_the_env_key(monkeypatch):
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "s3cret")
    out = pseudonymize(pd.Series(["C000001", None, "C000001", "C000002"], index=[5, 6, 7, 8]))
    expected = "P" + hmac.new(b"s3cret", b"C000001", hashlib.sha256).hexdigest()[:16]
    assert out.index.tolist() == [5, 6, 7, 8]
    assert out[5] == expected == out[7]
    assert out[6] is None
    assert out[8] != out[5] and len(out[8]) == 17


def test_pseudonyms_change_with_the_key_and_never_show_the_raw_id(monkeypatch):
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "key-one")
    a = pseudonymize(["C000123"]).iloc[0]
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "key-two")
    b = pseudonymize(["C000123"]).iloc[0]
    assert a != b
    assert "000123" not in a + b


def test_missing_key_warns_and_uses_the_documented_fallback(monkeypatch):
    monkeypatch.delenv("CX_PSEUDONYM_KEY", raising=False)
    with pytest.warns(PseudonymKeyWarning, match="CX_PSEUDONYM_KEY is not set"):
        out = pseudonymize(["C1"], length=8)
    assert out.iloc[0] == "P" + hmac.new(FALLBACK_KEY.encode(), b"C1", hashlib.sha256).hexdigest()[:8]


@pytest.mark.parametrize("length", [7, 65, 8.5])
def test_pseudonym_length_is_checked(monkeypatch, length):
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "k")
    with pytest.raises(ParameterError, match="length"):
        pseudonymize(["C1"], length=length)


def test_pseudonymize_frame_replaces_only_named_columns(monkeypatch):
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "k")
    f = pd.DataFrame({"customer_id": ["C1", "C2"], "unit_id": ["S01", "S02"], "nps": [9, 3]})
    out = pseudonymize_frame(f)
    assert out["unit_id"].tolist() == ["S01", "S02"] and out["nps"].tolist() == [9, 3]
    assert out["customer_id"].str.match(r"^P[0-9a-f]{16}$").all()
    assert f["customer_id"].tolist() == ["C1", "C2"]  # input untouched


# ---------------------------------------------------------------- small cells


def test_primary_and_secondary_suppression_within_groups():
    t = pd.DataFrame({"theme": ["price"] * 3 + ["staff"] * 3, "segment": ["gold", "silver", "bronze"] * 2,
                      "n": [4, 50, 60, 3, 8, 90], "share": [0.5, 0.2, 0.1, 0.3, 0.25, 0.4]})
    s = suppress_small_cells(t, k=10, within=["theme"])
    assert s.table["suppressed"].tolist() == [True, True, False, True, True, False]
    assert s.table.loc[s.table.suppressed, ["n", "share"]].isna().all().all()
    assert s.table["theme"].tolist() == t["theme"].tolist()  # labels stay visible
    assert s.log["reason"].tolist() == ["n < k", "secondary", "n < k", "n < k"]
    assert s.log["cell"].tolist() == ["price, gold", "price, silver", "staff, gold", "staff, silver"]
    assert s.n_suppressed == 4
    row = s.to_frame().iloc[0]
    assert (row.suppressed_primary, row.suppressed_secondary, row.cells) == (3, 1, 6)
    assert s.note.startswith("3 cell(s) with fewer than 10 respondents were suppressed")


def test_nothing_to_suppress_gives_empty_log_and_note():
    t = pd.DataFrame({"segment": ["a", "b"], "n": [10, 11]})
    s = suppress_small_cells(t)
    assert s.n_suppressed == 0 and s.note == "" and not s.table["suppressed"].any()
    assert s.table["n"].tolist() == [10, 11]


def test_k_is_configurable_and_checked():
    t = pd.DataFrame({"segment": ["a", "b", "c"], "n": [10, 30, 40]})
    assert suppress_small_cells(t, k=20, secondary=False).table["suppressed"].tolist() == [True, False, False]
    with pytest.raises(ParameterError, match="k=0"):
        suppress_small_cells(t, k=0)
    with pytest.raises(ParameterError, match="action='drop'"):
        suppress_small_cells(t, action="drop")
    with pytest.raises(ParameterError, match=r"\['count'\]"):
        suppress_small_cells(t, count_col="count")


def test_merge_folds_small_cells_into_one_row():
    t = pd.DataFrame({"segment": ["gold", "silver", "bronze", "staff"], "n": [4, 7, 60, 2],
                      "mentions": [1, 2, 30, 1], "share": [0.25, 0.29, 0.5, 0.5]})
    s = suppress_small_cells(t, k=10, action="merge", sum_cols=["mentions"])
    assert s.table["segment"].tolist() == ["bronze", "Other (merged small cells)"]
    merged = s.table.iloc[1]
    assert (merged.n, merged.mentions, bool(merged.suppressed)) == (13, 4, False)
    assert np.isnan(merged.share)
    assert "merged into one row" in s.note
    tiny = suppress_small_cells(t.iloc[[0, 2]], k=10, action="merge", sum_cols=["mentions"])
    assert bool(tiny.table.iloc[-1].suppressed) and np.isnan(tiny.table.iloc[-1].n)
