"""The summed-process matrix element (the paper's W-polarisation reward m_LL + m_LT + m_TL + m_TT)."""

from __future__ import annotations

import json

import pytest
import torch

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import BackendSpec, SummedMatrixElement, build_matrix_element
from tinn_dist.processes import load_process


@pytest.mark.reference
def test_polsum_is_the_sum_of_the_four_polarised_matrix_elements(reference_dir) -> None:
    points = json.loads((reference_dir / "me" / "wwuu_LL.json").read_text())[:20]
    momenta = torch.tensor([p["momenta"] for p in points], dtype=torch.float64)
    summed = build_matrix_element(BackendSpec(process="wwuu_polsum"))
    assert isinstance(summed, SummedMatrixElement) and summed.process.name == "wwuu_polsum"
    parts = [
        build_matrix_element(BackendSpec(process=f"wwuu_{p}")).m2(momenta) for p in ("LL", "LT", "TL", "TT")
    ]
    torch.testing.assert_close(summed.m2(momenta), sum(parts), rtol=1e-14, atol=0.0)
    # MadGraph's own LL value is one of the summands, so the sum exceeds it
    assert torch.all(summed.m2(momenta) > torch.tensor([p["me2"] for p in points], dtype=torch.float64))


def test_summed_process_needs_the_builtin_backend(tmp_path) -> None:
    assert load_process("wwuu_polsum").sum_of == ("wwuu_LL", "wwuu_LT", "wwuu_TL", "wwuu_TT")
    with pytest.raises(TinnError, match="use the builtin backend"):
        build_matrix_element(
            BackendSpec(process="wwuu_polsum", backend="madgraph", madgraph_dir=str(tmp_path))
        )
