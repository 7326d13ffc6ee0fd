"""Cohorts: saved definitions of a set of users (or groups), evaluated exactly at query time.

``spec`` is the definition and its condition tree, ``references`` the checks a definition
passes among the project's saved ones (``trackway.saved`` keeps them), ``evaluate`` the
members as of a query. See docs/cohorts.md.
"""
