"""Deprecated: moved to :mod:`cxlib.journey.scale` (the journey module's scale path); removed in the next release.

``journeyize`` is now :func:`cxlib.journey.scale.journey_tables` and ``directly_follows``
:func:`cxlib.journey.scale.directly_follows_table` (their results differ in kind from
:func:`cxlib.journey.journeyize` and :func:`cxlib.journey.directly_follows`).
"""
from cxlib._deprecation import moved_names

#: Old name -> name in :mod:`cxlib.journey.scale`.
_MOVED = {"EngineJourneys": "EngineJourneys", "journeyize": "journey_tables",
         "directly_follows": "directly_follows_table", "path_variants": "path_variants",
         "path_variants_sql": "path_variants_sql", "funnel_counts": "funnel_counts", "funnel_sql": "funnel_sql",
         "transition_counts": "transition_counts", "transitions_sql": "transitions_sql",
         "VARIANT_COLUMNS": "VARIANT_COLUMNS", "FUNNEL_COUNT_COLUMNS": "FUNNEL_COUNT_COLUMNS",
         "TRANSITION_COUNT_COLUMNS": "TRANSITION_COUNT_COLUMNS"}

__getattr__ = moved_names("cxlib.engine.journeys", "cxlib.journey.scale", _MOVED)
