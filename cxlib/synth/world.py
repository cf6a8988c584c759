"""Orchestration: generate the whole synthetic CX world into a folder of Parquet files + truth.json.

Customers are processed in chunks (``chunk_customers``); each chunk has its
own random streams spawned from ``numpy.random.SeedSequence(seed)``, one per
concern, so the same seed and arguments always give the same bytes.  Every
table is appended chunk by chunk with ``pyarrow.parquet.ParquetWriter``, so
memory is bounded by the chunk size.  The folder is built in a temporary
folder beside the target and renamed into place only when complete.
"""
from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import ParameterError
from ..schema import TABLES
from . import comments as cm
from . import surveys as sv
from .calendar import World, build_world
from .config import (ACQ_CHANNELS, AGE_BANDS, CHANNELS, PLANS, PROGRAM, REGIONS, SURVEY_TOUCHPOINTS,
                     TICKET_CATEGORIES, TICKET_CHANNELS, TICKET_TYPES, TIERS, TOUCHPOINTS, SynthConfig)
from .customers import FIRST_NAMES, LAST_NAMES, Customers, draw_customers
from .journeys import Journeys, draw_journeys
from .purchases import REPEAT, SEGMENTS, Purchases, bgnbd_expected_repeat, draw_purchases
from .subscriptions import COVARIATES, Subscriptions, choose_subscribers, draw_churn, ticket_covariate
from .tickets import Tickets, draw_tickets, planted_tickets
from .truth import TruthAccumulator, build_truth
from .writer import (ParquetSink, commit_output, dates, format_ids, prepare_output, timestamps, vocab,
                     write_json)

GENERATOR_VERSION = "1.0.0"
DEFAULT_SEED = 20261123
STREAMS = ("customers", "purchases", "tickets", "subscriptions", "journeys", "surveys", "comments", "churn")
AUX_TABLES = ("truth_segments", "truth_pii")
ID_SPEC = {"transactions": ("T", 9), "events": ("E", 10), "journeys": ("J", 9), "tickets": ("TK", 9),
           "subscriptions": ("SB", 8), "survey_responses": ("R", 9)}


def generate(out_dir: str | os.PathLike, *, n_customers: int = 10_000, n_units: int = 24,
             seed: int = DEFAULT_SEED, start: str = "2024-01-01", end: str = "2025-12-31",
             chunk_customers: int = 100_000, progress: Callable[[str], None] | None = None,
             config: SynthConfig | None = None) -> dict:
    """Generate the synthetic CX world into ``out_dir`` and return its truth.

    Parameters
    ----------
    out_dir : path
        Target folder: new, empty, or a previous synth output (replaced).  Any
        other non-empty folder is refused and left untouched.
    n_customers : int
        Customers to simulate (at least 100 so that every table is non-empty).
    n_units : int
        Stores ``S01..``; at least one per rollout wave plus one never treated.
    seed : int
        Seed of every random stream (the Makefile's default).
    start, end : str
        First and last observed day (ISO dates); the window must contain the
        rollout waves and the shock (``SynthConfig.panel`` month offsets).
    chunk_customers : int
        Customers simulated and written per chunk (bounds the memory: about
        1 GB per 100,000 customers at peak).
    progress : callable, optional
        Receives one line per table and chunk (``"[  3.2 s] chunk 1/4 events: 512,331 rows"``).
    config : SynthConfig, optional
        Planted parameters; defaults to ``SynthConfig()``.

    Returns
    -------
    dict
        The truth, as written to ``truth.json`` (see ``cxlib.synth.truth``).

    Raises
    ------
    ParameterError
        Bad sizes or dates, or a non-empty target folder that is not a synth output.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as d:
    ...     truth = generate(pathlib.Path(d) / "world", n_customers=300, seed=1)
    ...     sorted(p.name for p in (pathlib.Path(d) / "world").iterdir())[:3]
    ['customers.parquet', 'events.parquet', 'program_rollout.parquet']
    >>> truth["program_effects"]["return_rate"]["relative_effect"]
    0.75
    """
    config = config if config is not None else SynthConfig()
    n_customers, chunk_customers = _check_sizes(n_customers, chunk_customers, seed)
    say = progress or (lambda _msg: None)
    t0 = time.perf_counter()
    n_chunks = math.ceil(n_customers / chunk_customers)
    world_ss, *chunk_ss = np.random.SeedSequence(seed).spawn(1 + n_chunks)
    world = build_world(start=start, end=end, n_units=n_units, config=config, rng=np.random.default_rng(world_ss))
    out, tmp = prepare_output(out_dir)
    try:
        sinks = {name: ParquetSink(tmp, name) for name in (*TABLES, *AUX_TABLES)}
        _write_units(world, sinks)
        acc = TruthAccumulator(world, config)
        ids = dict.fromkeys(ID_SPEC, 0)
        cwidth = max(7, len(str(n_customers)))
        for k in range(n_chunks):
            first = 1 + k * chunk_customers
            n = min(chunk_customers, n_customers - k * chunk_customers)
            rngs = dict(zip(STREAMS, (np.random.default_rng(s) for s in chunk_ss[k].spawn(len(STREAMS)))))
            data = _simulate_chunk(first, n, world=world, config=config, rngs=rngs)
            _accumulate(acc, data, world, config)

            def report(table: str, rows: int, k=k) -> None:
                say(f"[{time.perf_counter() - t0:7.1f} s] chunk {k + 1}/{n_chunks} {table}: {rows:,} rows")

            _write_chunk(data, sinks=sinks, ids=ids, cwidth=cwidth, world=world, config=config, report=report)
        rows = {name: sink.close() for name, sink in sinks.items()}
        empty = [t for t in TABLES if rows[t] == 0]
        if empty:
            raise ParameterError(f"n_customers={n_customers} is too small: tables {empty} came out empty. "
                                 "Use more customers.")
        truth = build_truth(world=world, config=config, acc=acc, seed=seed, n_customers=n_customers,
                            chunk_customers=chunk_customers, rows=rows, version=GENERATOR_VERSION)
        write_json(tmp / "truth.json", truth)
        commit_output(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"[{time.perf_counter() - t0:7.1f} s] done: {out} ({', '.join(f'{t} {r:,}' for t, r in rows.items())})")
    return truth


