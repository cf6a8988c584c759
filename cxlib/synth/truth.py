"""``truth.json``: every planted quantity of the synthetic world, machine-readable.

Top-level keys (all sorted; times are ISO dates, rates are per the stated unit):

``generator``  name and version of the generator (bump the version when output changes).
``seed``, ``sizes``, ``window``  the arguments, row counts per table, first/last day and
    ``observation_end`` (midnight after the last day; administrative censoring there).
``config``  the full ``SynthConfig`` as nested dicts.
``units``  stores by wave, never-treated stores, rollout and shock dates.
``program_effects``  one entry per panel metric: ``relative_effect`` (treated & post vs not),
    the exact ``definition`` of the metric (numerator, denominator, unit, month) and the
    ``numerator_column``/``denominator``; the NPS lift (latent shift and exact effect on the treated).
``seasonality``, ``shock``  month-of-year factors per metric and the common shock (date and factors).
``bgnbd``  ``r, alpha, a, b`` (weeks), the ``exact_window`` in which the data are pure BG/NBD and the
    exact expected repeat purchases of the realized customers in it (closed form).
``gamma_gamma``  ``p, q, gamma`` and the population mean spend.
``segments``  latent value segments (median cuts): rule, thresholds, counts (per customer in truth_segments.parquet).
``behavioural_groups``  the four planted behavioural clusters: rule, counts, exact mean rate and spend,
    journey rate and survey latent shift per group (column ``behavioural_group`` of truth_segments.parquet).
``subscriptions``  Weibull baseline (``S0(t) = exp(-(t/scale)^shape)``, t in days), log hazard ratios,
    covariate coding, censoring rule, expected and observed numbers of ended subscriptions.
``journeys``  Markov chain (states, start distribution, transition matrix rows summing to 1),
    exact conversion probability, exact removal effects, fail touchpoint, abandonment by state.
``surveys``  latent model, thresholds and, per contrast (loyalty_tier, touchpoint, quarter, region,
    program), the exact expected NPS (x100), CSAT top-2-box share and mean CES of the respondents.
``comments``  theme probabilities P(theme | touchpoint, sentiment), realized counts, planted PII counts
    (exact strings in truth_pii.parquet).
``tickets``  volumes, channel mix, lognormal time parameters (median minutes, sigma), unresolved share.
``files``  what each file of the folder holds.
"""
from __future__ import annotations

from dataclasses import asdict

import numpy as np
from scipy import stats

from .calendar import World
from .comments import PII_KINDS, theme_probabilities
from .config import (PROGRAM, SENTIMENTS, SURVEY_TOUCHPOINTS, THEMES, TICKET_CATEGORIES, TICKET_CHANNELS,
                     TICKET_TYPES, TIERS, REGIONS, SynthConfig)
from .journeys import STATES, chain, conversion_probability, removal_effects
from .purchases import SEGMENTS, gamma_gamma_mean, segment_thresholds
from .subscriptions import COVARIATES, log_hazard_ratios
from .surveys import expected_scores, quarter_labels, thresholds

CONTRASTS = ("loyalty_tier", "touchpoint", "quarter", "region", "program")
PROGRAM_GROUPS = ("never_treated", "treated_pre", "treated_post")


