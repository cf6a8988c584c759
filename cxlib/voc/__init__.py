"""Voice of the customer: comments to sentiment, themes, drivers and representative verbatims.

One question, one module:

- :mod:`~cxlib.voc.sentiment`: VADER sentiment per comment (offline lexicon), its agreement with
  the scores, mean sentiment by touchpoint or segment;
- :mod:`~cxlib.voc.themes`: the keyword taxonomy of known CX themes, theme shares, trends and
  changes with intervals, and data-driven topics (TF-IDF + NMF);
- :mod:`~cxlib.voc.drivers`: key-driver analysis (standardised OLS and relative weights with
  bootstrap intervals) and the impact-vs-performance quadrant;
- :mod:`~cxlib.voc.verbatims`: deterministic, redacted, representative quotes per theme and segment.

Tables split by ``segment=`` themselves; :func:`key_drivers` returns one :class:`DriverResult`, per
segment with :func:`by_segment` (home :func:`cxlib.stats.by_segment`).

Personal data protection (redaction, pseudonyms, small-cell suppression) lives in
:mod:`cxlib.privacy`.  Importing this package loads neither the VADER lexicon nor scikit-learn.
"""
from __future__ import annotations

from .drivers import (DRIVER_COLUMNS, QUADRANT_COLUMNS, QUADRANTS, DriverResult, impact_performance, key_drivers,
                      relative_weights, theme_sentiment_drivers)
from .sentiment import (AGREEMENT_COLUMNS, CX_LEXICON, SCORE_CUTOFFS, SENTIMENT_COLUMNS, SentimentAgreement,
                        score_sentiment, sentiment_agreement, sentiment_by)
from .themes import (CHANGE_COLUMNS, DEFAULT_TAXONOMY, DEFAULT_THEMES, THEME_COLUMNS, TOPIC_COLUMNS, Taxonomy,
                     TopicModel, discover_topics, match_topics, tag_themes, theme_change, theme_shares, theme_trend)
from .verbatims import VERBATIM_COLUMNS, representative_verbatims
from ..stats import by_segment  # re-exported; its home is cxlib.stats

__all__ = [
    "SENTIMENT_COLUMNS", "AGREEMENT_COLUMNS", "SCORE_CUTOFFS", "CX_LEXICON", "score_sentiment",
    "SentimentAgreement", "sentiment_agreement", "sentiment_by",
    "DEFAULT_THEMES", "DEFAULT_TAXONOMY", "Taxonomy", "THEME_COLUMNS", "CHANGE_COLUMNS", "TOPIC_COLUMNS",
    "tag_themes", "theme_shares", "theme_trend", "theme_change", "TopicModel", "discover_topics", "match_topics",
    "DRIVER_COLUMNS", "QUADRANT_COLUMNS", "QUADRANTS", "relative_weights", "DriverResult", "key_drivers",
    "theme_sentiment_drivers", "impact_performance",
    "VERBATIM_COLUMNS", "representative_verbatims", "by_segment",
]
