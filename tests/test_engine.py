"""cxlib.engine on DuckDB: configuration, errors, the DuckDB-to-Spark translation, and equality of every
engine aggregation with the cxlib function it re-expresses, on one small synthetic world.

The expected values are the existing cxlib functions' results on the same data (cxlib.journey,
cxlib.clv.rfm.rfm_summary, cxlib.evaluation.build_panel): the engine must reproduce them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxlib.journey as J
from cxlib.clv.rfm import rfm_summary as rfm_reference
from cxlib.data import load
from cxlib.engine import (
    ENGINE_ENV,
    EngineUnavailableError,
    connect,
    directly_follows,
    funnel_counts,
    journeyize,
    metric_panel,
    path_variants,
    resolve_engine,
    rfm_summary,
    spark_session,
    to_spark,
    transition_counts,
    unit_period_summary,
)
from cxlib.engine.backends import conform
from cxlib.errors import DataContractError, ParameterError
from cxlib.evaluation.panel import PANEL_METRICS, build_panel
from cxlib.synth import generate

STEPS = ["search", "product_page", "cart", "purchase"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine") / "world"
    generate(folder, n_customers=400, seed=7, chunk_customers=400)
    return folder


@pytest.fixture(scope="module")
def dataset(world):
    return load(world)


@pytest.fixture(scope="module")
def duck(world):
    return connect(world, engine="duckdb")


# -- configuration and errors ------------------------------------------------------------------------

def test_engine_chosen_by_argument_then_environment_then_default(monkeypatch):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    assert resolve_engine() == "duckdb"
    monkeypatch.setenv(ENGINE_ENV, "Spark")
    assert resolve_engine() == "spark"
    assert resolve_engine("duckdb") == "duckdb"


@pytest.mark.parametrize("bad", ["postgres", ""])
def test_unknown_engine_is_refused_naming_the_choices(bad, monkeypatch):
    monkeypatch.delenv(ENGINE_ENV, raising=False)
    with pytest.raises(ParameterError, match=r"\['duckdb', 'spark'\]"):
        resolve_engine(bad)


def test_unknown_engine_in_the_environment_names_the_variable(monkeypatch):
    monkeypatch.setenv(ENGINE_ENV, "polars")
    with pytest.raises(ParameterError, match=ENGINE_ENV):
        connect(engine=None)


def test_connect_registers_every_table_of_the_folder(duck):
    assert set(duck.tables) >= {"events", "transactions", "customers", "units", "program_rollout",
                                "survey_responses", "tickets"}
    n = duck.sql("SELECT count(*) AS n FROM events", {"n": "int64"})["n"].iloc[0]
    assert n > 1000


def test_connect_errors_name_the_problem(tmp_path, world):
    with pytest.raises(DataContractError, match="does not exist"):
        connect(tmp_path / "nowhere", engine="duckdb")
    with pytest.raises(DataContractError, match="No nonsense.parquet"):
        connect(world, engine="duckdb", tables=["nonsense"])
    pd.DataFrame({"unit_id": ["S1"]}).to_csv(tmp_path / "units.csv", index=False)
    with pytest.raises(DataContractError, match="Parquet only"):
        connect(tmp_path, engine="duckdb")
    with pytest.raises(ParameterError, match="engine='spark'"):
        connect(world, engine="duckdb", spark=object())


def test_missing_table_is_named(world):
    be = connect(world, engine="duckdb", tables=["events"])
    with pytest.raises(DataContractError, match="no table 'transactions'"):
        rfm_summary(be, observation_end="2025-12-31")


def test_spark_without_java_fails_loudly(monkeypatch):
    pytest.importorskip("pyspark", reason="the spark extra (PySpark) is not installed")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(EngineUnavailableError, match="Java runtime"):
        spark_session(master="local[1]")


def test_conform_casts_to_declared_dtypes_and_checks_columns():
    got = conform(pd.DataFrame({"n": np.array([1, 2], dtype="int32"),
                                "t": pd.to_datetime(["2025-01-01", None]).astype("datetime64[us]")}),
                  {"n": "int64", "t": "datetime64[ns]"})
    assert got.dtypes.astype(str).tolist() == ["int64", "datetime64[ns]"]
    with pytest.raises(ValueError, match="expected"):
        conform(pd.DataFrame({"a": [1]}), {"b": "int64"})


# -- translation -------------------------------------------------------------------------------------

@pytest.mark.parametrize("duck_sql, spark_sql", [
    ("SELECT epoch_us(ts) AS u FROM e", "SELECT UNIX_MICROS(CAST(ts AS TIMESTAMP_LTZ)) AS u FROM e"),
    ("SELECT quantile_cont(x, 0.75) AS q FROM e", "SELECT PERCENTILE(x, 0.75) AS q FROM e"),
    ("SELECT arg_max(tp, r) AS l FROM e GROUP BY k", "SELECT MAX_BY(tp, r) AS l FROM e GROUP BY k"),
    ("SELECT array_to_string(list_transform(s, lambda x: x.tp), ' > ') AS p FROM e",
     "SELECT ARRAY_JOIN(TRANSFORM(s, x -> x.tp), ' > ') AS p FROM e"),
])
def test_translation_to_spark(duck_sql, spark_sql):
    assert to_spark(duck_sql) == spark_sql


def test_translation_refuses_whole_second_epoch():
    with pytest.raises(ParameterError, match="epoch_us"):
        to_spark("SELECT epoch(ts) FROM e")


# -- the engine's DuckDB results equal the existing cxlib functions ------------------------------------

@pytest.fixture(scope="module", params=[("journey_id", "30min"), (None, "2h")], ids=["explicit-ids", "gap"])
def both_journeys(request, world, duck):
    journey_col, gap = request.param
    ours = journeyize(duck, journey_col=journey_col, gap=gap)
    ref = J.journeyize(load(world, tables=["events"]).connection(), journey_col=journey_col, gap=gap)
    return ours, ref


def test_journeys_counted_alike(both_journeys):
    ours, ref = both_journeys
    assert (ours.n_journeys, ours.n_events) == (ref.n_journeys, ref.n_events)
    assert ours.n_journeys > 1000
    assert ours.observation_end == ref.observation_end


def test_directly_follows_equals_cxlib_journey(both_journeys):
    ours, ref = both_journeys
    pd.testing.assert_frame_equal(directly_follows(ours), J.directly_follows(ref).edges, rtol=1e-12)


@pytest.mark.parametrize("collapse", [False, True], ids=["paths", "repeats-collapsed"])
def test_path_variants_equal_top_paths(both_journeys, collapse):
    ours, ref = both_journeys
    got = path_variants(ours, collapse_repeats=collapse)
    want = J.top_paths(ref, k=len(got) + 1, collapse_repeats=collapse).to_frame()
    want = want[want["path"] != J.paths.OTHER][["path", "length", "journeys", "conversions"]]
    pd.testing.assert_frame_equal(got, want.astype({"length": "int64"}).reset_index(drop=True))
    assert got["journeys"].sum() == ref.n_journeys
    if collapse:  # collapsing never adds variants, and leaves no touchpoint repeated in a row
        assert len(got) <= len(path_variants(ours))
        assert not got["path"].str.split(" > ").map(lambda p: any(a == b for a, b in zip(p, p[1:]))).any()


@pytest.mark.parametrize("options", [{}, {"strict": True}, {"window": "10min"}, {"strict": True, "window": "2min"}],
                         ids=["ordered", "strict", "window", "strict-window"])
def test_funnel_counts_equal_funnel(both_journeys, options):
    ours, ref = both_journeys
    got = funnel_counts(ours, STEPS, **options)
    want = J.funnel(ref, STEPS, **options).to_frame()
    assert got["n_reached"].tolist() == want["n_reached"].tolist()
    assert got["n_journeys"].tolist() == want["n_journeys"].tolist()
    assert got["n_reached"].is_monotonic_decreasing and got["n_reached"].iloc[1] > 0
    if options:  # each option only removes matches, here some
        ordered = funnel_counts(ours, STEPS)["n_reached"]
        assert (got["n_reached"] <= ordered).all() and (got["n_reached"] < ordered).any()


@pytest.mark.parametrize("censored", ["truncate", "exclude", "abandonment"])
def test_transition_counts_equal_transition_matrix(both_journeys, censored):
    ours, ref = both_journeys
    got = transition_counts(ours, censored=censored)
    counts = J.transition_matrix(ref, censored=censored).counts.stack()
    want = (counts[counts > 0].rename("count").rename_axis(["from_state", "to_state"]).reset_index()
            .sort_values(["from_state", "to_state"], ignore_index=True).astype({"count": "int64"}))
    pd.testing.assert_frame_equal(got, want)


def test_funnel_needs_two_steps_and_a_duration(both_journeys):
    with pytest.raises(ParameterError, match="at least two"):
        funnel_counts(both_journeys[0], ["search"])
    with pytest.raises(ParameterError, match="window"):
        funnel_counts(both_journeys[0], STEPS, window="soon")
    with pytest.raises(ParameterError, match="positive"):
        funnel_counts(both_journeys[0], STEPS, window="-5min")


@pytest.mark.parametrize("kwargs", [
    {"observation_end": "2025-12-31"},
    {"observation_end": "2025-12-31", "calibration_end": "2025-06-30"},
    {"observation_end": "2025-12-31", "calibration_end": "2025-06-30", "merge": "none", "time_unit": "day"},
    {"observation_end": "2025-09-30", "amount_col": None},
], ids=["no-holdout", "holdout", "no-merge-days", "no-amount"])
def test_rfm_equals_clv_rfm_summary(duck, dataset, kwargs):
    got = rfm_summary(duck, **kwargs)
    want = rfm_reference(dataset["transactions"], **kwargs)
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    assert got.attrs == want.attrs and len(got) > 100


def test_rfm_refuses_calibration_after_observation(duck):
    with pytest.raises(ParameterError, match="after observation_end"):
        rfm_summary(duck, observation_end="2025-01-01", calibration_end="2025-02-01")


@pytest.mark.parametrize("metric", list(PANEL_METRICS))
def test_metric_panel_equals_build_panel(duck, dataset, metric):
    got = metric_panel(duck, metric=metric)
    pd.testing.assert_frame_equal(got, build_panel(dataset, metric=metric), rtol=1e-12)
    assert got["value"].notna().sum() > 100


@pytest.mark.parametrize("freq", ["week", "quarter"])
def test_metric_panel_periods_equal_build_panel(duck, dataset, freq):
    pd.testing.assert_frame_equal(metric_panel(duck, metric="nps", freq=freq),
                                  build_panel(dataset, metric="nps", freq=freq), rtol=1e-12)


def test_unit_period_summary_counts(duck, dataset):
    got = unit_period_summary(duck, freq="month")
    sv = dataset["survey_responses"].merge(dataset["customers"][["customer_id", "home_unit_id"]], on="customer_id",
                                           how="left")
    sv["unit_id"] = sv["unit_id"].fillna(sv["home_unit_id"])
    sv["period"] = sv["responded_at"].dt.to_period("M").dt.start_time
    want = sv.groupby(["unit_id", "period"]).agg(nps_responses=("nps", "count"),
                                                   promoters=("nps", lambda s: int((s >= 9).sum())),
                                                   detractors=("nps", lambda s: int((s <= 6).sum())),
                                                   csat_top2=("csat", lambda s: int((s >= 4).sum())))
    merged = got.set_index(["unit_id", "period"]).loc[want.index]
    for col in want.columns:
        assert merged[col].tolist() == want[col].tolist(), col
    assert (got["nps_responses"] == got["promoters"] + got["passives"] + got["detractors"]).all()
    tx = dataset["transactions"]
    assert got["purchases"].sum() == len(tx)
    assert got["revenue"].sum() == pytest.approx(tx["amount"].sum(), rel=1e-12)
    tk = dataset["tickets"].merge(dataset["customers"][["customer_id", "home_unit_id"]], on="customer_id",
                                  how="left")
    stored = tk["unit_id"].fillna(tk["home_unit_id"]).notna()
    assert got["tickets"].sum() == stored.sum()
    assert got["complaints"].sum() == (stored & (tk["ticket_type"] == "complaint")).sum()