class TruthAccumulator:
    """Sums over chunks of the realized quantities that the truth reports."""

    def __init__(self, world: World, config: SynthConfig):
        self.world, self.config = world, config
        self.labels = {"loyalty_tier": list(TIERS), "touchpoint": list(SURVEY_TOUCHPOINTS),
                       "quarter": quarter_labels(world), "region": list(REGIONS), "program": list(PROGRAM_GROUPS)}
        self.survey = {k: np.zeros((len(v), 6)) for k, v in self.labels.items()}
        self.nps_att = np.zeros(2)  # n, sum of exact NPS effects on the treated
        self.counts: dict[str, float] = {}
        self.segments = np.zeros(len(SEGMENTS), dtype=np.int64)
        self.groups = np.zeros(len(config.groups.names), dtype=np.int64)
        self.themes = np.zeros((len(SURVEY_TOUCHPOINTS), len(SENTIMENTS), len(THEMES)), dtype=np.int64)
        self.pii = np.zeros(len(PII_KINDS), dtype=np.int64)

    def add(self, key: str, value: float) -> None:
        self.counts[key] = self.counts.get(key, 0) + value

    def add_survey(self, codes: dict[str, np.ndarray], mu: np.ndarray, nps: np.ndarray, csat: np.ndarray,
                   ces: np.ndarray, treated_post: np.ndarray) -> None:
        exp = expected_scores(mu, self.config.surveys)
        has = [nps >= 0, csat >= 1, ces >= 1]
        values = [exp["nps"], exp["csat_top2"], exp["ces_mean"]]
        for name, code in codes.items():
            size = len(self.labels[name])
            for j, (h, v) in enumerate(zip(has, values)):
                self.survey[name][:, 2 * j] += np.bincount(code, weights=h, minlength=size)
                self.survey[name][:, 2 * j + 1] += np.bincount(code, weights=h * v, minlength=size)
        sel = treated_post & has[0]
        without = expected_scores(mu[sel] - self.config.surveys.program_lift, self.config.surveys)["nps"]
        self.nps_att += (sel.sum(), (exp["nps"][sel] - without).sum())

    def survey_truth(self) -> dict:
        effects = {"loyalty_tier": dict(zip(TIERS, self.config.surveys.tier_effect)),
                   "touchpoint": dict(zip(SURVEY_TOUCHPOINTS, self.config.surveys.touchpoint_effect)),
                   "region": dict(zip(REGIONS, self.config.surveys.region_effect)),
                   "quarter": {q: i * self.config.surveys.quarter_trend for i, q in enumerate(self.labels["quarter"])},
                   "program": {"never_treated": 0.0, "treated_pre": 0.0,
                               "treated_post": self.config.surveys.program_lift}}
        out = {}
        for name, sums in self.survey.items():
            groups = {}
            for i, g in enumerate(self.labels[name]):
                s = sums[i]
                groups[g] = {"n_nps": int(s[0]), "nps": _ratio(s[1], s[0]), "n_csat": int(s[2]),
                             "csat_top2": _ratio(s[3], s[2]), "n_ces": int(s[4]), "ces_mean": _ratio(s[5], s[4]),
                             "latent_effect": float(effects[name][g])}
            out[name] = groups
        return out


def _ratio(a: float, b: float) -> float | None:
    return float(a / b) if b > 0 else None


