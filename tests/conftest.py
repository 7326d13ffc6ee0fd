"""Test-wide settings: CI runs hypothesis with a fixed seed per test, so a run that landed can
be repeated exactly; local runs keep exploring new examples."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
