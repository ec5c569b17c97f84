"""Helpers shared by the RL / evaluation tests: real tt events from the shared MadGraph sample and the real
built-in matrix element (tests needing either skip with the reason when it is missing)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

import pytest

from tinn_dist.events.store import EventSet

SHARED_TT_LHE = (
    Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "lhe" / "tt_s1001.lhe.gz"
)

builtin_missing = importlib.util.find_spec("tinn_dist.physics.builtin") is None
needs_builtin = pytest.mark.skipif(
    builtin_missing, reason="tinn_dist.physics.builtin (the torch engine) not built yet"
)


@functools.cache
def _tt_events(n: int) -> EventSet:
    from tinn_dist.events.lhe import events_from_lhe
    from tinn_dist.processes import load_process

    return events_from_lhe(SHARED_TT_LHE, load_process("tt"), max_events=n)


def tt_events(n: int) -> EventSet:
    """The first ``n`` events of ../shared/reference/lhe/tt_s1001.lhe.gz (skip when the sample is absent)."""
    if not SHARED_TT_LHE.is_file():
        pytest.skip(f"shared tt LHE sample not found at {SHARED_TT_LHE} (needs ../shared/reference)")
    return _tt_events(n)


def tt_matrix_element():
    from tinn_dist.physics.matrix_element import BackendSpec, build_matrix_element

    return build_matrix_element(BackendSpec("tt"))
