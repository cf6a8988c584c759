"""Tests of cxlib.privacy: redaction, report scanning, pseudonyms, small-cell suppression."""
from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import ParameterError
from cxlib.privacy import (DEMO_KEY, PLACEHOLDERS, REDACTION_KINDS, PseudonymKeyError, PseudonymKeyWarning,
                           Redactor, find_personal_data, iban_valid, is_personal_column, luhn_valid, pseudonymize,
                           pseudonymize_frame, redact, redact_notebook, suppress_small_cells)

# ---------------------------------------------------------------- the personal-data corpus
# Shared with tests/test_hostile_data.py, which plants it into a synthetic world and scans the whole report.
#: The customers whose names are planted (first, last), many scripts and spellings.
CORPUS_CUSTOMERS = [("Zoë", "Ødegård"), ("José", "Núñez"), ("Siobhán", "O'Brien"), ("Jean-Luc", "Dubois-Martel"),
                    ("Dmitri", "Иванов"), ("Ngọc", "Nguyễn"), ("伟", "王伟"), ("Ayşe", "Yılmaz"),
                    ("Björn", "Lindqvist"), ("Małgorzata", "Wójcik")]
#: (comment template, planted personal item): the item as written, which must never reach an output.
CORPUS = [
    # names, as people write them (capitalised, possessive, upper case, without accents, in a caseless script)
    ("Zoë Ødegård helped me, thanks!", "Zoë Ødegård"), ("Ask for ZOE at the till.", "ZOE"),
    ("José's advice was great.", "José"), ("Jose Nunez was rude to me.", "Jose Nunez"),
    ("Siobhán O'Brien sorted my refund.", "O'Brien"), ("Thanks to Jean-Luc for the help.", "Jean-Luc"),
    ("Спасибо, Иванов помог.", "Иванов"), ("Ngọc Nguyễn at the store was kind.", "Nguyễn"),
    ("店员王伟很热情。", "王伟"), ("Ayşe Yılmaz deserves a raise.", "Yılmaz"),
    ("björn lindqvist wrote this.", "björn lindqvist"), ("Pani Małgorzata Wójcik pomogła.", "Wójcik"),
    # phones: national formats with brackets, dots, spaces, slashes; international forms
    ("Call me on 020 7946 0958 please.", "020 7946 0958"), ("Ring +44 (0)20 7946 0321 after 5.", "+44 (0)20 7946 0321"),
    ("Mon portable: 06.12.34.56.78", "06.12.34.56.78"), ("Rappelez au +33 6 12 34 56 78.", "+33 6 12 34 56 78"),
    ("Erreichbar unter 0171/1234567.", "0171/1234567"), ("Tel. +49 (0)30 1234 5678", "+49 (0)30 1234 5678"),
    ("Bel me op +31 (0)20 123 4567.", "+31 (0)20 123 4567"), ("Llámame al 91 123 45 67.", "91 123 45 67"),
    ("My cell is (415) 555-2671.", "(415) 555-2671"), ("Text 415.555.2671 anytime.", "415.555.2671"),
    ("Call 0044 20 7946 0777.", "0044 20 7946 0777"), ("Call back on 555-0142 please.", "555-0142"),
    # IBANs, grouped or not
    ("Refund to DE89 3704 0044 0532 0130 00 please.", "DE89 3704 0044 0532 0130 00"),
    ("My IBAN is GB29NWBK60161331926819.", "GB29NWBK60161331926819"),
    ("IBAN: FR14 2004 1010 0505 0001 3M02 606.", "FR14 2004 1010 0505 0001 3M02 606"),
    ("Pay NL91-ABNA-0417-1643-00 back.", "NL91-ABNA-0417-1643-00"),
    # cards with any separators
    ("Charged twice on 4111 1111 1111 1111!", "4111 1111 1111 1111"), ("card 5500-0000-0000-0004", "5500-0000-0000-0004"),
    ("Visa 4012.8888.8888.1881 exp 12/27", "4012.8888.8888.1881"), ("amex 378282246310005", "378282246310005"),
    # e-mails, plain and obfuscated
    ("Mail jane.doe@example.com.", "jane.doe@example.com"), ("JÖRG.MÜLLER@BEISPIEL.DE wrote.", "JÖRG.MÜLLER@BEISPIEL.DE"),
    ("Write to jane dot doe at example dot com.", "jane dot doe at example dot com"),
    ("Contact jane(at)example(dot)org", "jane(at)example(dot)org"),
    ("Reach me: j.smith [at] example [dot] co [dot] uk", "j.smith [at] example [dot] co [dot] uk"),
    ("Email mark.twain at example.net", "mark.twain at example.net"), ("jane @ example . com", "jane @ example . com"),
    ("full-width jane＠example.com here", "jane＠example.com"),
    # the data's own customer ids
    ("I am customer C000123, fix it.", "C000123"), ("Ref c000124 still open.", "c000124"),
]
#: Comments that hold no personal data and must come out unchanged (the false-positive check).
CLEAN_COMMENTS = [
    "Delivery took 2 weeks, paid 129.99 EUR on 2025-11-03 for 3 items.",
    "Order 1234567890123 arrived late.",  # 13 digits failing Luhn: an order number
    "See https://shop.example.com/returns for the policy.",
    "I waited 45 minutes at 10:30 in store 12.",
    "The price was too high and the wood was cheap.",
    "Open 9-17, Mon-Fri; call centre closed on 24.12.2025.",
    "Bought 3 shirts for 59,90 € on 03/11/2025, size 42.",
    "Prices up 12.5% since Q3 2025, tracking number 1Z999AA10123456784.",
    "Store S05 at Hauptstrasse 12 was busy between 14:00 and 16:30.",
    "The app (v4.12.1) crashed twice; build 20251103.",
    "Rated 4/5 - fitting rooms great, queue ~20 min.",
    "Returned item #88123 on 2025-10-01, refund 2025-10-15.",
    "Loyalty points 12 450, gold tier since 2019.",
    "Two orders: 100234 and 100235, both arrived at 8 am.",
    "I shop at the mall, not at amazon.com, since the sale.",
    "I was at home. Then the parcel came.",
    "Grace period for returns is too short.",
    "Urban style collection is great, Martin Luther King day sale was good.",
    "Size 38 EU / 8 UK / 6 US fits well.",
    "Temperature in store 18.5 degrees, too cold.",
]


