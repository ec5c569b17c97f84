"""Evaluate a :class:`CompiledProcess` for a batch of events: |M|^2 summed over helicities and colours.

Design (madgraph4gpu's shape, vectorised over events *and* helicities):

* Layout: every external leg that carries more than one helicity gets its own tensor axis and the events are the
  LAST (innermost, contiguous) axis: a wavefunction component is shaped (h_leg_a, h_leg_b, ..., events) with
  size-1 axes for the legs it does not contain. Every elementwise kernel therefore runs long contiguous inner loops
  over events (with events first, the innermost axes were helicity axes of size 2 and torch's elementwise loops
  ran ~2x slower). The external wavefunctions and momenta must be contiguous too: a strided view (stride 2 or 4
  over events) silently makes every kernel that touches them several times slower. A current over legs X
  carries exactly the helicities of X; broadcasting builds the products with the others, so a sub-current is
  computed once per batch for all helicity configurations (no helicity loop). The kernels (lorentz.py) form each
  component as one multiply and in-place fused multiply-adds, without temporaries.
* Each distinct :class:`Current` is computed once per batch (the compiler shares equal ones between diagrams).
* Helicities of a leg that never contribute (e.g. a right-handed massless quark at a W vertex) are found once, at
  construction, by evaluating every helicity configuration on random momenta, and dropped from that leg's axis.
* Closing: every amplitude is linear in each input, A_d = dot(partial_d, W) with W the input carrying most
  helicity configurations. Diagrams closing on the same W form a group; the group's colour weights factor as
  C_g = C_basis X (rank r), so only r combinations dot(sum_d X_jd partial_d, W) are formed at full size (tttt:
  60 of 76 diagrams, wwuu: 32 of 102), each with a multiply and three fused multiply-adds (addcmul_, the mixing
  weight X_jd0 folded into their scalar factors) straight into one preallocated amplitude buffer
  (D, *helicity axes, events) that is kept between chunks (a fresh allocation of that size is page-faulted in
  each time). The partials are memoised per batch: the same sub-amplitude (vertex, open position, other inputs)
  closes diagrams of several groups (tttt: 36 distinct of 76, wwuu: 59 of 102).
* Colour: J = C A is one matmul over the flattened (helicity x event) columns (real weights after rescaling each
  basis column by a phase: then a real matmul on the (re, im) pairs). |M|^2 = sum_hel J^+ G J / denominator with
  G = V diag(l) V^+ positive semi-definite is |S J|^2, S = sqrt(l) V^+: the m2 path forms (S C) A with the same
  single matmul and sums squares (no second matmul by G); ``colour_amplitudes`` still returns J itself.
* Fermion lines: which input is the barred (row) spinor is read off the inputs themselves (external leg type, or
  the kind of current that produced it), so the kernels do not depend on the vertex-position convention.
* Large batches run in chunks so the peak memory stays bounded (tttt at batch 65536: < 1 GiB).
* CPU memory: the temporaries of a chunk are a few hundred KiB each, above glibc's mmap threshold, so each was a
  fresh mapping page-faulted in on first touch; the runtime raises glibc's mmap and trim thresholds once
  (``heap_for_temporaries``), so freed temporaries are reused from the heap.
"""

from __future__ import annotations

import ctypes
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from tinn_dist.errors import TinnError
from tinn_dist.physics import lorentz as L
from tinn_dist.physics.diagrams import Amplitude, CompiledProcess, Current, ExternalLeg, Node
from tinn_dist.physics.helas import ixxxxx, oxxxxx, sxxxxx, vxxxxx
from tinn_dist.physics.model import Model

__all__ = ["ProcessRuntime", "heap_for_temporaries"]

Comp = L.Comp
Wave = tuple[Comp, Comp]          # (components, stored momentum)
Kernel = Callable[[list[Wave], Comp], Comp | torch.Tensor]   # (input waves, sum of their momenta) -> components

_CHUNK_BYTES = 1024 * 2**20       # working-set target per chunk (peak memory stays well under 4 GiB)
_MAX_CHUNK = 16384                # CPU: larger chunks amortise per-op overhead; CUDA: 8x the byte budget


def _helicity_values(spin: int, mass: float) -> tuple[int, ...]:
    if spin == 1:
        return (0,)
    if spin == 2:
        return (-1, 1)
    if spin == 3:
        return (-1, 0, 1) if mass != 0.0 else (-1, 1)
    raise TinnError(f"external particles of spin (2s+1) = {spin} are not supported by the built-in engine")


