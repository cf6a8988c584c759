"""The scale path on Apache Spark (PySpark, local mode): every aggregation of cxlib.journey.scale,
cxlib.clv.scale and cxlib.evaluation.scale equals the DuckDB engine's on the same small synthetic world.
One local session for the module.

Select these with ``pytest -m spark`` (or deselect with ``-m "not spark"``).  They skip only when PySpark (the ``spark``
extra, also in ``dev``) is not installed; a missing Java runtime is an error, not a skip.

Counts are compared exactly; floating-point aggregates (interpolated quantiles, sums of doubles) to a
relative 1e-12, since the engines may add or interpolate in another order.
"""
from __future__ import annotations

import pandas as pd
import pytest

pytestmark = pytest.mark.spark

pytest.importorskip("pyspark", reason="the spark extra (PySpark) is not installed")

from cxlib.clv.scale import rfm_summary_table  # noqa: E402
from cxlib.engine import SparkBackend, connect, spark_session  # noqa: E402
from cxlib.evaluation.scale import metric_panel, unit_period_summary  # noqa: E402
from cxlib.journey.scale import (  # noqa: E402
    directly_follows_table,
    funnel_counts,
    journey_tables,
    path_variants,
    transition_counts,
)
from cxlib.evaluation.panel import PANEL_METRICS  # noqa: E402
from cxlib.synth import generate  # noqa: E402

STEPS = ["search", "product_page", "cart", "purchase"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("engine_spark") / "world"
    generate(folder, n_customers=200, seed=11, chunk_customers=200)
    return folder


@pytest.fixture(scope="module")
def session():
    # EngineUnavailableError here (no Java, JVM did not start) errors every test: loud, never a skip.
    # Tiny data and a short-lived JVM: code generation, adaptive re-planning and the optimising JIT
    # cost more than they save (measured: the journey test 3x faster without each).
    spark = spark_session(master="local[2]", config={"spark.sql.shuffle.partitions": "1",
                                                     "spark.sql.adaptive.enabled": "false",
                                                     "spark.sql.codegen.wholeStage": "false",
                                                     "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1"})
    yield spark
    spark.stop()


@pytest.fixture(scope="module")
def spark_be(world, session):
    return connect(world, engine="spark", spark=session)


@pytest.fixture(scope="module")
def duck_be(world):
    return connect(world, engine="duckdb")


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)


def test_existing_session_is_reused(world, session):
    be = connect(world, engine="spark", tables=["units"])
    assert isinstance(be, SparkBackend) and be.session is session
    assert session.conf.get("spark.sql.session.timeZone") == "UTC"
    assert be.sql("SELECT count(*) AS n FROM units", {"n": "int64"})["n"].tolist() == [24]


@pytest.mark.parametrize("journey_col, gap", [("journey_id", "30min"), (None, "2h")], ids=["explicit-ids", "gap"])
def test_journey_aggregations_equal_duckdb(spark_be, duck_be, journey_col, gap):
    got, want = {}, {}
    for be, out in ((spark_be, got), (duck_be, want)):
        js = journey_tables(be, journey_col=journey_col, gap=gap)
        out["n"] = (js.n_journeys, js.n_events, js.observation_end)
        out["dfg"] = directly_follows_table(js)
        out["variants"] = path_variants(js)
        out["collapsed"] = path_variants(js, collapse_repeats=True)
        out["funnel"] = funnel_counts(js, STEPS)
        out["strict"] = funnel_counts(js, STEPS, strict=True)
        out["window"] = funnel_counts(js, STEPS, window="10min")
        out["truncate"] = transition_counts(js)
        out["exclude"] = transition_counts(js, censored="exclude")
        js.drop()
    assert got.pop("n") == want.pop("n")
    for key in want:
        assert_same(got[key], want[key])
    assert want["funnel"]["n_reached"].iloc[-1] > 0 and len(want["variants"]) > 50


@pytest.mark.parametrize("kwargs", [
    {"observation_end": "2025-12-31", "calibration_end": "2025-06-30"},
    {"observation_end": "2025-12-31", "merge": "none", "time_unit": "day"},
], ids=["holdout", "no-merge-days"])
def test_rfm_equals_duckdb(spark_be, duck_be, kwargs):
    got, want = rfm_summary_table(spark_be, **kwargs), rfm_summary_table(duck_be, **kwargs)
    assert_same(got, want)
    assert got.attrs == want.attrs and len(got) > 50


@pytest.mark.parametrize("metric", list(PANEL_METRICS))
def test_metric_panel_equals_duckdb(spark_be, duck_be, metric):
    assert_same(metric_panel(spark_be, metric=metric), metric_panel(duck_be, metric=metric))


def test_unit_period_summary_equals_duckdb(spark_be, duck_be):
    got, want = unit_period_summary(spark_be, freq="week"), unit_period_summary(duck_be, freq="week")
    assert_same(got, want)
    assert want["nps_responses"].sum() > 50
