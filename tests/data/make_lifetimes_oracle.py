"""Compute the lifetimes oracle values stored in ``lifetimes_oracle_cdnow.json``.

Run once, in a THROWAWAY virtualenv (lifetimes is abandoned and never a
dependency of cxlib)::

    python3 -m venv /tmp/ltvenv
    /tmp/ltvenv/bin/pip install lifetimes==0.11.3
    /tmp/ltvenv/bin/python tests/data/make_lifetimes_oracle.py

It reads ``CDNOW_sample.txt`` directly (not the package's loader), builds the
RFM summary with lifetimes' own ``summary_data_from_transaction_data``
(daily periods, times divided by 7 for weeks), fits lifetimes' BG/NBD,
Pareto/NBD and Gamma-Gamma, and evaluates its predictions *at fixed
parameters* (the values in ``params``) on the first 40 customers plus a few
extreme histories, so that cxlib can be compared prediction by prediction.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import lifetimes
from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
from lifetimes.utils import summary_data_from_transaction_data

HERE = Path(__file__).parent
# Parameters at which predictions are evaluated: FHL (2005) BG/NBD and Pareto/NBD, FHL (2005b) Gamma-Gamma.
PARAMS = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "paretonbd": {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    "gammagamma": {"p": 6.25, "q": 3.74, "v": 15.44},
}


def main() -> None:
    tx = pd.read_csv(HERE / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["customer_id", "id", "date", "cds", "spend"])
    tx["date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    tx = tx[tx["date"] <= "1997-09-30"]
    s = summary_data_from_transaction_data(tx, "id", "date", monetary_value_col="spend",
                                           observation_period_end="1997-09-30", freq="D")
    s["recency"] /= 7.0
    s["T"] /= 7.0
    rows = s.iloc[:40].copy()
    extreme = pd.DataFrame({"frequency": [50.0, 200.0, 400.0, 300.0], "recency": [38.0, 38.5, 2.0, 30.0],
                            "T": [38.857142857142854] * 4, "monetary_value": [20.0, 15.0, 30.0, 25.0]},
                           index=[90001, 90002, 90003, 90004])
    rows = pd.concat([rows, extreme])

    out: dict = {"lifetimes_version": lifetimes.__version__, "params": PARAMS,
                 "customers": rows.index.tolist(), "frequency": rows["frequency"].tolist(),
                 "recency": rows["recency"].tolist(), "T": rows["T"].tolist(),
                 "monetary_value": rows["monetary_value"].tolist()}

    bg = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    pn = ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"])
    rb = s[s["frequency"] > 0]
    gg = GammaGammaFitter().fit(rb["frequency"], rb["monetary_value"])
    out["fitted"] = {"bgnbd": bg.params_.to_dict(), "paretonbd": pn.params_.to_dict(),
                     "gammagamma": gg.params_.to_dict(), "n_repeat": int(len(rb))}

    bg.params_ = pd.Series(PARAMS["bgnbd"])
    pn.params_ = pd.Series(PARAMS["paretonbd"])
    gg.params_ = pd.Series(PARAMS["gammagamma"])
    f, r, T = rows["frequency"], rows["recency"], rows["T"]
    with np.errstate(all="ignore"):
        out["bgnbd"] = {
            "conditional_purchases_39": bg.conditional_expected_number_of_purchases_up_to_time(39, f, r, T).tolist(),
            "p_alive": bg.conditional_probability_alive(f, r, T).tolist(),
            "new_purchases": {str(t): float(bg.expected_number_of_purchases_up_to_time(t)) for t in (1, 10, 39, 78)},
            "p_n_39": [float(bg.probability_of_n_purchases_up_to_time(39, n)) for n in range(8)],
        }
        out["paretonbd"] = {
            "conditional_purchases_39": pn.conditional_expected_number_of_purchases_up_to_time(39, f, r, T).tolist(),
            "p_alive": pn.conditional_probability_alive(f, r, T).tolist(),
            "new_purchases": {str(t): float(pn.expected_number_of_purchases_up_to_time(t)) for t in (1, 10, 39, 78)},
        }
        spend = gg.conditional_expected_average_profit(f.where(f > 0, 0), rows["monetary_value"].fillna(0))
        out["gammagamma"] = {"expected_spend": spend.tolist()}
        # lifetimes CLV: 12 "months" of 4.345 weeks, 1% per month, end-of-month discounting
        clv = gg.customer_lifetime_value(bg, f, r, T, rows["monetary_value"].fillna(0), time=12,
                                         discount_rate=0.01, freq="W")
        out["clv_bgnbd_12m_1pct"] = clv.tolist()

    def clean(v):
        if isinstance(v, float) and not np.isfinite(v):
            return None
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v

    (HERE / "lifetimes_oracle_cdnow.json").write_text(json.dumps(clean(out), indent=1) + "\n")


if __name__ == "__main__":
    main()