def _check_sizes(n_customers, chunk_customers, seed) -> tuple[int, int]:
    for name, value, low in (("n_customers", n_customers, 100), ("chunk_customers", chunk_customers, 100)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ParameterError(f"{name}={value!r} must be an integer >= {low}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed={seed!r} must be a non-negative integer.")
    return int(n_customers), int(chunk_customers)


@dataclass(frozen=True)
class ChunkData:
    cust: Customers
    pur: Purchases
    tickets: Tickets
    subs: Subscriptions
    jr: Journeys
    resp: sv.Responses
    com: cm.Comments


def _simulate_chunk(first: int, n: int, *, world: World, config: SynthConfig,
                    rngs: dict[str, np.random.Generator]) -> ChunkData:
    cust = draw_customers(first, n, world=world, params=config.customers, rng=rngs["customers"])
    pur = draw_purchases(cust, world=world, params=config.purchases, panel=config.panel, rng=rngs["purchases"])
    random_tickets = draw_tickets(cust, world=world, params=config.tickets, panel=config.panel, rng=rngs["tickets"])
    r_sub = rngs["subscriptions"]
    sub_idx, plan, start = choose_subscribers(cust, world=world, params=config.subscriptions, rng=r_sub)
    pick = r_sub.random(sub_idx.size) < config.subscriptions.pre_start_ticket
    planted = planted_tickets(sub_idx[pick], cust.signup_day[sub_idx[pick]], start[pick],
                              cust.home_unit[sub_idx[pick]], world=world, params=config.tickets, rng=r_sub)
    tickets = Tickets.concat([random_tickets, planted])
    groups = config.groups
    jr = draw_journeys(cust, world=world, params=config.journeys, rng=rngs["journeys"],
                       engagement=np.asarray(groups.engagement, dtype=float)[pur.group])

    r_sv = rngs["surveys"]
    inv = sv.invitations(tx_cust=pur.cust, tx_t=pur.store_time(config.purchases.open_hour, config.purchases.close_hour),
                         tx_unit=pur.unit, tk_cust=tickets.cust, tk_opened=tickets.opened,
                         tk_resolved=tickets.resolved, tk_unit=tickets.unit, app_cust=jr.app_journey_cust,
                         app_t=jr.app_journey_t, world=world, params=config.surveys, rng=r_sv)
    onb = sv.onboarding(sub_idx, start, cust.home_unit, params_rate=config.subscriptions.onboarding_response,
                        rng=r_sv)
    effect = r_sv.normal(0.0, np.sqrt(config.surveys.customer_share), n)
    resp = sv.score(sv.Invitations.concat([inv, onb]), tier=cust.tier, region=cust.region,
                    home_unit=cust.home_unit, customer_effect=effect, world=world, params=config.surveys, rng=r_sv,
                    group_shift=np.asarray(groups.cx_shift, dtype=float)[pur.group])

    onb_rows = (resp.touchpoint == sv.ONBOARDING) & (resp.nps >= 0) & (resp.nps <= 6)
    det = np.zeros(n, dtype=int)
    det[resp.cust[onb_rows]] = 1
    tcov = ticket_covariate(tickets, sub_idx, start, n)
    subs = draw_churn(sub_idx, plan, start, det[sub_idx], tcov, world=world, params=config.subscriptions,
                      rng=rngs["churn"])
    senti = cm.sentiment(resp.nps, resp.csat, resp.ces)
    com = cm.draw_comments(resp.touchpoint, senti, cust.first_name[resp.cust], cust.last_name[resp.cust],
                           params=config.comments, rng=rngs["comments"])
    return ChunkData(cust, pur, tickets, subs, jr, resp, com)


def _accumulate(acc: TruthAccumulator, d: ChunkData, world: World, config: SynthConfig) -> None:
    pp = config.purchases
    cust, pur = d.cust, d.pur
    r1 = world.first_rollout_day
    repeat = pur.kind == REPEAT
    for prefix, who, end in (("bg", np.ones(len(cust), bool), r1),
                             ("bgc", world.wave[cust.home_unit] == 0, world.shock_day)):
        sel = who & (cust.birth < end)
        t_weeks = (end - cust.birth[sel]) / 7.0
        acc.add(f"{prefix}_n", int(sel.sum()))
        acc.add(f"{prefix}_expected", float(np.sum(bgnbd_expected_repeat(t_weeks, r=pp.r, alpha=pp.alpha, a=pp.a,
                                                                         b=pp.b))))
        acc.add(f"{prefix}_observed", int((repeat & sel[pur.cust] & (pur.t < end)).sum()))
    acc.add("n_transactions", pur.cust.size)
    acc.add("gg_expected", float(np.sum(pp.gg_p / pur.nu[pur.cust])))
    acc.segments += np.bincount(pur.segment, minlength=len(SEGMENTS))
    acc.groups += np.bincount(pur.group, minlength=len(config.groups.names))

    s = d.subs
    acc.add("sub_n", s.cust.size)
    acc.add("sub_expected", float(s.p_observed_end.sum()))
    acc.add("sub_var", float((s.p_observed_end * (1 - s.p_observed_end)).sum()))
    acc.add("sub_observed", int((s.end >= 0).sum()))
    for j, name in enumerate(COVARIATES):
        acc.add(f"sub_x_{name}", int(s.covariates[:, j].sum()))

    t = d.tickets
    for i, name in enumerate(TICKET_TYPES):
        acc.add(f"tickets_{name}", int((t.ttype == i).sum()))
    acc.add("tickets_planted", int(t.planted.sum()))
    acc.add("journeys", d.jr.n_journeys)
    acc.add("journeys_converted", d.jr.converted)
    acc.add("journeys_truncated", d.jr.truncated)

    r = d.resp
    acc.add("n_responses", r.cust.size)
    program = np.where(r.treated_post, 2, np.where(world.wave[np.where(r.unit >= 0, r.unit, cust.home_unit[r.cust])] > 0,
                                                  1, 0))
    codes = {"loyalty_tier": cust.tier[r.cust], "touchpoint": r.touchpoint, "quarter": r.quarter,
             "region": cust.region[r.cust], "program": program}
    acc.add_survey(codes, r.mu, r.nps, r.csat, r.ces, r.treated_post)
    has = d.com.theme >= 0
    np.add.at(acc.themes, (r.touchpoint[has], d.com.sentiment[has], d.com.theme[has]), 1)
    for i, kind in enumerate(cm.PII_KINDS):
        acc.pii[i] += int((d.com.pii_kind == kind).sum())


def _write_units(world: World, sinks: dict[str, ParquetSink]) -> None:
    ids = pa.array(list(world.unit_ids), pa.string())
    sinks["units"].write({"unit_id": ids, "unit_name": pa.array(list(world.unit_names), pa.string()),
                          "region": vocab(REGIONS, world.unit_region), "size_sqm": pa.array(world.unit_size)})
    treated = np.flatnonzero(world.wave > 0)
    treated = treated[np.lexsort((treated, world.wave[treated]))]
    sinks["program_rollout"].write({
        "unit_id": ids.take(pa.array(treated)), "program": pa.array([PROGRAM] * treated.size, pa.string()),
        "rollout_date": dates(world.to_epoch_days(world.rollout_day[treated])),
        "wave": pa.array(world.wave[treated].astype(np.int64))})


def _next_ids(ids: dict[str, int], table: str, count: int) -> pa.Array:
    prefix, width = ID_SPEC[table]
    out = format_ids(prefix, np.arange(ids[table] + 1, ids[table] + count + 1), width)
    ids[table] += count
    return out


def _write_chunk(d: ChunkData, *, sinks, ids, cwidth: int, world: World, config: SynthConfig, report) -> None:
    cust, pur = d.cust, d.pur
    cid = format_ids("C", cust.index, cwidth)
    units = pa.array(list(world.unit_ids), pa.string())

    def unit_col(u):
        u = np.asarray(u, dtype=np.int64)
        return units.take(pa.array(u, mask=u < 0))

    report("customers", sinks["customers"].write({
        "customer_id": cid, "first_name": vocab(FIRST_NAMES, cust.first_name),
        "last_name": vocab(LAST_NAMES, cust.last_name), "signup_date": dates(world.to_epoch_days(cust.signup_day)),
        "home_unit_id": unit_col(cust.home_unit), "region": vocab(REGIONS, cust.region),
        "age_band": vocab(AGE_BANDS, cust.age_band), "loyalty_tier": vocab(TIERS, cust.tier),
        "acquisition_channel": vocab(ACQ_CHANNELS, cust.acquisition)}))

    pp = config.purchases
    report("transactions", sinks["transactions"].write({
        "transaction_id": _next_ids(ids, "transactions", pur.cust.size), "customer_id": cid.take(pur.cust),
        "unit_id": unit_col(pur.unit), "timestamp": timestamps(world.to_us(pur.store_time(pp.open_hour, pp.close_hour))),
        "amount": pa.array(pur.amount), "items": pa.array(pur.items.astype(np.int64)),
        "returned_items": pa.array(pur.returned.astype(np.int64)),
        "stockout_items": pa.array(pur.stockout.astype(np.int64))}))

    jr = d.jr
    jids = _next_ids(ids, "journeys", jr.n_journeys)
    report("events", sinks["events"].write({
        "event_id": _next_ids(ids, "events", jr.cust.size), "customer_id": cid.take(jr.cust),
        "journey_id": jids.take(jr.journey), "timestamp": timestamps(world.to_us(jr.t)),
        "touchpoint": vocab(TOUCHPOINTS, jr.touchpoint), "channel": vocab(CHANNELS, jr.channel),
        "unit_id": unit_col(jr.unit)}))

    s = d.subs
    report("subscriptions", sinks["subscriptions"].write({
        "subscription_id": _next_ids(ids, "subscriptions", s.cust.size), "customer_id": cid.take(s.cust),
        "plan": vocab(PLANS, s.plan), "monthly_fee": pa.array(np.asarray(config.subscriptions.monthly_fee)[s.plan]),
        "start_date": dates(world.to_epoch_days(s.start)),
        "end_date": dates(world.to_epoch_days(np.maximum(s.end, 0)), null=s.end < 0)}))

    r, com = d.resp, d.com
    rids = _next_ids(ids, "survey_responses", r.cust.size)
    report("survey_responses", sinks["survey_responses"].write({
        "response_id": rids, "customer_id": cid.take(r.cust), "unit_id": unit_col(r.unit),
        "touchpoint": vocab(SURVEY_TOUCHPOINTS, r.touchpoint), "responded_at": timestamps(world.to_us(r.t)),
        "nps": _nullable_int(r.nps, r.nps < 0), "csat": _nullable_int(r.csat, r.csat < 1),
        "ces": _nullable_int(r.ces, r.ces < 1), "comment": pa.array(com.text, pa.string())}))

    t = d.tickets
    fr, rs = np.isnan(t.first_response), np.isnan(t.resolved)
    report("tickets", sinks["tickets"].write({
        "ticket_id": _next_ids(ids, "tickets", len(t)), "customer_id": cid.take(t.cust), "unit_id": unit_col(t.unit),
        "channel": vocab(TICKET_CHANNELS, t.channel), "ticket_type": vocab(TICKET_TYPES, t.ttype),
        "category": vocab(TICKET_CATEGORIES, t.category), "opened_at": timestamps(world.to_us(t.opened)),
        "first_response_at": timestamps(world.to_us(np.nan_to_num(t.first_response)), null=fr),
        "resolved_at": timestamps(world.to_us(np.nan_to_num(t.resolved)), null=rs),
        "hold_minutes": pa.array(t.hold, from_pandas=True), "handle_minutes": pa.array(t.handle, from_pandas=True)}))

    report("truth_segments", sinks["truth_segments"].write({
        "customer_id": cid, "segment": vocab(SEGMENTS, pur.segment),
        "behavioural_group": vocab(config.groups.names, pur.group), "lambda_per_week": pa.array(pur.lam),
        "p_dropout": pa.array(pur.p), "nu": pa.array(pur.nu), "expected_spend": pa.array(pp.gg_p / pur.nu),
        "birth_at": timestamps(world.to_us(cust.birth)),
        "dropout_at": timestamps(world.to_us(pur.dropout), null=pur.alive_at_end),
        "alive_at_end": pa.array(pur.alive_at_end)}))
    report("truth_pii", sinks["truth_pii"].write({
        "response_id": rids.take(pa.array(com.pii_row, pa.int64())),
        "customer_id": cid.take(pa.array(r.cust[com.pii_row], pa.int64())),
        "kind": pa.array(list(com.pii_kind), pa.string()), "value": pa.array(list(com.pii_value), pa.string())}))


def _nullable_int(values: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), pa.int64(), mask=null)
