"""The built-in engine against MadGraph 3.5.7 standalone: every entry of ``../shared/reference/me/*.json``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tinn_dist.physics.builtin import BuiltinMatrixElement
from tinn_dist.processes import load_process

PROCESSES = ("tt", "ttw", "tttt", "wwuu", "wwuu_LL", "wwuu_LT", "wwuu_TL", "wwuu_TT")

pytestmark = pytest.mark.reference


@pytest.mark.parametrize("name", PROCESSES)
def test_every_reference_entry_matches_madgraph(name: str, reference_dir: Path) -> None:
    points = json.loads((reference_dir / "me" / f"{name}.json").read_text())
    process = load_process(name)
    assert all(tuple(pt["pdg"]) == process.external for pt in points)
    assert {pt["alphas"] for pt in points} == {0.13}
    me = BuiltinMatrixElement(process, reference_dir / "param_card.dat", alphas=0.13)
    momenta = torch.tensor([pt["momenta"] for pt in points], dtype=torch.float64)
    ours = me.m2(momenta).numpy()
    madgraph = np.array([pt["me2"] for pt in points])
    rel = np.abs(ours / madgraph - 1.0)
    worst = int(rel.argmax())
    assert rel[worst] < 1e-8, (
        f"{name}: entry {worst} ({points[worst]['kind']}) deviates by {rel[worst]:.3g}: "
        f"built-in {ours[worst]!r}, MadGraph {madgraph[worst]!r}"
    )
