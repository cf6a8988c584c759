"""Every public result of cxlib displays compactly and safely in a notebook (cxlib/display.py).

One synthetic world (1,500 customers) is analysed with the public API; every public result class of cxlib's
packages (the ``__all__`` of each module, minus the non-results listed in :data:`NOT_RESULTS`) is built from it
by a factory of :data:`FACTORIES`, and its plain ``repr`` and ``_repr_html_`` are checked: under the size
limits, and free of the world's personal data (customers' names, the e-mails, phones and names planted in
comments, raw customer ids).
"""
from __future__ import annotations

import html
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import display
from cxlib.display import MAX_HTML_CHARS, MAX_REPR_CHARS, PERSONAL_COLUMNS, displayable

#: Where results live: the analysis packages, the notebook glue, privacy (redaction, suppression) and the data
#: package (whose one result is the Dataset; its settings and the contract's definitions are not results).
RESULT_PACKAGES = ("cxlib.metrics", "cxlib.significance", "cxlib.journey", "cxlib.survival", "cxlib.clv",
                   "cxlib.evaluation", "cxlib.voc", "cxlib.segments", "cxlib.actions", "cxlib.sections",
                   "cxlib.privacy")
EXTRA_RESULTS = ("cxlib.data.Dataset",)


def public_classes() -> dict[str, type]:
    """Class name -> class, for every class named in the ``__all__`` of a public module of the result packages."""
    found: dict[str, type] = {}
    for info in pkgutil.walk_packages(cxlib.__path__, "cxlib."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if not any(info.name == p or info.name.startswith(p + ".") for p in RESULT_PACKAGES):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if inspect.isclass(obj) and obj.__module__.startswith(RESULT_PACKAGES) and not issubclass(obj, BaseException):
                assert found.get(obj.__qualname__, obj) is obj, f"two public classes named {obj.__qualname__}"
                found[obj.__qualname__] = obj
    for path in EXTRA_RESULTS:
        cls = _import(path)
        found[cls.__qualname__] = cls
    return found


# ---------------------------------------------------------------------------------------------- the world
@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Any]:
    """A small synthetic world, loaded and analysed once; the factories pick their results from it."""
    from cxlib import data
    from cxlib.synth import generate

    folder = tmp_path_factory.mktemp("display_world")
    generate(folder, n_customers=1500, seed=4)
    ds = data.load(folder)
    customers = ds.customers
    pii = pd.read_parquet(folder / "truth_pii.parquet")
    personal = {*customers["first_name"].dropna(), *customers["last_name"].dropna(), *pii["value"]}
    return {"folder": folder, "ds": ds, "personal": personal, "ids": set(customers["customer_id"]),
            "end": ds.transactions["timestamp"].max().normalize(), "cache": {}}


def once(world: dict[str, Any], key: str, make: Callable[[], Any]) -> Any:
    if key not in world["cache"]:
        world["cache"][key] = make()
    return world["cache"][key]


def rng() -> np.random.Generator:
    return np.random.default_rng(5)


def journeys(w):
    from cxlib.journey import journeyize

    return once(w, "journeys", lambda: journeyize(w["ds"].connection(), gap="3D"))


def vas(w):
    from cxlib import clv

    return once(w, "vas", lambda: clv.value_at_stake_pipeline(w["ds"], clv.StakeParameters(observation_end=w["end"])))


def churn_frame(w):
    return vas(w).churn.frame


def comments(w):
    from cxlib.voc import score_sentiment

    def make():
        r = w["ds"].survey_responses
        c = r[r["comment"].notna()].reset_index(drop=True)
        return c.assign(compound=score_sentiment(c["comment"])["compound"].to_numpy())
    return once(w, "comments", make)


def panel(w):
    from cxlib.evaluation import build_panel

    def make():
        p = build_panel(w["ds"], metric="nps", freq="quarter")
        return p[~p["unit_id"].isin(p.loc[p["value"].isna(), "unit_id"])]  # a balanced panel
    return once(w, "panel", make)


def effect(w):
    from cxlib.evaluation import did

    p = panel(w)
    return once(w, "did", lambda: did(p, outcome="value", unit="unit_id", time="period", first_treated="first_treated",
                                      metric="nps"))


