"""DuckDB vs Spark local on the same synthetic data: every engine aggregation, wall seconds.

usage: python bench_engine.py DATA_DIR [DATA_DIR ...]
"""
import sys, time, platform, os
import duckdb, pyspark, sqlglot
from cxlib.engine import connect, spark_session
from cxlib.journey.scale import (journey_tables, directly_follows_table, path_variants, funnel_counts,
                                 transition_counts)
from cxlib.clv.scale import rfm_summary_table
from cxlib.evaluation.scale import metric_panel, unit_period_summary
from cxlib.evaluation.panel import PANEL_METRICS

def workload(be):
    t = {}
    s = time.perf_counter(); js = journey_tables(be); t["journeyize"] = time.perf_counter() - s
    s = time.perf_counter()
    directly_follows_table(js); path_variants(js); funnel_counts(js, ["search", "product_page", "cart", "purchase"])
    transition_counts(js); js.drop(); t["journey aggregations"] = time.perf_counter() - s
    s = time.perf_counter(); rfm_summary_table(be, observation_end="2025-12-31", calibration_end="2025-06-30")
    t["rfm"] = time.perf_counter() - s
    s = time.perf_counter()
    for m in PANEL_METRICS: metric_panel(be, metric=m)
    unit_period_summary(be); t["panels"] = time.perf_counter() - s
    t["total"] = sum(t.values()); return t

s = time.perf_counter(); spark = spark_session(master="local[2]"); start = time.perf_counter() - s
print(f"python {platform.python_version()}, duckdb {duckdb.__version__}, pyspark {pyspark.__version__}, "
      f"sqlglot {sqlglot.__version__}, cores {os.cpu_count()}, load {os.getloadavg()[0]:.1f}; spark start {start:.1f} s")
for folder in sys.argv[1:]:
    n_ev = connect(folder, engine="duckdb", tables=["events"]).sql("SELECT count(*) AS n FROM events")["n"].iloc[0]
    duck = workload(connect(folder, engine="duckdb")); duck = workload(connect(folder, engine="duckdb"))
    sb = connect(folder, engine="spark", spark=spark)
    cold = workload(sb); warm = workload(sb)
    print(f"\n{folder}: {n_ev:,} events")
    print(f"{'part':24s} {'duckdb s':>9s} {'spark cold s':>13s} {'spark warm s':>13s} {'ratio warm':>11s}")
    for k in duck:
        print(f"{k:24s} {duck[k]:9.2f} {cold[k]:13.2f} {warm[k]:13.2f} {warm[k] / duck[k]:11.0f}x")
