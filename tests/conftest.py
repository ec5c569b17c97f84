"""Shared fixtures: MadGraph reference data (``reference_dir``), synthetic LHE files (``make_tt_lhe``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tinn_dist.events.kinematics import boost_to_rest_frame

REFERENCE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """``../shared/reference`` (MadGraph facts); tests using it are skipped when it is absent."""
    if not (REFERENCE_DIR / "README.md").is_file():
        pytest.skip(f"MadGraph reference data not found at {REFERENCE_DIR} (needs ../shared/reference)")
    return REFERENCE_DIR


def _two_body(
    parent: np.ndarray, m1: float, m2: float, direction: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Decay ``parent`` (E, px, py, pz) into masses m1, m2, emitted along ``direction`` in its rest frame."""
    m = np.sqrt(parent[0] ** 2 - parent[1:] @ parent[1:])
    q = np.sqrt((m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)) / (2 * m)
    n = direction / np.linalg.norm(direction)
    d1 = np.concatenate([[np.hypot(m1, q)], q * n])
    d2 = np.concatenate([[np.hypot(m2, q)], -q * n])
    lab = np.concatenate([[parent[0]], -parent[1:]])  # rest frame of the reversed parent = lab frame
    out = boost_to_rest_frame(np.stack([d1, d2])[None], lab[None])[0]
    return out[0], out[1]


def tt_event_lines(rng: np.random.Generator) -> list[str]:
    """One physical g g > t t~ > b u d~ b~ u~ d event in MadGraph's LHE layout: the info line, then particle
    lines 1..12 (so ``lines[k]`` is record line k)."""
    e1, e2 = rng.uniform(250.0, 900.0, size=2)
    shat = 4 * e1 * e2
    mt, mw, mb = 173.0, 80.4, 4.7
    if shat < (2 * mt + 10) ** 2:
        e1 = e2 = mt + 50.0
    g1, g2 = np.array([e1, 0, 0, e1]), np.array([e2, 0, 0, -e2])
    t, tbar = _two_body(g1 + g2, mt, mt, rng.normal(size=3))
    b, wp = _two_body(t, mb, mw, rng.normal(size=3))
    u, dbar = _two_body(wp, 0.0, 0.0, rng.normal(size=3))
    bbar, wm = _two_body(tbar, mb, mw, rng.normal(size=3))
    ubar, d = _two_body(wm, 0.0, 0.0, rng.normal(size=3))
    rows = [  # pdg, status, mother1, mother2, momentum, mass
        (21, -1, 0, 0, g1, 0.0),
        (21, -1, 0, 0, g2, 0.0),
        (6, 2, 1, 2, t, mt),
        (24, 2, 3, 3, wp, mw),
        (-6, 2, 1, 2, tbar, mt),
        (-24, 2, 5, 5, wm, mw),
        (5, 1, 3, 3, b, mb),
        (2, 1, 4, 4, u, 0.0),
        (-1, 1, 4, 4, dbar, 0.0),
        (-5, 1, 5, 5, bbar, mb),
        (-2, 1, 6, 6, ubar, 0.0),
        (1, 1, 6, 6, d, 0.0),
    ]
    return [f"{len(rows):2d}      1 +4.4550200e+01 1.7e+02 7.546771e-03 1.1e-01"] + [
        f"{pdg:>9d} {st:2d} {m1:4d} {m2:4d}  501  502 {p[1]:+.10e} {p[2]:+.10e} {p[3]:+.10e} {p[0]:.10e} "
        f"{mass:.10e} 0.0000e+00 0.0000e+00"
        for pdg, st, m1, m2, p, mass in rows
    ]


_HEADER = """<LesHouchesEvents version="3.0">
<header>
<MG5ProcCard>
generate g g > t t~, (t > b w+, w+ > u d~), (t~ > b~ w-, w- > u~ d)
</MG5ProcCard>
<slha>
BLOCK MASS #
      6 1.730000e+02 # mt
</slha>
</header>
<init>
2212 2212 6.500000e+03 6.500000e+03 0 0 247000 247000 -4 1
4.455020e+01 6.557197e-02 4.455020e+01 1
</init>
"""


def lhe_text(events: list[list[str]]) -> str:
    """A MadGraph-style LHE file holding ``events`` (each a list of lines: info line, then particle lines)."""
    body = "".join("<event>\n" + "\n".join(lines) + "\n</event>\n" for lines in events)
    return _HEADER + body + "</LesHouchesEvents>\n"


@pytest.fixture
def make_tt_lhe(tmp_path: Path) -> Callable[..., Path]:
    """Factory: ``make_tt_lhe(n_events, edit=None, name=...)`` writes a synthetic tt LHE file (its path).

    ``edit(events)`` may change the per-event line lists (see :func:`tt_event_lines`) before writing.
    """

    def make(
        n_events: int = 5, edit: Callable[[list[list[str]]], None] | None = None, name: str = "tt.lhe"
    ) -> Path:
        rng = np.random.default_rng(7)
        events = [tt_event_lines(rng) for _ in range(n_events)]
        if edit is not None:
            edit(events)
        path = tmp_path / name
        path.write_text(lhe_text(events))
        return path

    return make
