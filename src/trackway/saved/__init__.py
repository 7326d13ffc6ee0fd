"""Saved definitions: a project's cohorts, reports (of every kind, saved funnels among them)
and dashboards, kept in one typed JSON document so that the references between them stay
whole. Only definitions are kept here; what they evaluate to is the query layer's.
"""
