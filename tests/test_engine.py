"""cxlib.engine on DuckDB: configuration, errors, the DuckDB backend over existing connections, the
DuckDB-to-Spark translation, the deprecated names, and equality of every scale-path aggregation
(cxlib.journey.scale, cxlib.clv.scale, cxlib.evaluation.scale) with the cxlib function it re-expresses,
on one small synthetic world.

The expected values are the existing cxlib functions' results on the same data (cxlib.journey,
cxlib.clv.rfm.rfm_summary, cxlib.evaluation.build_panel): the engine must reproduce them.
"""
from __future__ import annotations

import ast
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

import cxlib.engine
import cxlib.journey as J
from cxlib.clv.rfm import rfm_summary as rfm_reference
from cxlib.data import load
from cxlib.clv.scale import rfm_summary_table
from cxlib.engine import (
    ANCHOR,
    ENGINE_ENV,
    DuckDBBackend,
    EngineUnavailableError,
    connect,
    duckdb_backend,
    resolve_engine,
    spark_session,
    to_spark,
)
from cxlib.engine.backends import conform
from cxlib.errors import DataContractError, ParameterError
from cxlib.evaluation.panel import PANEL_METRICS, build_panel
from cxlib.evaluation.scale import metric_panel, unit_period_summary
from cxlib.journey.scale import directly_follows_table, funnel_counts, journey_tables, path_variants, transition_counts
from cxlib.synth import generate

STEPS = ["search", "product_page", "cart", "purchase"]
#: What the engine may import from the rest of cxlib: the foundation only (docs/architecture.md).
FOUNDATION = {"errors", "_deprecation", "schema"}


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
        rfm_summary_table(be, observation_end="2025-12-31")


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


# -- the DuckDB backend over data where it is ------------------------------------------------------------

def test_duckdb_backend_over_a_connection_a_relation_a_dataset_and_frames(world):
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT * FROM range(5) r(x)")
    assert duckdb_backend(con).con is con and duckdb_backend(con).fetchall("SELECT sum(x) FROM t") == [(10,)]
    rel = duckdb_backend(con.sql("SELECT x FROM t WHERE x > 2"))
    assert rel.anchor is not None and ANCHOR in rel.tables
    name = rel.register(pd.DataFrame({"y": [1, 2]}))  # a temp table inside the relation's connection
    assert rel.df(f"SELECT sum(x) AS s FROM {ANCHOR} CROSS JOIN {name}")["s"].tolist() == [14]
    lazy = load(world, tables=["units", "events"], lazy=["events"])
    be = duckdb_backend(lazy)  # the lazily held table is read from its file, not from memory
    assert {"units", "events"} <= set(be.tables) and be.fetchall("SELECT count(*) > 1000 FROM events") == [(True,)]
    frames = duckdb_backend({"u": pd.DataFrame({"a": [1, 2, 3]})})
    assert frames.sql("SELECT count(*) AS n FROM u", {"n": "int64"})["n"].tolist() == [3]
    assert duckdb_backend(frames) is frames


def test_duckdb_backend_refuses_two_sources_and_unknown_inputs():
    con = duckdb.connect()
    with pytest.raises(ParameterError, match="not both"):
        DuckDBBackend(con, anchor=con.sql("SELECT 1"))
    with pytest.raises(ParameterError, match="list"):
        duckdb_backend([1, 2])


def test_the_engine_imports_no_analysis_and_has_no_cycle():
    """The engine is the layer below the analyses: its modules import only the foundation and each
    other, and the import graph inside the package has no cycle (dialect imports no backend)."""
    root = Path(cxlib.engine.__file__).parent
    graph = {}
    for path in root.glob("*.py"):
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                targets.add(("engine." if node.level == 1 else "") + (node.module or ""))
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cxlib."):
                targets.add(node.module.removeprefix("cxlib."))
        outside = {t for t in targets if not t.startswith("engine.") and t.split(".")[0] not in FOUNDATION}
        assert not outside, f"{path.name} imports {outside}"
        graph[path.stem] = {t.split(".")[1] for t in targets if t.startswith("engine.") and t != "engine."}
    done = set()

    def visit(node, stack):
        assert node not in stack, f"import cycle in cxlib.engine: {' -> '.join([*stack, node])}"
        if node not in done:
            for nxt in graph.get(node, ()):
                visit(nxt, [*stack, node])
            done.add(node)

    for module in graph:
        visit(module, [])
    assert "backends" not in graph["dialect"]


# -- deprecated names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("old, module, new", [
    ("journeyize", "cxlib.journey.scale", "journey_tables"),
    ("directly_follows", "cxlib.journey.scale", "directly_follows_table"),
    ("EngineJourneys", "cxlib.journey.scale", "EngineJourneys"),
    ("path_variants", "cxlib.journey.scale", "path_variants"),
    ("funnel_counts", "cxlib.journey.scale", "funnel_counts"),
    ("transition_counts", "cxlib.journey.scale", "transition_counts"),
    ("rfm_summary", "cxlib.clv.scale", "rfm_summary_table"),
    ("metric_panel", "cxlib.evaluation.scale", "metric_panel"),
    ("unit_period_summary", "cxlib.evaluation.scale", "unit_period_summary"),
])
def test_moved_aggregations_warn_under_their_old_engine_names(old, module, new):
    import importlib

    with pytest.warns(DeprecationWarning, match=rf"cxlib\.engine\.{old} is deprecated.*{module}\.{new}"):
        got = getattr(cxlib.engine, old)
    assert got is getattr(importlib.import_module(module), new)


@pytest.mark.parametrize("stub, old, new", [
    ("journeys", "journeyize", journey_tables), ("journeys", "directly_follows", directly_follows_table),
    ("rfm", "rfm_summary", rfm_summary_table), ("panel", "metric_panel", metric_panel),
])
def test_old_engine_modules_forward_with_a_warning(stub, old, new):
    import importlib

    module = importlib.import_module(f"cxlib.engine.{stub}")
    with pytest.warns(DeprecationWarning, match="deprecated"):
        assert getattr(module, old) is new


def test_deprecated_journeyize_still_works(duck):
    with pytest.warns(DeprecationWarning, match="journey_tables"):
        old = cxlib.engine.journeyize
    js = old(duck, gap="2h", journey_col=None)
    assert js.n_journeys == journey_tables(duck, gap="2h", journey_col=None).n_journeys


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
    ours = journey_tables(duck, journey_col=journey_col, gap=gap)
    ref = J.journeyize(load(world, tables=["events"]).connection(), journey_col=journey_col, gap=gap)
    return ours, ref


def test_journeys_counted_alike(both_journeys):
    ours, ref = both_journeys
    assert (ours.n_journeys, ours.n_events) == (ref.n_journeys, ref.n_events)
    assert ours.n_journeys > 1000
    assert ours.observation_end == ref.observation_end


def test_directly_follows_equals_cxlib_journey(both_journeys):
    ours, ref = both_journeys
    pd.testing.assert_frame_equal(directly_follows_table(ours), J.directly_follows(ref).edges, rtol=1e-12)


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
    got = rfm_summary_table(duck, **kwargs)
    want = rfm_reference(dataset["transactions"], **kwargs)
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    assert got.attrs == want.attrs and len(got) > 100


def test_rfm_refuses_calibration_after_observation(duck):
    with pytest.raises(ParameterError, match="after observation_end"):
        rfm_summary_table(duck, observation_end="2025-01-01", calibration_end="2025-02-01")


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
