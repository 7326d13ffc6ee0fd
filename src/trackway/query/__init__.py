"""Query: every report kind (``reports.py``, the registry), the frame they all run through
(``frame.py``), the expression language (``expr/``) and cohorts. See docs/architecture.md."""
