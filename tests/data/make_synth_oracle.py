"""Reference numbers for tests/test_evaluation_synthetic_control.py from an independent implementation.

Synthetic control with predictors (Abadie, Diamond & Hainmueller 2010, Proposition 99) by the PyPI
package ``pysyncon`` 1.7.0 (MIT; ``Dataprep`` + ``Synth``) on ``prop99_smoking.csv``:

- donor weights ``W`` and outcome loss for fixed predictor weights ``V`` (``Synth.fit(custom_V=...)``;
  pysyncon solves the inner problem with SLSQP from equal weights), for equal weights and three
  Dirichlet(1) draws of ``numpy.random.default_rng(23)``;
- its own nested fit (``optim_method="Nelder-Mead"``, ``optim_initial="ols"``, R Synth's start).

Run with pysyncon installed (``pip install pysyncon==1.7.0``; it is the optional test extra
``synth-oracle`` of pyproject.toml and never a dependency of cxlib):

    .venv/bin/python tests/data/make_synth_oracle.py tests/data/prop99_smoking.csv \
        tests/data/prop99_pysyncon_reference.json
"""
import json
import sys
from importlib.metadata import version

import numpy as np
import pandas as pd
from pysyncon import Dataprep, Synth

src, out = sys.argv[1], sys.argv[2]
df = pd.read_csv(src)
df["year"] = df["year"].astype(int)
controls = sorted(set(df["state"]) - {"California"})
dataprep = Dataprep(
    foo=df, predictors=["lnincome", "age15to24", "retprice"], predictors_op="mean",
    time_predictors_prior=range(1980, 1989),
    special_predictors=[("beer", range(1984, 1989), "mean"), ("cigsale", [1975], "mean"),
                        ("cigsale", [1980], "mean"), ("cigsale", [1988], "mean")],
    dependent="cigsale", unit_variable="state", time_variable="year", treatment_identifier="California",
    controls_identifier=controls, time_optimize_ssr=range(1970, 1989))
rng = np.random.default_rng(23)
fixed = [np.full(7, 1 / 7)] + [rng.dirichlet(np.ones(7)) for _ in range(3)]
z0, _ = dataprep.make_outcome_mats()
x0, _ = dataprep.make_covariate_mats()
assert list(z0.columns) == controls and list(x0.columns) == controls  # the order of W below
res = {"package": f"pysyncon {version('pysyncon')}", "source": src,
       "predictors": ["lnincome", "age15to24", "retprice", "beer (1984-1988)", "cigsale (1975)", "cigsale (1980)",
                      "cigsale (1988)"],
       "donors": controls, "fixed_v": []}
for v in fixed:
    synth = Synth()
    synth.fit(dataprep=dataprep, custom_V=v)
    res["fixed_v"].append({"v": v.tolist(), "w": [float(x) for x in synth.W], "loss_v": float(synth.loss_V)})
synth = Synth()
synth.fit(dataprep=dataprep, optim_method="Nelder-Mead", optim_initial="ols")
res["nested"] = {"optim_method": "Nelder-Mead", "optim_initial": "ols", "v": [float(x) for x in synth.V],
                 "w": [float(x) for x in synth.W], "loss_v": float(synth.loss_V)}
with open(out, "w") as f:
    json.dump(res, f, indent=1)
    f.write("\n")
print(json.dumps(res["nested"], indent=1))
