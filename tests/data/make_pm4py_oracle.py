"""Write ``journey_events_small.csv.gz`` and pm4py's answers on it, ``journey_events_small_pm4py.json``.

Run once, in a THROWAWAY virtualenv (pm4py is AGPL-3.0 and never a dependency of cxlib)::

    python3 -m venv /tmp/oracle_venv
    /tmp/oracle_venv/bin/pip install pm4py==2.7.23.11
    /tmp/oracle_venv/bin/python tests/data/make_pm4py_oracle.py

The event log is synthetic (seed 20261123): 1,500 journeys of a small Markov chain over six
touchpoints with 'purchase' absorbing, explicit ``journey_id``, one event a minute or so apart.
pm4py is called with ``case_id='journey_id'``, ``activity_key='touchpoint'``,
``timestamp_key='timestamp'``:

* ``pm4py.discover_dfg(log)`` -> directly-follows counts, start and end activities;
* ``pm4py.get_variants(log)`` -> number of cases per variant (full trace, purchase included).
"""
from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
STATES = ["homepage", "search", "product_page", "cart", "checkout", "purchase"]
P = {"homepage": [0.0, 0.4, 0.3, 0.05, 0.0, 0.0], "search": [0.05, 0.1, 0.6, 0.0, 0.0, 0.0],
     "product_page": [0.0, 0.15, 0.1, 0.4, 0.0, 0.0], "cart": [0.0, 0.0, 0.15, 0.0, 0.6, 0.0],
     "checkout": [0.0, 0.0, 0.0, 0.1, 0.0, 0.7]}
START = [0.5, 0.3, 0.2, 0.0, 0.0, 0.0]


def make_log(n=1500, seed=20261123) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows, t = [], pd.Timestamp("2025-06-01")
    for j in range(n):
        s = STATES[rng.choice(6, p=START)]
        t += pd.Timedelta(minutes=int(rng.integers(5, 120)))
        k = 0
        while True:
            rows.append((f"E{len(rows):06d}", f"C{j % 700:04d}", f"J{j:05d}", t, s))
            if s == "purchase":
                break
            row = np.array(P[s])
            stay = rng.random() < row.sum()
            if not stay:
                break
            s = STATES[rng.choice(6, p=row / row.sum())]
            t += pd.Timedelta(seconds=int(rng.integers(20, 600)))
            k += 1
    return pd.DataFrame(rows, columns=["event_id", "customer_id", "journey_id", "timestamp", "touchpoint"])


if __name__ == "__main__":
    import pm4py

    log = make_log()
    log.to_csv(HERE / "journey_events_small.csv.gz", index=False)
    df = pd.read_csv(HERE / "journey_events_small.csv.gz", parse_dates=["timestamp"])
    df = pm4py.format_dataframe(df, case_id="journey_id", activity_key="touchpoint", timestamp_key="timestamp")
    dfg, start, end = pm4py.discover_dfg(df)
    variants = pm4py.get_variants(df)
    out = {"source": "pm4py " + version("pm4py"),
           "dfg": [[a, b, int(c)] for (a, b), c in sorted(dfg.items())],
           "start_activities": {k: int(v) for k, v in sorted(start.items())},
           "end_activities": {k: int(v) for k, v in sorted(end.items())},
           "variants": sorted([[" > ".join(v), int(c if not isinstance(c, list) else len(c))]
                               for v, c in variants.items()])}
    (HERE / "journey_events_small_pm4py.json").write_text(json.dumps(out, indent=1) + "\n")
    print(len(log), "events,", len(out["variants"]), "variants,", len(out["dfg"]), "edges")