def test_every_planted_personal_item_is_redacted():
    customers = pd.DataFrame({"customer_id": ["C000123", "C000124"] + [f"C9{i:05d}" for i in range(8)],
                              "first_name": [f for f, _ in CORPUS_CUSTOMERS], "last_name": [l for _, l in CORPUS_CUSTOMERS]})
    r = Redactor.from_customers(customers)
    leaks = []
    for text, item in CORPUS:
        out = r.redact(text)
        if find_personal_data(out.text, [item]) or out.total == 0:
            leaks.append((text, out.text))
    assert leaks == []


def test_realistic_comments_are_left_alone():
    """The false-positive check: customers named Grace, Martin, Urban, Price and Wood exist, still nothing changes."""
    customers = pd.DataFrame({"customer_id": ["C000001", "C000002"], "first_name": ["Grace", "Martin"],
                              "last_name": ["Urban", "Price"]})
    r = Redactor.from_customers(customers)
    changed = [(c, r.redact(c).text) for c in CLEAN_COMMENTS if r.redact(c).total]
    # "Grace period" and "Urban style" start a sentence capitalised: a capitalised customer name is redacted there,
    # the price of name-based redaction; "Martin Luther King" likewise.  Everything else is left alone.
    assert [c for c, _ in changed] == [
        "Grace period for returns is too short.",
        "Urban style collection is great, Martin Luther King day sale was good."]
    assert Redactor.from_customers(customers.drop(columns=["first_name", "last_name"])).redact_series(
        pd.Series(CLEAN_COMMENTS))[1]["items"].sum() == 0


@pytest.mark.parametrize("iban, valid", [
    ("DE89 3704 0044 0532 0130 00", True), ("GB29 NWBK 6016 1331 9268 19", True), ("NL91ABNA0417164300", True),
    ("FR1420041010050500013M02606", True), ("DE89 3704 0044 0532 0130 01", False), ("DE89 3704 0044 0532 0130", False),
    ("XX89 3704 0044 0532 0130 00", False)])
def test_iban_check_against_the_registry_examples(iban, valid):
    # example IBANs of the SWIFT IBAN registry (release 99) for DE, GB, NL and FR
    assert iban_valid(iban) is valid


def test_phone_regions_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CX_PHONE_REGIONS", "fr, de")
    assert Redactor.from_customers(pd.DataFrame()).regions == ("FR", "DE")
    monkeypatch.setenv("CX_PHONE_REGIONS", "GB,XX")
    with pytest.raises(ParameterError, match="XX"):
        Redactor.from_customers(pd.DataFrame())
    gb_only = Redactor.from_names(regions=("GB",))
    assert gb_only.redact("Mon portable: 06 12 34 56 78").counts["phone"] == 1  # the grouped written form still
    assert gb_only.redact("Llámame al 912 345 678").text == "Llámame al [PHONE]"


def test_short_ids_are_not_redacted_and_odd_ids_are():
    r = Redactor.from_names(ids=["12", "C000123", "cust 77.1"])
    assert r.redact("12 items, C000123, cust 77.1 and 12").text == "12 items, [ID], [ID] and 12"


def test_redact_frame_redacts_text_columns_only():
    r = Redactor.from_names(["Zoë"], ["Ødegård"])
    f = pd.DataFrame({"note": ["Zoë was here", None], "n": [1, 2]})
    out = r.redact_frame(f)
    assert out["note"].tolist()[0] == "[NAME] was here" and out["note"].isna().tolist() == [False, True]
    assert out["n"].tolist() == [1, 2]


