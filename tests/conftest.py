"""Shared pytest fixtures and settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests run on the CPU with a small thread count so that the two-core CI machine is not oversubscribed.
os.environ.setdefault("OMP_NUM_THREADS", "2")

SHARED = Path(__file__).resolve().parents[2] / "shared"
EXTERNAL_DATA = SHARED / "external_data"


@pytest.fixture(scope="session")
def external_data() -> Path:
    """Path to ``../shared/external_data``; skips the test cleanly when absent."""
    if not EXTERNAL_DATA.is_dir():
        pytest.skip(f"external data folder not found at {EXTERNAL_DATA}")
    return EXTERNAL_DATA