def build_truth(*, world: World, config: SynthConfig, acc: TruthAccumulator, seed: int, n_customers: int,
                chunk_customers: int, rows: dict[str, int], version: str) -> dict:
    """Assemble the truth dictionary (JSON-ready: plain Python types only)."""
    pp, panel, tp, sp, sv = (config.purchases, config.panel, config.tickets, config.subscriptions,
                             config.surveys)
    c = acc.counts
    P, start = chain(config.journeys)
    months = [f"{m:02d}" for m in range(1, 13)]
    lam_med, nu_med = segment_thresholds(pp)
    th = thresholds(sv)
    units = {"treated": {str(w): [world.unit_ids[i] for i in np.flatnonzero(world.wave == w)]
                         for w in range(1, len(panel.rollout_month_offsets) + 1)},
             "never_treated": [world.unit_ids[i] for i in np.flatnonzero(world.wave == 0)],
             "rollout_dates": {str(w): world.day_to_date(world.rollout_day[world.wave == w][0])
                               for w in range(1, len(panel.rollout_month_offsets) + 1)},
             "program": PROGRAM,
             "base_rates": {u: {"return_rate": float(world.return_base[i]),
                                "out_of_stock_rate": float(world.oos_base[i]),
                                "complaints_per_1000_customers_month": float(world.complaint_base[i])}
                            for i, u in enumerate(world.unit_ids)},
             "base_rates_note": "store base rates before season, shock and program factors"}
    truth = {
        "generator": {"name": "cxlib.synth", "version": version},
        "seed": int(seed),
        "sizes": {"customers": int(n_customers), "units": world.n_units, "chunk_customers": int(chunk_customers),
                  "rows": {k: int(v) for k, v in sorted(rows.items())}},
        "window": {"start": str(world.start), "end": str(world.end), "observation_end": world.day_to_date(world.n_days),
                   "n_days": world.n_days, "months": list(world.month_label),
                   "note": "events happen before observation_end (midnight after `end`); later ones are censored"},
        "config": asdict(config),
        "units": units,
        "shock": {"date": world.day_to_date(world.shock_day), "purchase_keep": panel.shock_purchase_keep,
                  "returns": panel.shock_returns, "out_of_stock": panel.shock_out_of_stock,
                  "complaints": panel.shock_complaints, "nps_latent": sv.shock_effect,
                  "note": "applies to every store, treated or not, from the date on"},
        "seasonality": {"month": months, "returns": list(panel.season_returns),
                        "out_of_stock": list(panel.season_out_of_stock),
                        "complaints": list(panel.season_complaints), "nps_latent": list(sv.month_effect),
                        "purchases": "none (purchases have no seasonality, so the BG/NBD window stays exact)"},
        "program_effects": _program_effects(config, acc),
        "bgnbd": {"r": pp.r, "alpha": pp.alpha, "a": pp.a, "b": pp.b, "time_unit": "weeks",
                  "birth": "birth_at in truth_segments.parquet (inside the signup day, on the BG/NBD clock: "
                           "transaction timestamps are these times mapped monotonically into opening hours "
                           "within the same day); the first transaction is at birth and is not a repeat",
                  "exact_window": {"start": str(world.start), "end": world.day_to_date(world.first_rollout_day),
                                   "applies_to": "all customers; repeat purchases before `end` (exclusive)",
                                   "n_customers": int(c.get("bg_n", 0)),
                                   "expected_repeat_purchases": float(c.get("bg_expected", 0.0)),
                                   "observed_repeat_purchases": int(c.get("bg_observed", 0))},
                  "exact_window_never_treated": {
                      "start": str(world.start), "end": world.day_to_date(world.shock_day),
                      "applies_to": "customers whose home store is never treated",
                      "n_customers": int(c.get("bgc_n", 0)),
                      "expected_repeat_purchases": float(c.get("bgc_expected", 0.0)),
                      "observed_repeat_purchases": int(c.get("bgc_observed", 0))},
                  "formula": "E[X(t)] = (a+b-1)/(a-1) * (1 - (alpha/(alpha+t))^r * 2F1(r, b; a+b-1; t/(alpha+t)))"},
        "gamma_gamma": {"p": pp.gg_p, "q": pp.gg_q, "gamma": pp.gg_gamma,
                        "mean_spend": gamma_gamma_mean(p=pp.gg_p, q=pp.gg_q, gamma=pp.gg_gamma),
                        "currency": "EUR", "rounding": "amounts rounded to cents",
                        "expected_mean_spend_given_customers": _ratio(c.get("gg_expected", 0.0),
                                                                      c.get("n_transactions", 0))},
        "segments": {"names": list(SEGMENTS), "counts": dict(zip(SEGMENTS, acc.segments.tolist())),
                     "rule": "occasional: lambda < median; regular: lambda >= median and nu >= median "
                             "(lower spend); high_value: lambda >= median and nu < median",
                     "lambda_median_per_week": lam_med, "nu_median": nu_med,
                     "file": "truth_segments.parquet"},
        "behavioural_groups": _group_truth(config, acc),
        "subscriptions": _subscription_truth(config, c),
        "journeys": _journey_truth(config, c, P, start),
        "surveys": {"thresholds": {k: v.tolist() for k, v in th.items()},
                    "model": "L = mu + N(0,1); nps = #(L >= c_j); csat = 1 + #(L + N(0, csat_noise^2) >= d_j); "
                             "ces = 1 + #(-L + N(0, ces_noise^2) >= w_j)",
                    "program_unit": "the response's unit_id, or the customer's home store when unit_id is empty",
                    "expectation": "exact, per respondent from the normal CDF given mu, averaged over the group's "
                                   "respondents with that score present",
                    "contrasts": acc.survey_truth(), "n_responses": int(c.get("n_responses", 0))},
        "comments": {"theme_probabilities": {tp_: {s: dict(zip(THEMES, row.tolist()))
                                                   for s, row in zip(SENTIMENTS, block)}
                                             for tp_, block in zip(SURVEY_TOUCHPOINTS, theme_probabilities(
                                                 config.comments))},
                     "theme_counts": {tp_: {s: dict(zip(THEMES, acc.themes[i, j].tolist()))
                                            for j, s in enumerate(SENTIMENTS)}
                                      for i, tp_ in enumerate(SURVEY_TOUCHPOINTS)},
                     "n_comments": int(acc.themes.sum()),
                     "pii_counts": dict(zip(PII_KINDS, acc.pii.tolist())), "pii_file": "truth_pii.parquet",
                     "pii_formats": {"email": "first.last<nn>@example.com or customer<nn>@example.org",
                                     "phone": "+44 20 7946 0xxx or 555-01xx", "name": "the customer's own name"}},
        "tickets": _ticket_truth(config, c),
        "files": {f"{t}.parquet": "contract table (cxlib.schema)" for t in rows if not t.startswith("truth_")}
        | {"truth_segments.parquet": "per customer: latent segment, latent behavioural group, lambda, p, nu, "
                                     "expected spend p/nu, birth and dropout on the BG/NBD clock, alive at the end",
           "truth_pii.parquet": "every planted personal-data string with its response",
           "truth.json": "this file"},
    }
    return _plain(truth)