def test_redact_notebook_cleans_every_text_output_but_scripts_and_images():
    import nbformat

    r = Redactor.from_names(["Zoë"], ["Ødegård"], ids=["C000123"])
    cell = nbformat.v4.new_code_cell("print(x)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="Zoë Ødegård, C000123\n"),
        nbformat.v4.new_output("display_data", data={"text/plain": "mail z@example.com",
                                                     "text/markdown": "| Zoë |", "image/png": "Wm/Dqw==",
                                                     "text/html": "<td>Zoë</td>"}),
        nbformat.v4.new_output("display_data", data={"text/html": "<script>var Zoë = 1</script>"}),
        nbformat.v4.new_output("error", ename="KeyError", evalue="'C000123'", traceback=["KeyError: 'C000123'"]),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_markdown_cell("Zoë is in the narrative")])
    counts = redact_notebook(nb, r)
    outs = nb.cells[0].outputs
    assert outs[0].text == "[NAME] [NAME], [ID]\n"
    assert outs[1].data == {"text/plain": "mail [EMAIL]", "text/markdown": "| [NAME] |", "image/png": "Wm/Dqw==",
                            "text/html": "<td>[NAME]</td>"}
    assert outs[2].data["text/html"] == "<script>var Zoë = 1</script>"
    assert outs[3].evalue == "'[ID]'" and outs[3].traceback == ["KeyError: '[ID]'"]
    assert nb.cells[1].source == "Zoë is in the narrative"
    assert counts == {"url": 0, "email": 1, "iban": 0, "card": 0, "phone": 0, "id": 3, "name": 4}


@pytest.mark.parametrize("column, personal", [
    ("first_name", True), ("LastName", False), ("last name", True), ("E-Mail", True), ("mobile_number", True),
    ("postcode", True), ("customer_id", True), ("date_of_birth", True), ("region", False), ("loyalty_tier", False),
    ("age_band", False), ("acquisition_channel", False), ("plan", False)])
def test_personal_columns_by_name(column, personal):
    assert is_personal_column(column) is personal
    assert is_personal_column("vip_flag", personal=["vip_flag"])

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
    assert r.ids == frozenset({"c1", "c2"})
    assert Redactor.from_customers(customers[["customer_id"]]).names == frozenset()
    assert Redactor.from_customers(customers.set_index("customer_id")).ids == frozenset({"c1", "c2"})


def test_redact_series_keeps_index_missing_values_and_counts():
    r = Redactor.from_names(["Tara"], ["Weber"])
    s = pd.Series(["Tara here: tara@example.com", None, "fine", "call +44 20 7946 0001 or 555-0101"],
                  index=[10, 11, 12, 13], name="comment")
    out, counts = r.redact_series(s)
    assert out.index.tolist() == [10, 11, 12, 13] and out.name == "comment"
    assert out.iloc[1] is None
    assert out.tolist()[::2] == ["[NAME] here: [EMAIL]", "fine"]
    assert counts.set_index("kind")["items"].to_dict() == {"url": 0, "email": 1, "iban": 0, "card": 0, "phone": 2,
                                                           "id": 0, "name": 1}
    assert counts.set_index("kind")["texts"].to_dict() == {"url": 0, "email": 1, "iban": 0, "card": 0, "phone": 1,
                                                           "id": 0, "name": 1}


def test_redaction_result_frame_has_one_row_in_fixed_columns():
    f = redact("x@example.com").to_frame()
    assert f.columns.tolist() == ["text", *REDACTION_KINDS, "total"]
    assert f.iloc[0].to_dict() == {"text": "[EMAIL]", "url": 0, "email": 1, "iban": 0, "card": 0, "phone": 0,
                                   "id": 0, "name": 0, "total": 1}


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


def test_missing_key_on_the_demo_data_warns_and_uses_the_marked_demo_key(monkeypatch):
    monkeypatch.delenv("CX_PSEUDONYM_KEY", raising=False)  # the suite marks its data as the demo (conftest)
    with pytest.warns(PseudonymKeyWarning, match="CX_PSEUDONYM_KEY is not set: on the synthetic demo data"):
        out = pseudonymize(["C1"], length=8)
    assert out.iloc[0] == "P" + hmac.new(DEMO_KEY.encode(), b"C1", hashlib.sha256).hexdigest()[:8]


def test_missing_key_on_real_data_stops_and_says_how_to_set_one(monkeypatch):
    monkeypatch.delenv("CX_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("CX_DEMO_DATA", raising=False)
    with pytest.raises(PseudonymKeyError, match=r"CX_PSEUDONYM_KEY is not set.*export CX_PSEUDONYM_KEY=.*token_hex"):
        pseudonymize(["C1"])
    with pytest.raises(PseudonymKeyError):
        pseudonymize_frame(pd.DataFrame({"customer_id": ["C1"]}), demo=False)
    with pytest.warns(PseudonymKeyWarning):
        assert pseudonymize(["C1"], demo=True).iloc[0].startswith("P")
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "s3cret")
    assert pseudonymize(["C1"], demo=False).iloc[0].startswith("P")  # a secret: no demo question asked


def test_old_fallback_key_name_warns():
    import cxlib.privacy as privacy

    with pytest.warns(DeprecationWarning, match="FALLBACK_KEY"):
        assert privacy.FALLBACK_KEY == DEMO_KEY


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
