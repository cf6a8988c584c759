"""The notebook glue: one module per report section, the only code that knows a notebook's story.

Each module turns analysis results into the tables, figures and recorded findings of one notebook;
analysis packages (``metrics``, ``journey``, ``survival``, ``clv`` ...) never import from here.

========================  ==========================================
notebook                  module
========================  ==========================================
``00_data_overview``      :mod:`cxlib.sections.overview`
``10_metrics``            :mod:`cxlib.sections.metrics`
``20_journeys``           :mod:`cxlib.sections.journeys`
``30_churn``              :mod:`cxlib.sections.churn`
``35_clv``                :mod:`cxlib.sections.clv`
``40_evaluation``         :mod:`cxlib.sections.evaluation`
``50_voc``                :mod:`cxlib.sections.voc`
``60_segments``           :mod:`cxlib.sections.segments`, :mod:`cxlib.sections.actions`
``99_executive_summary``  :mod:`cxlib.sections.summary`
========================  ==========================================
"""