def _program_effects(config: SynthConfig, acc: TruthAccumulator) -> dict:
    panel, pp, sv = config.panel, config.purchases, config.surveys
    month = "calendar month of the timestamp; 'post' = month starts on or after the store's rollout_date"
    n_att, s_att = acc.nps_att
    return {
        "purchase_frequency": {
            "relative_effect": pp.program_frequency_effect,
            "definition": "transactions (any store) in month m of customers with home_unit_id u and "
                          "signup_date before the first day of m, divided by the number of those customers",
            "numerator_column": "transactions", "denominator": "customers signed up before the month",
            "unit_column": "customers.home_unit_id", "month": month},
        "return_rate": {"relative_effect": panel.effect_returns,
                        "definition": "sum(returned_items) / sum(items) over transactions of unit_id u in month m",
                        "numerator_column": "returned_items", "denominator": "items",
                        "unit_column": "transactions.unit_id", "month": month},
        "out_of_stock_rate": {"relative_effect": panel.effect_out_of_stock,
                              "definition": "sum(stockout_items) / (sum(items) + sum(stockout_items)) over "
                                            "transactions of unit_id u in month m",
                              "numerator_column": "stockout_items", "denominator": "items + stockout_items",
                              "unit_column": "transactions.unit_id", "month": month},
        "complaint_rate": {"relative_effect": panel.effect_complaints,
                           "definition": "tickets with ticket_type 'complaint' and unit_id u opened in month m, "
                                         "per 1000 customers with home_unit_id u and signup_date before the "
                                         "first day of m",
                           "numerator_column": "tickets", "denominator": "customers signed up before the month / 1000",
                           "unit_column": "tickets.unit_id", "month": month},
        "nps": {"latent_lift": sv.program_lift,
                "effect_on_treated_nps_points": _ratio(s_att, n_att), "n_treated_post_responses": int(n_att),
                "definition": "exact mean over treated-post responses with an NPS of E[NPS | mu] - "
                              "E[NPS | mu - lift] (x100 scale)"},
        "chatbot_share": {"base": _shares(config.tickets.channel_shares),
                          "treated_post": _shares(config.tickets.channel_shares,
                                                  config.tickets.program_chatbot_weight),
                          "definition": "ticket channel shares; the store is the ticket's unit_id, else the "
                                        "customer's home store"},
    }