@dataclass
class _Step:
    """One distinct current: inputs are indices into the value list; the result is appended."""

    inputs: tuple[int, ...]
    kernel: Kernel


@dataclass
class _Closing:
    """One diagram's amplitude vertex: inputs (value indices), its vertex data and colour weights."""

    inputs: tuple[int, ...]
    amplitude: Amplitude
    kinds: list[str | None]
    weights: list[tuple[int, complex]]   # (colour index k, color_dk * sign_d)


@dataclass
class _Group:
    """Diagrams closed on the same input wavefunction ``big``.

    The amplitude is linear in each input, A_d = dot(partial_d, big) with partial_d built from the other (smaller)
    inputs. The group's colour weights factor as C_g = C_basis X (rank r <= number of diagrams), so only the r
    combinations dot(sum_d X_jd partial_d, big) are formed at full size (every helicity configuration)."""

    big: int
    dot: str                                             # "spinor" (sum_j), "vector" (Minkowski), "scalar"
    # (inputs, partial function, colour weights, key: equal keys give equal partials, also across groups)
    members: list[tuple[tuple[int, ...], Callable, list[tuple[int, complex]], tuple]] = field(default_factory=list)
    mix: list[list[tuple[int, complex]]] = field(default_factory=list)   # per row j: (member d, X_jd)


