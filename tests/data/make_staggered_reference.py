"""Reference numbers for tests/test_evaluation_staggered.py from an independent implementation.

Callaway & Sant'Anna group-time ATTs computed by the PyPI package ``differences``
0.3.0 (``ATTgt``, est_method="reg" without covariates, varying base period,
analytic standard errors) on ``staggered_sim_panel.csv``.  Run in a throwaway
virtualenv, not in the project's:

    python3 -m venv /tmp/xvenv && /tmp/xvenv/bin/pip install differences==0.3.0
    /tmp/xvenv/bin/python tests/data/make_staggered_reference.py \
        tests/data/staggered_sim_panel.csv tests/data/staggered_differences_reference.json

``staggered_sim_panel.csv`` was written by
``cxlib.evaluation.simulate.simulate_panel(n_units=60, n_periods=10, cohorts=[4, 6], effect=-0.2,
rng=numpy.random.default_rng(3))`` (columns unit, period, y, first_treated, treated, y0).
"""
import sys, json, warnings
import pandas as pd, numpy as np
warnings.simplefilter("ignore")
from differences import ATTgt
import differences
src, out = sys.argv[1], sys.argv[2]
p = pd.read_csv(src)
p = p.rename(columns={"first_treated": "cohort"}).set_index(["unit", "period"])
res = {"package": f"differences {differences.__version__}", "source": src, "results": {}}
for cg in ["never_treated", "not_yet_treated"]:
    att = ATTgt(data=p[["y", "cohort"]], cohort_column="cohort", base_period="varying")
    att.fit(formula="y", control_group=cg, progress_bar=False)
    gt = att.results()
    simple = att.aggregate("simple")
    event = att.aggregate("event")
    try:
        pre = att.wald_pre_test()
        print("wald pre test", pre)
    except Exception as exc:
        pre = repr(exc)
    gt_flat = gt.reset_index()
    res["results"][cg] = {
        "group_time": {"cohort": [int(v) for v in gt_flat.iloc[:, 0]], "time": [int(v) for v in gt_flat.iloc[:, 2]],
                       "att": [float(v) for v in gt.iloc[:, 0]], "se": [float(v) for v in gt.iloc[:, 1]]},
        "simple": {"att": float(simple.iloc[0, 0]), "se": float(simple.iloc[0, 1])},
        "event": {"event_time": [int(v) for v in event.index], "att": [float(v) for v in event.iloc[:, 0]],
                  "se": [float(v) for v in event.iloc[:, 1]]},
        "wald_pre_test": str(pre),
    }
    print(cg); print(gt.head(6)); print(simple); print(event)
json.dump(res, open(out, "w"), indent=1, default=str)
