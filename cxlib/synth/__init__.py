"""The synthetic CX world: a seeded, deterministic retail clothing company with a CX program.

``generate(out_dir, ...)`` writes every table of the data contract
(``cxlib.schema``) as ``<table>.parquet`` plus ``truth.json`` (every planted
quantity; see ``cxlib.synth.truth``), ``truth_segments.parquet`` and
``truth_pii.parquet``.  ``SynthConfig`` holds every planted parameter.

Modules, one per concern: ``config`` (parameters), ``calendar`` (window,
stores, rollout), ``customers``, ``purchases`` (BG/NBD + Gamma-Gamma, panel
metrics), ``tickets``, ``subscriptions`` (Weibull PH), ``journeys`` (Markov
chain), ``surveys`` (latent-normal scores), ``comments`` (themes and planted
PII), ``truth`` (truth.json), ``writer`` (Parquet and atomic folders) and
``world`` (orchestration).
"""
from __future__ import annotations

from .config import SynthConfig
from .world import DEFAULT_SEED, GENERATOR_VERSION, generate

__all__ = ["generate", "SynthConfig", "DEFAULT_SEED", "GENERATOR_VERSION"]
