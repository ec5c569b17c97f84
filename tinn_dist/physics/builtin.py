"""The built-in matrix-element backend: our batched torch tree-level engine (``sm`` model, MadGraph conventions)."""

from __future__ import annotations

from pathlib import Path

import torch

from tinn_dist.errors import TinnError
from tinn_dist.physics.diagram_generation import compile_process
from tinn_dist.physics.matrix_element import MatrixElement
from tinn_dist.physics.routing import madgraph_routing
from tinn_dist.physics.runtime import ProcessRuntime
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import Process

__all__ = ["BuiltinMatrixElement", "resolve_device"]


def resolve_device(device: str) -> torch.device:
    """``auto`` means CUDA when available, else CPU; anything else must name an available torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise TinnError(f"device {device!r} is not a torch device (cpu, cuda, cuda:1 or auto)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise TinnError(f"device {device!r} requested but CUDA is not available")
    return dev


class BuiltinMatrixElement(MatrixElement):
    """|M|^2 of a catalogue process from the built-in engine, on CPU or CUDA (float64/complex128)."""

    def __init__(self, process: Process, param_card: Path, alphas: float = 0.13, device: str = "cpu") -> None:
        self.process = process
        self.alphas = float(alphas)
        self._device = resolve_device(device)
        model = load_sm_model(param_card, self.alphas)
        pdgs = [p for p in process.external if p not in model.particles]
        if pdgs:
            raise TinnError(f"process {process.name!r}: PDG code(s) {pdgs} are not particles of the sm model")
        self.compiled = madgraph_routing(compile_process(process, model), model, process)
        self.runtime = ProcessRuntime(self.compiled, model, self._device)

    @property
    def device(self) -> torch.device:
        return self._device

    def _m2(self, momenta: torch.Tensor) -> torch.Tensor:
        return self.runtime.m2(momenta)
