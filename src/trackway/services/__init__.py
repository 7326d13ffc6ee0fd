"""Use cases the API and the CLI share: running reports, saved definitions, cohorts, profiles,
raw events, deleting users. Below the API and the CLI, over query, saved and storage; the two
faces only parse their input and shape the answers.
"""