def _shares(shares, chatbot_weight: float = 1.0) -> dict:
    w = np.asarray(shares, dtype=float).copy()
    w[TICKET_CHANNELS.index("chatbot")] *= chatbot_weight
    return dict(zip(TICKET_CHANNELS, (w / w.sum()).tolist()))


def _subscription_truth(config: SynthConfig, c: dict) -> dict:
    sp = config.subscriptions
    beta = log_hazard_ratios(sp)
    return {
        "weibull": {"shape": sp.weibull_shape, "scale_days": sp.weibull_scale_days,
                    "parametrisation": "S0(t) = exp(-(t/scale)^shape), t in days since start_date; "
                                       "S(t|x) = S0(t)^exp(x'beta)"},
        "covariates": list(COVARIATES),
        "log_hazard_ratios": dict(zip(COVARIATES, beta.tolist())),
        "hazard_ratios": dict(zip(COVARIATES, np.exp(beta).tolist())),
        "coding": {"detractor": "1 if the customer has a survey_responses row with touchpoint 'onboarding' "
                                "on the start_date and nps <= 6, else 0",
                   "unresolved_ticket": "1 if the customer has a ticket with opened_at before start_date "
                                        "(00:00) and resolved_at empty or on/after start_date, else 0",
                   "plan_plus": "1 if plan == 'plus'", "plan_premium": "1 if plan == 'premium' "
                                                                        "(basic is the reference)"},
        "censoring": "end_date = start_date + floor(T) days if on or before the window end, else empty; "
                     "follow-up F = (window end - start_date).days + 1; P(end observed) = 1 - S(F|x)",
        "start": "start_date = signup_date + 1 + Poisson(start_delay_mean_days) days",
        "n_subscriptions": int(c.get("sub_n", 0)),
        "expected_ended": float(c.get("sub_expected", 0.0)),
        "variance_ended": float(c.get("sub_var", 0.0)),
        "observed_ended": int(c.get("sub_observed", 0)),
        "covariate_counts": {k: int(c.get(f"sub_x_{k}", 0)) for k in COVARIATES},
        "plans": dict(zip(("basic", "plus", "premium"), sp.monthly_fee)),
    }


def _group_truth(config: SynthConfig, acc: TruthAccumulator) -> dict:
    """Planted behavioural groups with their exact conditional means of lambda and spend.

    For ``X ~ Gamma(k, scale s)``: ``E[X | X < m] = k s F_{k+1}(m) / F_k(m)`` and, for the spend
    ``p / nu`` with ``nu ~ Gamma(q, rate g)``, ``E[1/nu | nu >= m] = g (1 - F_{q-1}(m)) / ((q - 1) (1 - F_q(m)))``.
    """
    pp, gp, jp = config.purchases, config.groups, config.journeys
    lam_med, nu_med = segment_thresholds(pp)
    k, s = pp.r, 1 / pp.alpha
    lam_low = k * s * stats.gamma.cdf(lam_med, k + 1, scale=s) / 0.5
    lam_high = k * s * stats.gamma.sf(lam_med, k + 1, scale=s) / 0.5
    q, g = pp.gg_q, pp.gg_gamma
    inv_high_nu = g * stats.gamma.sf(nu_med, q - 1, scale=1 / g) / ((q - 1) * 0.5)  # E[1/nu | nu >= median]
    inv_low_nu = g * stats.gamma.cdf(nu_med, q - 1, scale=1 / g) / ((q - 1) * 0.5)
    per = {}
    for i, name in enumerate(gp.names):
        heavy, premium = divmod(i, 2)
        per[name] = {"count": int(acc.groups[i]), "heavy_buyer": bool(heavy), "premium_spender": bool(premium),
                     "mean_lambda_per_week": float(lam_high if heavy else lam_low),
                     "mean_expected_spend": float(pp.gg_p * (inv_low_nu if premium else inv_high_nu)),
                     "journeys_per_year": float(jp.journeys_per_year * gp.engagement[i]),
                     "cx_latent_shift": float(gp.cx_shift[i])}
    return {"names": list(gp.names), "groups": per, "file": "truth_segments.parquet (column behavioural_group)",
            "rule": "heavy_buyer: lambda >= median; premium_spender: nu < median (higher mean spend); "
                    "group = 2 * heavy_buyer + premium_spender in the order of names",
            "modulates": "journey rate (journeys_per_year) and survey latent mean (cx_latent_shift, inside mu); "
                         "lambda, p and nu keep their planted distributions",
            "lambda_median_per_week": lam_med, "nu_median": nu_med}


