"""The one interface every matrix-element backend implements, and the factory that builds one.

A backend can hold process-global state (MadGraph's Fortran ``matrix2py`` modules are neither picklable nor
re-entrant), so it is never shipped between processes: ship a :class:`BackendSpec` (plain, picklable data) and
call :func:`build_matrix_element` inside the process that evaluates it (a Ray actor, a worker, the trainer).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from tinn_dist.errors import TinnError
from tinn_dist.processes import Process, load_process

__all__ = [
    "BackendSpec",
    "MatrixElement",
    "SummedMatrixElement",
    "build_matrix_element",
    "default_param_card",
]

BACKENDS = ("builtin", "madgraph")


def default_param_card() -> Path:
    """The param card shipped with the project (MadGraph ``sm`` defaults), used when none is given."""
    from tinn_dist.processes import config_dir

    return config_dir() / "param_card.dat"


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """Everything needed to build a :class:`MatrixElement` in another process.

    backend: ``builtin`` (our torch engine, the default) or ``madgraph`` (a compiled standalone ``matrix2py``).
    process: catalogue name (``tt``, ``tttt``, ...).
    alphas: the strong coupling, fixed per config (paper: 0.13).
    param_card: a MadGraph param card; ``None`` means the project's default card.
    madgraph_dir: the ``SubProcesses/P1_*`` directory holding ``matrix2py`` (``madgraph`` backend only).
    device: torch device for the built-in engine (``cpu``, ``cuda``, ``cuda:1``, or ``auto``).
    """

    process: str
    backend: str = "builtin"
    alphas: float = 0.13
    param_card: str | None = None
    madgraph_dir: str | None = None
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise TinnError(f"matrix-element backend {self.backend!r} is unknown; expected one of {BACKENDS}")
        if not (0.0 < self.alphas < 1.0):
            raise TinnError(f"alphas must be in (0, 1), got {self.alphas}")
        if self.backend == "madgraph" and not self.madgraph_dir:
            raise TinnError("the madgraph backend needs madgraph_dir (a SubProcesses/P1_* directory)")


class MatrixElement(ABC):
    """|M|^2 of one process: summed over helicities and colours, averaged over initial ones, divided by the
    identical-particle factor (MadGraph's ``get_value`` convention), at a fixed alpha_s."""

    process: Process
    alphas: float

    @property
    def n_external(self) -> int:
        return self.process.n_external

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    def m2(self, momenta: torch.Tensor | np.ndarray) -> torch.Tensor:
        """|M|^2 for a batch of momenta shaped (B, N, 4) = (E, px, py, pz) in the process's external order.

        Returns a float64 tensor shaped (B,) on :attr:`device`. A value that is not positive and finite raises
        :class:`TinnError` naming the event: the reward is log(m_{t+1}/m_t).
        """
        p = torch.as_tensor(momenta, dtype=torch.float64)
        if p.ndim != 3 or p.shape[1:] != (self.n_external, 4):
            raise TinnError(
                f"{self.process.name}: momenta must be shaped (B, {self.n_external}, 4), got {tuple(p.shape)}"
            )
        if not torch.isfinite(p).all():
            bad = int((~torch.isfinite(p)).any(dim=(1, 2)).nonzero()[0, 0])
            raise TinnError(f"{self.process.name}: momenta of event {bad} are not finite")
        values = self._m2(p.to(self.device))
        bad = ~(torch.isfinite(values) & (values > 0))
        if bad.any():
            i = int(bad.nonzero()[0, 0])
            raise TinnError(
                f"{self.process.name}: |M|^2 of event {i} is {float(values[i])}; expected a positive finite "
                "value (the reward takes its log)"
            )
        return values

    @abstractmethod
    def _m2(self, momenta: torch.Tensor) -> torch.Tensor:
        """Backend evaluation on validated float64 momenta (B, N, 4) already on :attr:`device`."""


class SummedMatrixElement(MatrixElement):
    """|M|^2 summed over several processes with the same legs, e.g. the paper's W-polarisation reward
    m_LL + m_LT + m_TL + m_TT (catalogue entries with ``sum_of``)."""

    def __init__(self, process: Process, parts: list[MatrixElement]) -> None:
        self.process = process
        self.parts = parts
        self.alphas = parts[0].alphas

    @property
    def device(self) -> torch.device:
        return self.parts[0].device

    def _m2(self, momenta: torch.Tensor) -> torch.Tensor:
        return sum(part.m2(momenta) for part in self.parts)


def build_matrix_element(spec: BackendSpec) -> MatrixElement:
    """Build the backend described by ``spec`` in the calling process."""
    process = load_process(spec.process)
    if process.sum_of:
        if spec.backend != "builtin":
            raise TinnError(
                f"process {process.name!r} sums {', '.join(process.sum_of)}: use the builtin backend "
                "(a MadGraph module holds one process)"
            )
        parts = [build_matrix_element(replace(spec, process=part)) for part in process.sum_of]
        return SummedMatrixElement(process, parts)
    card = Path(spec.param_card) if spec.param_card else default_param_card()
    if spec.backend == "builtin":
        from tinn_dist.physics.builtin import BuiltinMatrixElement

        return BuiltinMatrixElement(process, card, alphas=spec.alphas, device=spec.device)
    from tinn_dist.physics.madgraph import MadGraphMatrixElement

    return MadGraphMatrixElement(process, Path(spec.madgraph_dir), card, alphas=spec.alphas)
