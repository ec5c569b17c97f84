"""The Standard Model as MadGraph's UFO ``sm`` defines it (default restriction): particles, parameters from a
param card, couplings and the vertex table. Names (``GC_11``, ``FFV1``, ``T(3,2,1)``) follow the UFO model so that
every vertex means exactly what it means in MadGraph.

CONTRACT (shared by the diagram compiler and the Lorentz runtime; change only together):
- ``Vertex.particles``: PDG codes in the UFO vertex's order. Lines are matched to positions *all-outgoing*, as
  MadGraph does (a final-state leg sits at a position holding its own PDG; see :mod:`tinn_dist.physics.diagrams`).
- ``VertexTerm``: one colour structure (UFO string, indices 1-based vertex positions, negative = summed) with the
  Lorentz structures and couplings that multiply it (summed: ``sum_k couplings[k] * lorentz[k]``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Particle:
    pdg: int
    name: str             # MadGraph name of the particle (``t``, ``w+``, ``g``); antiparticle via Model.anti
    spin: int             # 2s+1: 1 scalar, 2 fermion, 3 vector
    color: int            # 1, 3, -3 or 8
    mass: str             # parameter name (``MT``) or ``ZERO``
    width: str            # parameter name (``WT``) or ``ZERO``
    charge: float


@dataclass(frozen=True, slots=True)
class VertexTerm:
    color: str                    # UFO colour string, e.g. ``T(3,2,1)``, ``f(1,2,3)``, ``1``
    lorentz: tuple[str, ...]      # UFO Lorentz names, e.g. (``FFV2``, ``FFV5``)
    couplings: tuple[str, ...]    # UFO coupling names aligned with ``lorentz``, e.g. (``GC_51``, ``GC_58``)


@dataclass(frozen=True, slots=True)
class Vertex:
    name: str                          # UFO vertex name (``V_37``)
    particles: tuple[int, ...]         # PDG codes, all incoming, UFO order
    terms: tuple[VertexTerm, ...]
    orders: tuple[tuple[str, int], ...] = field(default=())  # e.g. (("QCD", 1),)


@dataclass(frozen=True, eq=False)
class Model:
    """A UFO-style model with numbers filled in from a param card.

    ``particles`` maps every PDG code (particles and antiparticles) to its :class:`Particle`; ``params`` maps
    parameter names (``MT``, ``WT``, ``MW``, ``ZERO``, ...) to floats; ``couplings`` maps ``GC_*`` names to their
    complex values. Compared by identity (one object per param card and alpha_s, see ``load_sm_model``).
    """

    name: str
    particles: dict[int, Particle]
    vertices: tuple[Vertex, ...]
    params: dict[str, float]
    couplings: dict[str, complex]

    def anti(self, pdg: int) -> int:
        """PDG code of the antiparticle (self-conjugate particles map to themselves)."""
        return -pdg if -pdg in self.particles else pdg

    def particle(self, pdg: int) -> Particle:
        return self.particles[pdg]

    def by_name(self) -> dict[str, int]:
        """MadGraph particle names (lower case) -> PDG code."""
        return {p.name.lower(): pdg for pdg, p in self.particles.items()}

    def mass(self, pdg: int) -> float:
        return self.params[self.particles[pdg].mass]

    def width(self, pdg: int) -> float:
        return self.params[self.particles[pdg].width]