def _journey_truth(config: SynthConfig, c: dict, P: np.ndarray, start: np.ndarray) -> dict:
    jp = config.journeys
    re = removal_effects(P, start)
    return {
        "states": list(STATES), "absorbing": {"conversion": "purchase", "abandonment": "abandon"},
        "start_distribution": dict(zip(STATES, start.tolist())),
        "transition_matrix": [row.tolist() for row in P],
        "conversion_probability": conversion_probability(P, start),
        "removal_effects": re,
        "removal_ranking": sorted(re, key=lambda k: -re[k]),
        "removal_definition": "1 - P(conversion | transitions into k redirected to abandonment) / P(conversion)",
        "abandonment_probability": {s: float(P[i, -1]) for i, s in enumerate(STATES[:-2])},
        "fail_touchpoint": jp.fail_touchpoint,
        "gap_mean_minutes": dict(zip(STATES[:-1], jp.gap_mean_min)),
        "journeys_per_customer_year": jp.journeys_per_year,
        "n_journeys": int(c.get("journeys", 0)), "n_converted": int(c.get("journeys_converted", 0)),
        "n_truncated_at_observation_end": int(c.get("journeys_truncated", 0)),
    }


def _ticket_truth(config: SynthConfig, c: dict) -> dict:
    tp = config.tickets
    return {
        "complaints_per_1000_customers_month": "units.base_rates x season x shock x program effect x share of the month in the window",
        "inquiries_per_1000_customers_month": tp.inquiries_per_1000,
        "requests_per_1000_customers_month": tp.requests_per_1000,
        "types": list(TICKET_TYPES), "categories": list(TICKET_CATEGORIES),
        "first_response": {ch: {"median_minutes": m, "sigma": s} for ch, m, s in
                           zip(TICKET_CHANNELS, tp.first_response_median_min, tp.first_response_sigma)},
        "resolution": {ch: {"median_minutes": m, "sigma": s} for ch, m, s in
                       zip(TICKET_CHANNELS, tp.resolution_median_min, tp.resolution_sigma)},
        "resolution_category_factor": dict(zip(TICKET_CATEGORIES, tp.category_resolution_factor)),
        "time_rule": "lognormal(log(median), sigma) minutes from opened_at; resolution median = channel median "
                     "x category factor; first response = min(first-response draw, resolution) when resolved; "
                     "times after the observation end are empty",
        "unresolved_share": tp.unresolved_share,
        "planted_pre_subscription_tickets": int(c.get("tickets_planted", 0)),
        "planted_rule": "billing requests without store, opened uniformly between signup and the subscription "
                        "start, resolved (unless unresolved, same share) Exponential(mean "
                        "planted_resolution_mean_days) days after the start: the unresolved_ticket covariate",
        "counts": {t: int(c.get(f"tickets_{t}", 0)) for t in TICKET_TYPES},
    }


def _plain(obj):
    """Convert numpy scalars and tuples to plain JSON types, recursively."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