def segments_model(w):
    from cxlib import segments as seg

    def make():
        features = seg.customer_features(w["ds"], observation_end=w["end"])
        return features, seg.BehaviouralSegments(k=3, n_init=2).fit(features, rng=rng())
    return once(w, "segments", make)


def funnel(w):
    from cxlib.journey import funnel as run

    return run(journeys(w), ["product_page", "cart", "checkout", "purchase"], segment="loyalty_tier", segments="customers")


def _import(path: str) -> Any:
    module, name = path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


FACTORIES: dict[str, Callable[[dict[str, Any]], Any]] = {
    # data and privacy
    "Dataset": lambda w: w["ds"],
    "Redactor": lambda w: _import("cxlib.privacy.Redactor").from_customers(w["ds"].customers),
    "RedactionResult": lambda w: _import("cxlib.privacy.Redactor").from_customers(
        w["ds"].customers).redact(comments(w)["comment"].iloc[0]),
    "Suppression": lambda w: _import("cxlib.privacy.suppress_small_cells")(
        pd.DataFrame({"segment": ["a", "b", "c"], "n": [40, 3, 25], "nps": [10.0, 50.0, 20.0]}), k=10),
    # metrics and tests
    "MetricResult": lambda w: _import("cxlib.metrics.nps")(w["ds"].survey_responses),
    "ComparisonResult": lambda w: _comparison(w),
    "PowerResult": lambda w: _import("cxlib.significance.sample_size")(sd=40.0, margin=5.0),
    # journeys
    "Journeys": journeys,
    "EventSpec": lambda w: journeys(w).spec,
    "Attribution": lambda w: _import("cxlib.journey.attribute")(journeys(w), n_boot=20,
                                                                                           rng=rng()),
    "BySegment": lambda w: _import("cxlib.journey.bysegment.by_segment")(
        lambda js: _import("cxlib.journey.top_paths")(js, k=3), journeys(w), "loyalty_tier", segments="customers"),
    "FailPoints": lambda w: _import("cxlib.journey.fail_points")(journeys(w)),
    "Funnel": funnel,
    "FunnelComparison": lambda w: _import("cxlib.journey.compare_funnels")(
        funnel(w), *funnel(w).segments[:2]),
    "PathTable": lambda w: _import("cxlib.journey.top_paths")(journeys(w), k=5),
    "TimeToConvert": lambda w: _import("cxlib.journey.time_to_convert")(journeys(w)),
    "TransitionMatrix": lambda w: _import("cxlib.journey.transition_matrix")(journeys(w)),
    "DirectlyFollows": lambda w: _import("cxlib.journey.directly_follows")(journeys(w)),
    "EngineJourneys": lambda w: _engine_journeys(w),
    # survival and CLV
    "KaplanMeier": lambda w: _import("cxlib.survival.kaplan_meier")(churn_frame(w), segment="plan"),
    "SurvivalTest": lambda w: _import("cxlib.survival.logrank_test")(churn_frame(w),
                                                                                             segment="plan"),
    "CoxResult": lambda w: vas(w).churn.cox,
    "PHCheck": lambda w: _import("cxlib.survival.check_proportional_hazards")(
        vas(w).churn.cox, vas(w).churn.design, rng=rng()),
    "AFTResult": lambda w: _import("cxlib.survival.fit_weibull_aft")(
        vas(w).churn.design.drop(columns=[c for c in vas(w).churn.design if c.startswith("plan")])),
    "ChurnModel": lambda w: vas(w).churn,
    "BetaGeo": lambda w: vas(w).models.bg,
    "GammaGamma": lambda w: vas(w).models.gg,
    "ParetoNBD": lambda w: _import("cxlib.clv.ParetoNBD")().fit(vas(w).models.rfm),
    "ShiftedBetaGeometric": lambda w: _sbg(),
    "ClvModels": lambda w: vas(w).models,
    "StakeParameters": lambda w: vas(w).parameters,
    "ValueAtStake": vas,
    "ClvSample": lambda w: vas(w).sample,
    "CalibrationHoldout": lambda w: _holdout(w)[1],
    "Tracking": lambda w: _import("cxlib.clv.tracking")(
        _holdout(w)[0].bg, w["ds"].transactions, calibration_end=w["end"] - pd.Timedelta(days=182),
        observation_end=w["end"]),
    "FrequencyRecencyGrid": lambda w: _import("cxlib.clv.frequency_recency_grid")(
        vas(w).models.bg, T=52.0),
    # evaluation
    "EffectResult": effect,
    "EventStudyResult": lambda w: _import("cxlib.evaluation.event_study")(
        panel(w), outcome="value", unit="unit_id", time="period", first_treated="first_treated", metric="nps"),
    "Verdict": lambda w: _import("cxlib.evaluation.verdict.verdict")(effect(w),
                                                                                              better="higher"),
    "PanelMetric": lambda w: _import("cxlib.evaluation.panel.PANEL_METRICS")["nps"],
    # voice of the customer
    "SentimentAgreement": lambda w: _import("cxlib.voc.sentiment_agreement")(comments(w)),
    "Taxonomy": lambda w: _import("cxlib.voc.themes.DEFAULT_TAXONOMY"),
    "TopicModel": lambda w: _import("cxlib.voc.discover_topics")(comments(w), n_topics=3,
                                                                                  rng=rng()),
    "DriverResult": lambda w: _drivers(w),
    # segments and actions
    "BehaviouralSegments": lambda w: segments_model(w)[1],
    "StabilityResult": lambda w: _import("cxlib.segments.stability")(
        segments_model(w)[1], segments_model(w)[0], seeds=2, bootstraps=2, rng=rng()),
    "ActionList": lambda w: _import("cxlib.actions.detractor_list")(w["ds"].survey_responses, w["ds"].customers,
                                                                    period="2025Q4"),
    "AlertBoard": lambda w: _import("cxlib.actions.metric_alerts")(
        _import("cxlib.actions.attach_segments")(w["ds"].survey_responses, w["ds"].customers), period="2025Q4",
        comparison_period="2025Q3", min_n=10),
    "FdrSimulation": lambda w: _import("cxlib.actions.simulate_alert_fdr")(
        dashboards=5, cells=20, rng=rng()),
    "DashboardFdr": lambda w: _import("cxlib.actions.simulate_dashboard_fdr")(
        dashboards=5, rng=rng()),
    # notebook glue
    "Window": lambda w: _import("cxlib.sections.journeys.Window")(
        pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01"), "2025Q4"),
    "ConversionRate": lambda w: _import("cxlib.sections.journeys.conversion_rate")(
        journeys(w), label="all"),
    "ConversionChange": lambda w: _conversion_change(w),
    "InteractiveFigure": lambda w: _import("cxlib.sections.journeys.InteractiveFigure")(
        "<div>" + "x" * 100_000 + "</div>", b"\x89PNG" + bytes(50_000), "A flow", 800, 400),
    "MetricEvaluation": lambda w: _import("cxlib.sections.evaluation.MetricEvaluation")(
        metric="nps", label="NPS", better="higher", results=(effect(w),), event_study=None, caveats=("few stores",)),
    "KeyMessage": lambda w: _import("cxlib.sections.summary.KeyMessage")(
        "nps", "metrics", "NPS rose 4.1 points (95% CI 1.2 to 7.0).", "Keep the fitting-room app.", 0.1, 1.0, 0.99),
    "NestedWeights": lambda w: _import("cxlib.evaluation.donor_weights.nested_weights")(
        np.array([1.0, 2.0]), np.array([[0.5, 1.5, 3.0], [1.0, 2.5, 4.0]]), np.array([1.0, 1.2, 1.1]),
        np.array([[0.9, 1.1, 1.5], [1.1, 1.3, 1.6], [1.0, 1.2, 1.4]]), rng=rng()),
    "Attempt": lambda w: _import("cxlib.sections.notes.attempt")("NPS", _import("cxlib.metrics.nps"),
                                                                 w["ds"].customers),
    "Headline": lambda w: _import("cxlib.sections.summary.headlines")(
        [_import("cxlib.findings.Finding")(key="nps", section="metrics", label="NPS", estimate=41.2, method="count",
                                           n=1200)])[0],
}


def _comparison(w):
    from cxlib.significance import compare_nps

    r = w["ds"].survey_responses
    tier = r["customer_id"].map(w["ds"].customers.set_index("customer_id")["loyalty_tier"])
    return compare_nps(r.assign(tier=tier), group="tier", a="gold")


def _engine_journeys(w):
    from cxlib.engine import connect
    from cxlib.journey.scale import journey_tables

    return journey_tables(connect(w["folder"], engine="duckdb"), table="events", gap="3D")


def _sbg():
    from cxlib.clv import ShiftedBetaGeometric

    # Fader & Hardie (2007), "regular" customers: 1000 at the start, then the survivors of years 1-7
    return ShiftedBetaGeometric().fit(pd.DataFrame({"period": range(8),
                                                    "alive": [1000, 869, 743, 653, 593, 551, 517, 491]}))


def _holdout(w):
    from cxlib import clv

    def make():
        models = clv.fit_clv_models(w["ds"].transactions, observation_end=w["end"],
                                    calibration_end=w["end"] - pd.Timedelta(days=182))
        return models, clv.calibration_holdout(models.bg, models.rfm)
    return once(w, "holdout", make)


def _drivers(w):
    from cxlib.voc import key_drivers

    d = pd.DataFrame({"nps": w["ds"].survey_responses["nps"].to_numpy(dtype=float)})
    g = np.random.default_rng(3)
    d = d.assign(wait=g.normal(size=len(d)), staff=g.normal(size=len(d)))
    return key_drivers(d.dropna(), outcome="nps", drivers=["wait", "staff"], rng=rng(), n_boot=20)


def _conversion_change(w):
    from cxlib.sections.journeys import conversion_change, conversion_rate

    rate = conversion_rate(journeys(w), label="all")
    return conversion_change(rate, rate)


# ---------------------------------------------------------------------------------------------- the checks
def test_every_public_result_class_has_a_factory_and_displays_with_cxlib_display() -> None:
    classes = public_classes()
    assert set(classes) == set(FACTORIES), (
        f"public classes without a factory here: {sorted(set(classes) - set(FACTORIES))}; "
        f"factories of no public class: {sorted(set(FACTORIES) - set(classes))}")
    plain = [name for name, cls in classes.items() if not hasattr(cls, "__cx_display__")]
    assert not plain, f"decorate these with cxlib.display.displayable: {plain}"


def _personal_hits(text: str, world: dict[str, Any]) -> list[str]:
    # a name as a word of its own (the Anna of "Callaway & Sant'Anna", a method's authors, is not a customer)
    hits = [p for p in world["personal"] if re.search(rf"(?<![\w']){re.escape(p)}(?!\w)", text)]
    return hits + sorted(set(re.findall(r"\bC\d{7}\b", text)) & world["ids"])


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_result_displays_compactly_without_personal_data(name: str, world, monkeypatch) -> None:
    monkeypatch.setenv("CX_PSEUDONYM_KEY", "display-test-secret")  # the action list's pseudonyms
    obj = FACTORIES[name](world)
    assert isinstance(obj, public_classes()[name])
    text, page = repr(obj), obj._repr_html_()
    assert text.startswith(type(obj).__name__) and 0 < len(text) <= MAX_REPR_CHARS, (len(text), text[:300])
    assert page.startswith("<div") and page.endswith("</div>") and len(page) <= MAX_HTML_CHARS, len(page)
    assert f"<b>{type(obj).__name__}</b>" in page
    assert not _personal_hits(text, world) and not _personal_hits(html.unescape(page), world)


def test_the_world_is_personal_enough_for_the_scan_to_mean_something(world) -> None:
    """The scan would catch a leak: the raw customers table shows names and ids, its display does not."""
    customers = world["ds"].customers
    assert _personal_hits(customers.head(20).to_string(), world)
    ds_text, ds_page = repr(world["ds"]), world["ds"]._repr_html_()
    assert len(customers.to_string()) > 50 * MAX_REPR_CHARS
    assert not _personal_hits(ds_text + html.unescape(ds_page), world)


def test_dataset_shows_tables_rows_dates_and_status(world) -> None:
    ds = world["ds"]
    text, page = repr(ds), ds._repr_html_()
    for table in ("customers", "events", "transactions", "survey_responses"):
        assert table in text and table in page
    assert f"{len(ds.customers):,}" in page and "valid" in page
    first = ds.validation.set_index("table").loc["transactions", "first"]
    assert str(first.date()) in page
    assert "first_name" not in page


# ---------------------------------------------------------------------------------------------- the helper
@displayable(tables=("table", "broken"), hide=("secret",))
class _Demo:
    def __init__(self, rows: int, note: str = "ok") -> None:
        self.metric = "nps"
        self.estimate = 41.23456
        self.ci_lower, self.ci_upper, self.ci_level = 38.0, 44.5, 0.9
        self.n = 12345
        self.note = note
        self.secret = "hidden value"
        self.table = pd.DataFrame({"customer_id": [f"C{i:07d}" for i in range(rows)], "segment": ["gold"] * rows,
                                   "value": np.arange(rows) / 3, "comment": ["call me at 555-0171"] * rows})

    def broken(self) -> pd.DataFrame:
        raise ValueError("not fitted")


def test_display_rounds_for_reading_and_merges_intervals() -> None:
    page = _Demo(3)._repr_html_()
    assert ">41.23<" in page and ">12,345<" in page and ">38 to 44.5<" in page and "90% CI" in page
    assert "ci_lower" not in page and "hidden value" not in page and "secret" not in page
    assert "broken" in page and "unavailable: ValueError" in page
    text = repr(_Demo(3))
    assert "estimate=41.23" in text and "ci_lower=38" in text and "n=12,345" in text and "secret" not in text


def test_display_hides_personal_columns_and_says_so() -> None:
    page, text = _Demo(3)._repr_html_(), repr(_Demo(3))
    for out in (page, text):
        assert "C0000001" not in out and "555-0171" not in out and "customer_id" in out and "personal data" in out
        assert "gold" in out
    assert {"customer_id", "first_name", "last_name", "comment"} <= PERSONAL_COLUMNS


def test_personal_columns_cover_the_contract() -> None:
    from cxlib.schema import TABLES

    personal = {c.name for t in TABLES.values() for c in t.columns if "personal data" in c.description.lower()}
    assert personal and personal <= PERSONAL_COLUMNS


def test_a_personal_or_unnamed_index_is_not_shown() -> None:
    by_id = pd.DataFrame({"clv": [1.0, 2.0]}, index=pd.Index(["C0000001", "C0000002"], name="customer_id"))
    unnamed = pd.DataFrame({"clv": [1.0, 2.0]}, index=["C0000003", "C0000004"])

    @displayable(tables=("a", "b"))
    class Holder:
        a, b = by_id, unnamed

    out = repr(Holder()) + Holder()._repr_html_()
    assert not re.search(r"C000000\d", out) and "customer_id hidden" in out


def test_large_tables_are_cut_to_the_limits() -> None:
    big = _Demo(100_000, note="x" * 10_000)
    text, page = repr(big), big._repr_html_()
    assert len(text) <= MAX_REPR_CHARS and len(page) <= MAX_HTML_CHARS
    assert "99,990 more rows" in page and "99,992 more rows" in text
    assert "x" * (display.MAX_CELL_CHARS + 1) not in page


def test_text_is_escaped_in_html() -> None:
    page = _Demo(1, note="<script>alert('x')</script> & co")._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page and "&amp; co" in page


def test_interactive_figure_keeps_its_own_rich_output() -> None:
    """A figure with its own mime bundle keeps it (IPython asks for it first); only its plain repr is short."""
    from IPython.core.formatters import DisplayFormatter

    from cxlib.sections.journeys import InteractiveFigure

    fig = InteractiveFigure("<div id='flow'>plotly</div>", b"\x89PNG" + bytes(10), "A flow", 800, 400)
    data, _ = DisplayFormatter().format(fig)
    assert data["text/html"] == "<div id='flow'>plotly</div>" and "image/png" in data
    assert len(repr(fig)) < 300 and "png_bytes=14" in repr(fig)