@functools.cache
def heap_for_temporaries() -> None:
    """Let glibc serve the kernels' temporaries from its heap and keep it between chunks. Above its mmap threshold
    (dynamic, from 128 KiB) glibc maps every allocation afresh and unmaps it on free, and it returns a free heap
    top above the trim threshold to the system: either way each sub-current temporary of a chunk (a few hundred
    KiB) is page-faulted in again, which on CPU cost more than the arithmetic (tttt ran ~1.5x slower, wwuu at
    batch 4096 ~1.8x). 32 MiB is glibc's largest mmap threshold; up to 256 MiB of free heap top is kept.
    Process-wide; a no-op where the C library has no ``mallopt``."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return
    mallopt(-3, 32 * 2**20)    # M_MMAP_THRESHOLD
    mallopt(-1, 256 * 2**20)   # M_TRIM_THRESHOLD


class ProcessRuntime:
    """Numerical evaluation of one compiled process on one device."""

    def __init__(self, compiled: CompiledProcess, model: Model, device: torch.device) -> None:
        self.compiled = compiled
        self.model = model
        self.device = device
        if device.type == "cpu":
            heap_for_temporaries()
        self.n_legs = len(compiled.legs)
        self._leg_mass = [model.mass(leg.pdg) for leg in compiled.legs]
        self._leg_spin = [model.particle(leg.pdg).spin for leg in compiled.legs]
        self._nodes: list[Node] = []
        self._steps: list[_Step] = []
        self._index: dict[Node, int] = {}
        self._kind: list[str | None] = []     # "row" / "col" for fermion lines, None for bosons
        for leg in compiled.legs:
            self._index[leg] = len(self._nodes)
            self._nodes.append(leg)
            self._kind.append(self._external_kind(leg))
        self._closings: list[_Closing] = []
        self._buffers: dict[str, torch.Tensor] = {}
        self._plans: dict[tuple[tuple[int, ...], ...], tuple[list[_Group], torch.Tensor, torch.Tensor | None]] = {}
        for diagram in compiled.diagrams:
            amp = diagram.amplitude
            inputs = tuple(self._visit(n) for n in amp.inputs)
            weights = [(k, complex(c) * diagram.sign) for k, c in enumerate(diagram.color) if c != 0]
            self._closings.append(_Closing(inputs, amp, [self._kind[i] for i in inputs], weights))
        g = np.asarray(compiled.color_matrix, dtype=np.complex128)
        if np.abs(g - g.conj().T).max(initial=0.0) > 1e-12 * max(np.abs(g).max(initial=1.0), 1.0):
            raise TinnError(f"{compiled.name}: colour matrix is not Hermitian")
        self._gram = torch.as_tensor(g, dtype=torch.complex128, device=device)
        self._gram_real = (torch.as_tensor(g.real.copy(), dtype=torch.float64, device=device)
                           if np.abs(g.imag).max(initial=0.0) == 0.0 else None)
        self.n_colour = self._gram.shape[0]
        self._helicities: list[tuple[int, ...]] = [
            _helicity_values(s, m) for s, m in zip(self._leg_spin, self._leg_mass)
        ]
        self._prune_helicities()

    # ------------------------------------------------------------------------------------------ planning

    def _external_kind(self, leg: ExternalLeg) -> str | None:
        """HELAS spinor type of an external fermion: column (ixxxxx: incoming fermion, outgoing antifermion)
        or row (oxxxxx: outgoing fermion, incoming antifermion)."""
        if self.model.particle(leg.pdg).spin != 2:
            return None
        return "col" if (leg.pdg > 0) == leg.incoming else "row"

    def _visit(self, node: Node) -> int:
        found = self._index.get(node)
        if found is not None:
            return found
        assert isinstance(node, Current)
        inputs = tuple(self._visit(n) for n in node.inputs)
        kinds = [self._kind[i] for i in inputs]
        kernel, kind = self._current_kernel(node, kinds)
        self._index[node] = len(self._nodes)
        self._nodes.append(node)
        self._kind.append(kind)
        self._steps.append(_Step(inputs, kernel))
        return self._index[node]

    def _fermion_positions(self, particles, kinds: list[str | None], what: str) -> tuple[int, int]:
        """(row position, column position) of a fermion vertex, read off the spinor types of its inputs."""
        row = [i for i, k in enumerate(kinds) if k == "row"]
        col = [i for i, k in enumerate(kinds) if k == "col"]
        fermions = [i for i, pdg in enumerate(particles) if self.model.particle(pdg).spin == 2]
        if len(fermions) != 2:
            raise TinnError(f"{what}: fermion vertices must have exactly two fermions, got {particles}")
        if len(row) == 1 and len(col) == 1:
            return row[0], col[0]
        if len(row) + len(col) == 1:   # the off-shell position is the other fermion
            known = (row or col)[0]
            other = fermions[0] if fermions[1] == known else fermions[1]
            return (known, other) if row else (other, known)
        raise TinnError(f"{what}: inconsistent fermion flow at vertex {particles} (inputs {kinds})")

    def _term(self, vertex: int, term: int) -> tuple[tuple[int, ...], tuple[str, ...], tuple[complex, ...]]:
        v = self.model.vertices[vertex]
        t = v.terms[term]
        couplings = tuple(self.model.couplings[c] for c in t.couplings)
        return v.particles, t.lorentz, couplings

    @staticmethod
    def _family(lorentz: tuple[str, ...]) -> str:
        fams = set()
        for name in lorentz:
            if name in L.FFV_CHIRAL:
                fams.add("FFV")
            elif name in L.FFS_CHIRAL:
                fams.add("FFS")
            elif name in L.VVVV_METRIC:
                fams.add("VVVV")
            elif name in ("VVV1", "VVS1", "VVSS1", "SSS1", "SSSS1"):
                fams.add(name)
            else:
                raise TinnError(f"Lorentz structure {name!r} is not implemented by the built-in engine")
        if len(fams) != 1:
            raise TinnError(f"vertex term mixes Lorentz families {sorted(fams)}")
        return fams.pop()

    @staticmethod
    def _chiral(table: dict[str, tuple[float, float]], lorentz, couplings) -> tuple[complex, complex]:
        cl = sum(c * table[n][0] for n, c in zip(lorentz, couplings))
        cr = sum(c * table[n][1] for n, c in zip(lorentz, couplings))
        return complex(cl), complex(cr)

    @staticmethod
    def _metric(lorentz, couplings) -> tuple[complex, complex, complex]:
        return tuple(complex(sum(c * L.VVVV_METRIC[n][i] for n, c in zip(lorentz, couplings))) for i in range(3))  # type: ignore[return-value]

    def _propagator(self, pdg: int, polarization: str | None) -> Callable[[object, Comp, bool], Comp]:
        particle = self.model.particle(pdg)
        mass, width = self.model.mass(pdg), self.model.width(pdg)
        if particle.spin == 1:
            return lambda t, q, _: L.scalar_propagator(t, q, mass, width)  # type: ignore[arg-type]
        if particle.spin == 3:
            if polarization is not None:
                return lambda t, q, _: L.polarised_vector_propagator(t, q, mass, width, polarization)  # type: ignore[arg-type]
            return lambda t, q, _: L.vector_propagator(t, q, mass, width)  # type: ignore[arg-type]
        if particle.spin == 2:
            def fermion(t, q, row: bool) -> Comp:
                if row:
                    return L.fermion_row_propagator(t, q, mass, width)
                return L.fermion_col_propagator(t, tuple(-x for x in q), mass, width)  # type: ignore[arg-type]
            return fermion
        raise TinnError(f"propagating particle {pdg} of spin (2s+1) = {particle.spin} is not supported")

    def _current_kernel(self, cur: Current, input_kinds: list[str | None]) -> tuple[Kernel, str | None]:
        particles, lorentz, couplings = self._term(cur.vertex, cur.term)
        family = self._family(lorentz)
        n = len(particles)
        off = cur.offshell
        others = [i for i in range(n) if i != off]
        prop = self._propagator(particles[off], cur.polarization)
        kinds: list[str | None] = [None] * n
        for pos, k in zip(others, input_kinds):
            kinds[pos] = k

        def place(waves: list[Wave]) -> list[Comp | None]:
            comps: list[Comp | None] = [None] * n
            for pos, (w, _) in zip(others, waves):
                comps[pos] = w
            return comps

        if family in ("FFV", "FFS"):
            table = L.FFV_CHIRAL if family == "FFV" else L.FFS_CHIRAL
            cl, cr = self._chiral(table, lorentz, couplings)
            row_pos, col_pos = self._fermion_positions(particles, kinds, self.compiled.name)
            bos_pos = 3 - row_pos - col_pos
            if off == bos_pos:
                contract = L.ffv_vector if family == "FFV" else L.ffs_scalar

                def k_boson(waves: list[Wave], q: Comp) -> Comp:
                    c = place(waves)
                    return prop(contract(c[row_pos], c[col_pos], cl, cr), q, False)
                return k_boson, None
            if off == col_pos:   # the row spinor and the boson remain: result is a row spinor
                fn = L.ffv_row if family == "FFV" else L.ffs_row

                def k_row(waves: list[Wave], q: Comp) -> Comp:
                    c = place(waves)
                    return prop(fn(c[row_pos], c[bos_pos], cl, cr), q, True)
                return k_row, "row"
            fn = L.ffv_col if family == "FFV" else L.ffs_col

            def k_col(waves: list[Wave], q: Comp) -> Comp:
                c = place(waves)
                return prop(fn(c[col_pos], c[bos_pos], cl, cr), q, False)
            return k_col, "col"
        g = complex(sum(couplings))
        if family == "VVV1":
            if len(couplings) != 1:
                raise TinnError("VVV1 vertex terms must carry one coupling")

            def k_vvv(waves: list[Wave], q: Comp) -> Comp:
                c = place(waves)
                ps: list[Comp] = [None, None, None]  # type: ignore[list-item]
                for pos, (_, p) in zip(others, waves):
                    ps[pos] = p
                ps[off] = tuple(-x for x in q)  # type: ignore[assignment]
                return prop(L.vvv1_current(off, c, ps, g), q, False)
            return k_vvv, None
        if family == "VVVV":
            coeffs = self._metric(lorentz, couplings)

            def k_vvvv(waves: list[Wave], q: Comp) -> Comp:
                c = place(waves)
                return prop(L.vvvv_current(off, c, coeffs), q, False)
            return k_vvvv, None
        if family in ("VVS1", "VVSS1"):
            vec = [i for i in range(n) if self.model.particle(particles[i]).spin == 3]
            sca = [i for i in range(n) if self.model.particle(particles[i]).spin == 1]

            def k_vvs(waves: list[Wave], q: Comp) -> Comp:
                c = place(waves)
                s = g
                for i in sca:
                    if i != off:
                        s = s * c[i][0]  # type: ignore[index]
                if off in vec:
                    partner = c[vec[0] if vec[1] == off else vec[1]]
                    return prop(tuple(s * x for x in partner), q, False)  # type: ignore[union-attr]
                return prop(s * L.mdot(c[vec[0]], c[vec[1]]), q, False)  # type: ignore[arg-type]
            return k_vvs, None
        # SSS1 / SSSS1

        def k_sss(waves: list[Wave], q: Comp) -> Comp:
            c = place(waves)
            s = g
            for i in others:
                s = s * c[i][0]  # type: ignore[index]
            return prop(s, q, False)
        return k_sss, None

    def _partial(self, closing: _Closing, big: int) -> tuple[Callable[[list[Wave]], object], str]:
        """(-i) x the amplitude with input position ``big`` left open: a function of the other inputs' waves
        (the open one is passed as None) and how it contracts with the open wavefunction."""
        amp, kinds = closing.amplitude, closing.kinds
        particles, lorentz, couplings = self._term(amp.vertex, amp.term)
        family = self._family(lorentz)
        n = len(particles)
        mi = -1j
        if family in ("FFV", "FFS"):
            table = L.FFV_CHIRAL if family == "FFV" else L.FFS_CHIRAL
            cl, cr = self._chiral(table, lorentz, couplings)
            cl, cr = mi * cl, mi * cr
            row_pos, col_pos = self._fermion_positions(particles, kinds, self.compiled.name)
            bos_pos = 3 - row_pos - col_pos
            if big == row_pos:
                fn = L.ffv_col if family == "FFV" else L.ffs_col
                return (lambda w: fn(w[col_pos][0], w[bos_pos][0], cl, cr)), "spinor"
            if big == col_pos:
                fn = L.ffv_row if family == "FFV" else L.ffs_row
                return (lambda w: fn(w[row_pos][0], w[bos_pos][0], cl, cr)), "spinor"
            if family == "FFV":
                return (lambda w: L.ffv_vector(w[row_pos][0], w[col_pos][0], cl, cr)), "vector"
            return (lambda w: L.ffs_scalar(w[row_pos][0], w[col_pos][0], cl, cr)), "scalar"
        g = mi * complex(sum(couplings))
        if family == "VVV1":
            def vvv(w: list[Wave]) -> Comp:
                return L.vvv1_current(big, [None if i == big else w[i][0] for i in range(3)], [x[1] for x in w], g)
            return vvv, "vector"
        if family == "VVVV":
            coeffs = tuple(mi * c for c in self._metric(lorentz, couplings))
            return (lambda w: L.vvvv_current(big, [None if i == big else w[i][0] for i in range(4)], coeffs)), "vector"
        spins = [self.model.particle(pdg).spin for pdg in particles]
        scalars = [i for i in range(n) if spins[i] == 1 and i != big]
        vectors = [i for i in range(n) if spins[i] == 3]

        def product(w: list[Wave]) -> torch.Tensor:
            s: object = g
            for i in scalars:
                s = s * w[i][0][0]
            return s  # type: ignore[return-value]

        if family in ("VVS1", "VVSS1"):
            if big in vectors:
                partner = vectors[0] if vectors[1] == big else vectors[1]
                return (lambda w: tuple(product(w) * x for x in w[partner][0])), "vector"
            return (lambda w: product(w) * L.mdot(w[vectors[0]][0], w[vectors[1]][0])), "scalar"
        return product, "scalar"

    def _plan(self, helicities: list[tuple[int, ...]]) -> tuple[list[_Group], torch.Tensor, torch.Tensor | None]:
        """Group the diagrams by the input they close on (the one with most helicity configurations), the colour
        weights C (K, D) with the diagrams in group order (real when every weight is real) and S C (see below)."""
        size = [0] * len(self._nodes)
        for i, node in enumerate(self._nodes):
            legs = node.legs
            size[i] = int(np.prod([len(helicities[leg]) for leg in legs]))
        groups: dict[tuple[int, str], _Group] = {}
        for closing in self._closings:
            big_pos = max(range(len(closing.inputs)), key=lambda pos: size[closing.inputs[pos]])
            fn, dot = self._partial(closing, big_pos)
            big = closing.inputs[big_pos]
            group = groups.setdefault((big, dot), _Group(big, dot))
            amp = closing.amplitude
            others = tuple(-1 if pos == big_pos else x for pos, x in enumerate(closing.inputs))
            key = (amp.vertex, amp.term, big_pos, others)
            group.members.append((closing.inputs, fn, closing.weights, key))
        ordered = list(groups.values())
        columns: list[np.ndarray] = []
        for group in ordered:
            columns.extend(self._factor_colour(group))
        colour = np.stack(columns, axis=1) if columns else np.zeros((self.n_colour, 0))
        if np.abs(colour.imag).max(initial=0.0) == 0.0:
            colour = colour.real.copy()
        # |M|^2 = J^+ G J = |S J|^2 with G = V diag(l) V^+ (G is positive semi-definite) and S = sqrt(l) V^+:
        # the colour sum then needs one matmul (S C) A and a sum of squares instead of a second matmul by G
        g = np.asarray(self.compiled.color_matrix, dtype=np.complex128)
        if np.abs(g.imag).max(initial=0.0) == 0.0:
            g = g.real
        lam, vec = np.linalg.eigh(g)
        top = max(np.abs(lam).max(initial=0.0), 1e-300)
        rotated = None
        if lam.min(initial=0.0) >= -1e-12 * top:
            keep = lam > 1e-13 * top
            rotated = (np.sqrt(lam[keep])[:, None] * vec[:, keep].conj().T) @ colour
        return ordered, self._colour_tensor(colour), None if rotated is None else self._colour_tensor(rotated)

    def _colour_tensor(self, c: np.ndarray) -> torch.Tensor:
        if np.iscomplexobj(c) and np.abs(c.imag).max(initial=0.0) > 0.0:
            return torch.as_tensor(c, dtype=torch.complex128, device=self.device)
        return torch.as_tensor(np.ascontiguousarray(c.real), dtype=torch.float64, device=self.device)

    def _factor_colour(self, group: _Group) -> list[np.ndarray]:
        """C_g = C_basis X: a basis of the group's colour columns (each rescaled by a phase to be real when it can
        be, so the colour sum is a real matmul) and the mixing rows X stored on the group."""
        cols = np.zeros((self.n_colour, len(group.members)), dtype=np.complex128)
        for d, (_, _, weights, _) in enumerate(group.members):
            for k, c in weights:
                cols[k, d] += c
        basis: list[np.ndarray] = []
        for d in range(cols.shape[1]):
            col = cols[:, d]
            if not np.any(col):
                continue
            if basis:
                mat = np.stack(basis, axis=1)
                x = np.linalg.lstsq(mat, col, rcond=None)[0]
                if np.abs(mat @ x - col).max() <= 1e-12 * np.abs(col).max():
                    continue
            lead = col[np.flatnonzero(col)[0]]
            phased = col * (abs(lead) / lead)
            real = np.abs(phased.imag).max() <= 1e-15 * np.abs(col).max()
            basis.append(phased.real.astype(np.complex128) if real else col)
        if not basis:
            return []
        mat = np.stack(basis, axis=1)
        x = np.linalg.lstsq(mat, cols, rcond=None)[0]
        x[np.abs(x) < 1e-14 * np.abs(x).max()] = 0.0
        group.mix = [[(d, complex(c)) for d, c in enumerate(row) if c != 0] for row in x]
        return basis

    # ------------------------------------------------------------------------------------------ evaluation

    def _externals(self, p: torch.Tensor, helicities: list[tuple[int, ...]], axes: list[int | None], n_axes: int) -> list[Wave]:
        """HELAS wavefunctions of every leg, helicities stacked on the leg's axis."""
        b = p.shape[0]
        waves: list[Wave] = []
        for i, leg in enumerate(self.compiled.legs):
            mom = p[:, i, :]
            pdg, mass, spin, hels = leg.pdg, self._leg_mass[i], self._leg_spin[i], helicities[i]
            if spin == 2:
                fermion = pdg > 0
                if leg.incoming:
                    wf = ixxxxx(mom, mass, hels, 1) if fermion else oxxxxx(mom, mass, hels, -1)
                else:
                    wf = oxxxxx(mom, mass, hels, 1) if fermion else ixxxxx(mom, mass, hels, -1)
            elif spin == 3:
                wf = vxxxxx(mom, mass, hels, -1 if leg.incoming else 1)
            else:
                wf = sxxxxx(mom, -1 if leg.incoming else 1)
            shape = [1] * n_axes + [b]
            if axes[i] is not None:
                shape[axes[i]] = len(hels)
            w = wf.w.reshape([4] + shape)
            q = wf.p.reshape([4] + [1] * n_axes + [b]).contiguous()
            waves.append((tuple(w.unbind(0)), tuple(q.unbind(0))))  # type: ignore[arg-type]
        return waves

    def colour_amplitudes(self, p: torch.Tensor, replace: dict[int, torch.Tensor] | None = None) -> torch.Tensor:
        """The colour-ordered amplitudes J_k for every kept helicity configuration: complex (K, *axes, B).

        ``replace`` maps a leg index to a complex (B, 4) vector used instead of that leg's HELAS wavefunction
        (for every helicity), e.g. a gluon's momentum for a gauge-invariance check.
        """
        return self._colour_vectors(p, self._helicities, replace).clone()

    def _colour_vectors(self, p: torch.Tensor, helicities: list[tuple[int, ...]],
                        replace: dict[int, torch.Tensor] | None = None, rotated: bool = False) -> torch.Tensor:
        """J_k = sum_d C_kd A_d for every colour flow, event and helicity configuration: complex (K, *axes, B);
        with ``rotated``, S J instead (|M|^2 = |S J|^2), when the plan has S. The result is a view of a work
        buffer that the next call overwrites."""
        axes: list[int | None] = []
        n_axes = 0
        for h in helicities:
            if len(h) > 1:
                axes.append(n_axes)
                n_axes += 1
            else:
                axes.append(None)
        values: list[Wave] = self._externals(p, helicities, axes, n_axes)
        for leg, vec in (replace or {}).items():
            w, q = values[leg]
            shape = torch.broadcast_shapes(*(c.shape for c in w))
            values[leg] = (tuple(vec[:, m].reshape([1] * n_axes + [-1]).expand(shape) for m in range(4)), q)  # type: ignore[assignment]
        for step in self._steps:
            args = [values[i] for i in step.inputs]
            q = args[0][1]
            for a in args[1:]:
                q = L.add(q, a[1])
            values.append((step.kernel(args, q), q))  # type: ignore[arg-type]
        shape = [len(h) for h in helicities if len(h) > 1] + [p.shape[0]]
        groups, colour, square = self._plan_for(helicities)
        if rotated:
            assert square is not None
            colour = square
        cache: dict[tuple, object] = {}
        rows = [row for group in groups for row in self._group_rows(group, values, tuple(shape), cache)]
        amps = self._scratch("amps", [len(rows)] + shape, torch.complex128, p.device)
        for out, (part, big, weights, full) in zip(amps, rows):
            if full:
                torch.mul(part[0], big[0], out=out)
            else:   # a component may broadcast to less than the full shape
                out.zero_().addcmul_(part[0], big[0])
            for c in range(1, len(part)):
                out.addcmul_(part[c], big[c], value=weights[c])
        flat = amps.view(len(rows), -1)
        if colour.is_complex():
            jk = torch.mm(colour, flat, out=self._scratch("jk", [colour.shape[0], flat.shape[1]], torch.complex128,
                                                          p.device))
        else:   # real colour weights: one real matmul on the (re, im) pairs
            pairs = torch.view_as_real(flat).view(len(rows), -1)
            jk = torch.view_as_complex(torch.mm(colour, pairs, out=self._scratch(
                "jk", [colour.shape[0], pairs.shape[1]], torch.float64, p.device)).view(colour.shape[0], -1, 2))
        return jk.view([colour.shape[0]] + shape)

    def _plan_for(self, helicities: list[tuple[int, ...]]) -> tuple[list[_Group], torch.Tensor, torch.Tensor | None]:
        key = tuple(helicities)
        if key not in self._plans:
            self._plans[key] = self._plan(helicities)
        return self._plans[key]

    def _scratch(self, name: str, shape: list[int], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """A contiguous work tensor kept between chunks (a fresh allocation would be page-faulted in
        each time on CPU); valid until the next request of the same name."""
        numel = int(np.prod(shape))
        buf = self._buffers.get(name)
        if buf is None or buf.numel() < numel or buf.dtype != dtype or buf.device != device:
            buf = torch.empty(numel, dtype=dtype, device=device)
            self._buffers[name] = buf
        return buf[:numel].view(shape)

    @staticmethod
    def _group_rows(group: _Group, values: list[Wave], out_shape: tuple[int, ...], cache: dict[tuple, object]
                    ) -> list[tuple[tuple, tuple, tuple[complex, ...], bool]]:
        """The group's colour-combined rows as (part, big, weights, full): amplitude row j = sum_d X_jd
        dot(partial_d, big) = sum_c weights_c part[c] big[c] with part = partial_d0 + sum_{d>0} (X_jd / X_jd0)
        partial_d and weights = X_jd0 x the dot's metric signs, the first component pre-scaled by X_jd0 (one small
        multiply instead of four); ``full``: the first product covers ``out_shape``. Partials are memoised in
        ``cache`` (the same sub-amplitude closes diagrams of several groups)."""
        big = values[group.big][0]
        signs = (1.0, -1.0, -1.0, -1.0) if group.dot == "vector" else (1.0, 1.0, 1.0, 1.0)
        parts = []
        for inputs, fn, _, key in group.members:
            if key not in cache:
                partial = fn([values[i] for i in inputs])
                cache[key] = (partial,) if group.dot == "scalar" else partial
            parts.append(cache[key])
        bigs = (big[0],) if group.dot == "scalar" else big
        rows = []
        for terms in group.mix:
            d0, c0 = terms[0]
            part = parts[d0]
            for d, c in terms[1:]:
                part = tuple(torch.add(x, y, alpha=c / c0) for x, y in zip(part, parts[d]))
            weights = tuple(c0 * s for s in signs[:len(part)])
            part = (part[0] if c0 == 1 else c0 * part[0],) + tuple(part[1:])
            rows.append((part, bigs, weights, L.broadcast_shape(part[0].shape, bigs[0].shape) == out_shape))
        return rows

    def _m2_chunk(self, p: torch.Tensor) -> torch.Tensor:
        """|M|^2 of one chunk: Re(J^+ G J) summed over helicities."""
        square = self._plan_for(self._helicities)[2]
        if square is None:
            jk = self._colour_vectors(p, self._helicities)
            return self._per_helicity(jk).reshape(-1, jk.shape[-1]).sum(0) / self.compiled.denominator
        sj = torch.view_as_real(self._colour_vectors(p, self._helicities, rotated=True))   # (R, *axes, B, 2)
        # |S J|^2 summed over R and helicities: reduce over the long leading axis first, the (re, im) pairs last
        flat = sj.view(-1, 2 * p.shape[0])
        return flat.square_().sum(0).view(-1, 2).sum(1) / self.compiled.denominator

    def _per_helicity(self, jk: torch.Tensor) -> torch.Tensor:
        """Re(J^+ G J) for every event and helicity configuration: (*helicity axes, B)."""
        k = jk.shape[0]
        flat = jk.reshape(k, -1)
        if self._gram_real is not None:   # Re(J^+ G J) = Jr.G Jr + Ji.G Ji for a real symmetric G
            pairs = torch.view_as_real(flat).reshape(k, -1)
            return (pairs * (self._gram_real @ pairs)).sum(0).reshape(-1, 2).sum(1).reshape(jk.shape[1:])
        return torch.real(flat.conj() * (self._gram @ flat)).sum(0).reshape(jk.shape[1:])

    def _prune_helicities(self) -> None:
        """Drop, per leg, the helicities that contribute nothing on random momenta (identically vanishing)."""
        gen = torch.Generator(device="cpu").manual_seed(20260)
        n = 3
        p3 = torch.randn((n, self.n_legs, 3), generator=gen, dtype=torch.float64) * 100.0
        e = torch.sqrt((p3 * p3).sum(-1) + 100.0**2)
        p = torch.cat([e.unsqueeze(-1), p3], dim=-1).to(self.device)
        per = self._per_helicity(self._colour_vectors(p, self._helicities)).abs().sum(-1)     # (h0, ..., hN-1)
        total = float(per.sum())
        if not math.isfinite(total) or total <= 0.0:
            raise TinnError(f"{self.compiled.name}: |M|^2 vanishes or is not finite on random momenta")
        kept: list[tuple[int, ...]] = []
        axis = 0
        for hs in self._helicities:
            if len(hs) == 1:
                kept.append(hs)
                continue
            other = tuple(a for a in range(per.ndim) if a != axis)
            contrib = per.sum(dim=other) if other else per
            kept.append(tuple(h for h, c in zip(hs, contrib.tolist()) if c > 1e-13 * total))
            axis += 1
        self._helicities = kept
        axes_sizes = [len(h) for h in kept if len(h) > 1]
        self.n_helicity = int(np.prod(axes_sizes)) if axes_sizes else 1
        # bytes per event held during a chunk: every node's wavefunction (4 complex components over its own
        # helicity configurations), the diagram amplitudes and the colour vectors, doubled for temporaries
        node_elems = sum(4 * int(np.prod([len(kept[leg]) for leg in node.legs])) for node in self._nodes)
        per_event = 2 * 16 * (node_elems + (len(self._closings) + self.n_colour + 4) * self.n_helicity)
        if self.device.type == "cuda":   # a GPU wants large launches; bound only by memory
            self.chunk = max(16, min(2**20, 8 * _CHUNK_BYTES // per_event))
        else:   # CPU: full-size tensors of ~2**17 elements balance per-op overhead against cache misses
            self.chunk = max(16, min(_MAX_CHUNK, max(256, 2**17 // self.n_helicity), _CHUNK_BYTES // per_event))

    def m2(self, p: torch.Tensor) -> torch.Tensor:
        """|M|^2 for momenta (B, N, 4) float64 on this runtime's device."""
        out = []
        for start in range(0, p.shape[0], self.chunk):
            chunk = p[start:start + self.chunk]
            out.append(self._m2_chunk(chunk))
        if not out:
            return torch.zeros(0, dtype=torch.float64, device=p.device)
        return torch.cat(out)

    @property
    def helicities(self) -> list[tuple[int, ...]]:
        return list(self._helicities)
