"""Compute the oracle values stored in ``channelattribution_paths_mam.json``.

Run once, in a THROWAWAY virtualenv (marketing-attribution-models is never a
dependency of cxlib)::

    python3 -m venv /tmp/oracle_venv
    /tmp/oracle_venv/bin/pip install marketing-attribution-models==2.1.1
    /tmp/oracle_venv/bin/python tests/data/make_channelattribution_oracle.py

It reads ``channelattribution_paths.csv.gz`` (the ChannelAttribution sample
paths, 10,000 rows: path, total_conversions, total_conversion_value,
total_null) and feeds it to ``mam.core.MAM`` in its grouped-journey format
(one row per path and outcome, ``occurrences`` = count), then records

* ``markov_removal_effect``: ``run_markov().metadata["removal_effect"]``, an
  exact fundamental-matrix computation ``(I - Q)^{-1} R`` with self-loops
  dropped (``transition_to_same_state=False``; self-loops do not change
  absorption probabilities, so the removal effects equal those with loops);
* ``first_click``, ``last_click``, ``linear``: the heuristic attributed
  conversions per channel (``run_*().to_pandas()``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from importlib.metadata import version
from mam.core import MAM

HERE = Path(__file__).parent

raw = pd.read_csv(HERE / "channelattribution_paths.csv.gz")
conv = raw.loc[raw.total_conversions > 0, ["path"]].assign(has_conversion=True,
                                                           occurrences=raw.total_conversions)
null = raw.loc[raw.total_null > 0, ["path"]].assign(has_conversion=False, occurrences=raw.total_null)
grouped = pd.concat([conv, null], ignore_index=True)
mam = MAM(df=grouped, format_type="grouped_journey", channels_colname="path",
          journey_with_conv_colname="has_conversion", occurrences_colname="occurrences", path_separator=" > ")
mk = mam.run_markov(transition_to_same_state=False)
re = mk.metadata["removal_effect"]["removal_effect"]
out = {
    "source": "marketing-attribution-models " + version("marketing-attribution-models"),
    "call": "MAM(df, format_type='grouped_journey', channels_colname='path', journey_with_conv_colname="
            "'has_conversion', occurrences_colname='occurrences').run_markov(transition_to_same_state=False)",
    "markov_removal_effect": {k: float(v) for k, v in re.items()},
}
for name, fn in (("first_click", mam.run_first_click), ("last_click", mam.run_last_click),
                 ("linear", mam.run_linear)):
    agg = fn().to_pandas()
    out[name] = {str(c): float(v) for c, v in zip(agg["channels"], agg["attribution"])}
(HERE / "channelattribution_paths_mam.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
print(json.dumps(out, indent=1))
