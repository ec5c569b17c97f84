"""Vertex kernels (amplitudes and off-shell currents) for the UFO Lorentz structures of the ``sm`` model, with
propagators, in the ALOHA conventions of MadGraph's generated code.

Conventions (read off MadGraph's ALOHA output; the engine must agree with MadGraph to 1e-8):

* A wavefunction is a tuple of four complex tensors (its components; a scalar uses component 0) plus a stored
  momentum: a tuple of four real tensors, the momentum flowing *out* of the vertex along that line. All tensors
  broadcast against each other (events first, then one axis per helicity-carrying external leg).
* Vectors are stored contravariant; ``a.b = a0 b0 - a1 b1 - a2 b2 - a3 b3``.
* Fermion lines: the *column* spinor (HELAS ``ixxxxx`` type, the fermion flowing in: position of the all-incoming
  fermion, PDG > 0) and the *row* spinor (``oxxxxx`` type, PDG < 0). Dirac matrices in the chiral basis,
  ``P_L = (1 - g5)/2`` keeps components 0, 1. ``gamma.V`` maps column components 0,1 to row components 2,3 with
  ``S(V) = V0 + sigma.V`` and components 2,3 to 0,1 with ``Sbar(V) = V0 - sigma.V``.
* Amplitude of a vertex: ``-i * coupling * L``. Off-shell current: ``coupling * dL/dW_k`` times the propagator:
  scalar ``i/D``, fermion ``i (qslash + M)/D`` (q along the fermion flow), vector ``-i (g - q q/M^2)/D``
  (unitary gauge; ``-i g/D`` when massless), with ``D = q^2 - M^2 + i M W`` everywhere (t-channel too, as
  MadGraph standalone), and, for a polarised vector (MadGraph 3 ``{0}``/``{T}``), ``i eps_l eps_l^*/D``
  restricted to the chosen helicities in the frame of the given momenta.
* In a current, an input's momentum enters as stored; the off-shell leg's momentum is ``-(sum of inputs)``.
"""

from __future__ import annotations

import torch

Comp = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]

__all__ = [
    "FFS_CHIRAL",
    "FFV_CHIRAL",
    "VVVV_METRIC",
    "Comp",
    "add",
    "broadcast_shape",
    "fermion_col_propagator",
    "fermion_row_propagator",
    "ffs_col",
    "ffs_row",
    "ffs_scalar",
    "ffv_col",
    "ffv_row",
    "ffv_vector",
    "mdot",
    "polarised_vector_propagator",
    "scalar_propagator",
    "vector_propagator",
    "vvv1_amp",
    "vvv1_current",
    "vvvv_amp",
    "vvvv_current",
]

# (left, right) chiral weights: Gamma(3,2,-1) * (a_L ProjM + a_R ProjP)(-1,1)
FFV_CHIRAL: dict[str, tuple[float, float]] = {
    "FFV1": (1.0, 1.0),
    "FFV2": (1.0, 0.0),
    "FFV3": (1.0, -2.0),
    "FFV4": (1.0, 2.0),
    "FFV5": (1.0, 4.0),
}
FFS_CHIRAL: dict[str, tuple[float, float]] = {
    "FFS1": (1.0, 1.0),   # Identity(2,1)
    "FFS2": (1.0, -1.0),  # ProjM - ProjP  (not used by sm, listed for completeness of the chiral family)
    "FFS3": (0.0, 1.0),   # ProjP
    "FFS4": (1.0, 1.0),   # ProjM + ProjP
}
# a (1.4)(2.3) + b (1.3)(2.4) + c (1.2)(3.4)
VVVV_METRIC: dict[str, tuple[float, float, float]] = {
    "VVVV1": (1.0, -1.0, 0.0),
    "VVVV2": (1.0, 1.0, -2.0),
    "VVVV3": (1.0, 0.0, -1.0),
    "VVVV4": (0.0, 1.0, -1.0),
    "VVVV5": (1.0, -0.5, -0.5),
}

_I = 1j


def _products(*terms: tuple[torch.Tensor, torch.Tensor, complex]) -> torch.Tensor:
    """sum_i c_i a_i b_i as one multiply and in-place fused multiply-adds (no temporaries), falling back to plain
    arithmetic for a term the first product cannot hold (a wider broadcast shape or a complex value in a real one)."""
    a, b, c = terms[0]
    out = a * b
    if c != 1:
        out = out.mul_(c) if out.is_complex() or isinstance(c, (int, float)) else out * c
    for a, b, c in terms[1:]:
        shape = broadcast_shape(a.shape, b.shape)
        if broadcast_shape(out.shape, shape) == out.shape and (out.is_complex() or not (
                a.is_complex() or b.is_complex() or isinstance(c, complex))):
            out.addcmul_(a, b, value=c)
        else:
            out = out + (a * b if c == 1 else c * (a * b))
    return out


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """torch.broadcast_shapes of two compatible shapes, without its per-call overhead (hot path)."""
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    return tuple(y if x == 1 else x for x, y in zip(a, b))


def mdot(a: Comp, b: Comp) -> torch.Tensor:
    return _products((a[0], b[0], 1), (a[1], b[1], -1), (a[2], b[2], -1), (a[3], b[3], -1))


def add(a: Comp, b: Comp) -> Comp:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3])


def _scale(c: complex | torch.Tensor, a: Comp) -> Comp:
    return (c * a[0], c * a[1], c * a[2], c * a[3])


def _denominator(q: Comp, mass: float, width: float) -> torch.Tensor:
    q2 = q[0] * q[0] - q[1] * q[1] - q[2] * q[2] - q[3] * q[3]
    return torch.complex(q2 - mass * mass, torch.full_like(q2, mass * width))


# ---------------------------------------------------------------------------------------------- propagators

def scalar_propagator(t: torch.Tensor, q: Comp, mass: float, width: float) -> Comp:
    s = _I * t / _denominator(q, mass, width)
    z = torch.zeros_like(s)
    return (s, z, z, z)


def vector_propagator(t: Comp, q: Comp, mass: float, width: float) -> Comp:
    """-i (g^{mu nu} - q^mu q^nu / M^2) T_nu / D (unitary gauge; Feynman-like -i T/D when massless)."""
    f = -_I / _denominator(q, mass, width)
    if mass == 0.0:
        return _scale(f, t)
    qt = mdot(q, t).mul_(1.0 / (mass * mass))
    return tuple(torch.addcmul(t[m], q[m], qt, value=-1).mul_(f) for m in range(4))  # type: ignore[return-value]


def polarised_vector_propagator(t: Comp, q: Comp, mass: float, width: float, polarization: str) -> Comp:
    """MadGraph 3 polarised propagator (ALOHA ``1L``/``1T``): i sum_{lambda in pol} eps_l^mu eps_l^nu* T_nu / D
    with the polarisation vectors of the off-shell momentum q in the frame of the given momenta:
    eps_0 = (|q|^2, E q)/(|q| sqrt(q^2)), eps_T1 = (0, qx qz, qy qz, -qT^2)/(qT |q|), eps_T2 = (0, -qy, qx, 0)/qT."""
    d = _denominator(q, mass, width)
    q0, q1, q2, q3 = q
    k2 = q1 * q1 + q2 * q2 + q3 * q3
    if polarization == "0":
        eps = (k2, q0 * q1, q0 * q2, q0 * q3)
        virt = q0 * q0 - k2
        f = _I * (t[0] * eps[0] - t[1] * eps[1] - t[2] * eps[2] - t[3] * eps[3]) / (k2 * virt * d)
        return tuple(f * e for e in eps)  # type: ignore[return-value]
    if polarization == "T":
        kt2 = q1 * q1 + q2 * q2
        e1 = (q1 * q3, q2 * q3, -kt2)            # time component 0
        e2 = (-q2, q1)                           # time and z components 0
        f1 = _I * (-t[1] * e1[0] - t[2] * e1[1] - t[3] * e1[2]) / (k2 * kt2 * d)
        f2 = _I * (-t[1] * e2[0] - t[2] * e2[1]) / (kt2 * d)
        zero = torch.zeros_like(f1)
        return (zero, f1 * e1[0] + f2 * e2[0], f1 * e1[1] + f2 * e2[1], f1 * e1[2])
    raise ValueError(f"unknown vector polarisation {polarization!r}; expected '0' or 'T'")


def _slash_factors(q: Comp, mass: float, width: float) -> tuple[torch.Tensor, ...]:
    """i/D times (q0+q3, q0-q3, q1-iq2, q1+iq2, M): the propagator factor folded into the (small) momentum terms."""
    f = _I / _denominator(q, mass, width)
    return (f * (q[0] + q[3]), f * (q[0] - q[3]), f * torch.complex(q[1], -q[2]), f * torch.complex(q[1], q[2]),
            f * mass)


def fermion_row_propagator(x: Comp, q: Comp, mass: float, width: float) -> Comp:
    """Row spinor x (qslash + M) i/D; q = sum of the inputs' stored momenta (along the fermion flow)."""
    qp, qm, qa, qb, m = _slash_factors(q, mass, width)
    x0, x1, x2, x3 = x
    terms = [[(x2, qp, 1), (x3, qb, 1)], [(x2, qa, 1), (x3, qm, 1)], [(x0, qm, 1), (x1, qb, -1)],
             [(x1, qp, 1), (x0, qa, -1)]]
    return _with_mass(terms, x, m, mass)


def fermion_col_propagator(y: Comp, q: Comp, mass: float, width: float) -> Comp:
    """i/D (qslash + M) y for a column spinor; q = -(sum of the inputs' stored momenta)."""
    qp, qm, qa, qb, m = _slash_factors(q, mass, width)
    y0, y1, y2, y3 = y
    terms = [[(qm, y2, 1), (qa, y3, -1)], [(qp, y3, 1), (qb, y2, -1)], [(qp, y0, 1), (qa, y1, 1)],
             [(qb, y0, 1), (qm, y1, 1)]]
    return _with_mass(terms, y, m, mass)


def _with_mass(terms: list, spinor: Comp, m: torch.Tensor, mass: float) -> Comp:
    """Component k = terms[k] + m spinor[k] (the mass term dropped for a massless line)."""
    if mass != 0.0:
        terms = [t + [(spinor[k], m, 1)] for k, t in enumerate(terms)]
    return tuple(_products(*t) for t in terms)  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------- FFV (chiral)

def _sv(v: Comp, c: complex) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """c x (V0+V3, V0-V3, V1-iV2, V1+iV2): the entries of c S(V) = c [[vp, a], [b, vm]]."""
    entries = (v[0] + v[3], v[0] - v[3], torch.add(v[1], v[2], alpha=-_I), torch.add(v[1], v[2], alpha=_I))
    return entries if c == 1 else tuple(x.mul_(c) for x in entries)  # type: ignore[return-value]


def _chiral_sv(v: Comp, cl: complex, cr: complex):
    left = _sv(v, cl) if cl != 0 else None
    right = left if cr == cl else (_sv(v, cr) if cr != 0 else None)
    return left, right


def ffv_vector(row: Comp, col: Comp, cl: complex, cr: complex) -> Comp:
    """J^mu = row gamma^mu (cl P_L + cr P_R) col (before the propagator)."""
    r0, r1, r2, r3 = row
    c0, c1, c2, c3 = col
    terms: list[list[tuple[torch.Tensor, torch.Tensor, complex]]] = [[], [], [], []]
    if cl != 0:
        terms[0] += [(r2, c0, cl), (r3, c1, cl)]
        terms[1] += [(r2, c1, -cl), (r3, c0, -cl)]
        terms[2] += [(r2, c1, _I * cl), (r3, c0, -_I * cl)]
        terms[3] += [(r3, c1, cl), (r2, c0, -cl)]
    if cr != 0:
        terms[0] += [(r0, c2, cr), (r1, c3, cr)]
        terms[1] += [(r0, c3, cr), (r1, c2, cr)]
        terms[2] += [(r1, c2, _I * cr), (r0, c3, -_I * cr)]
        terms[3] += [(r0, c2, cr), (r1, c3, -cr)]
    return tuple(_products(*t) for t in terms)  # type: ignore[return-value]


def ffv_row(row: Comp, v: Comp, cl: complex, cr: complex) -> Comp:
    """x = row gamma.V (cl P_L + cr P_R) (before the propagator)."""
    left, right = _chiral_sv(v, cl, cr)
    r0, r1, r2, r3 = row
    zero = torch.zeros((), dtype=torch.complex128, device=r0.device)
    x0 = x1 = x2 = x3 = zero
    if left is not None:
        vp, vm, a, b = left
        x0, x1 = _products((r2, vp, 1), (r3, b, 1)), _products((r2, a, 1), (r3, vm, 1))
    if right is not None:
        vp, vm, a, b = right
        x2, x3 = _products((r0, vm, 1), (r1, b, -1)), _products((r1, vp, 1), (r0, a, -1))
    return (x0, x1, x2, x3)


def ffv_col(col: Comp, v: Comp, cl: complex, cr: complex) -> Comp:
    """y = gamma.V (cl P_L + cr P_R) col (before the propagator)."""
    left, right = _chiral_sv(v, cl, cr)
    c0, c1, c2, c3 = col
    zero = torch.zeros((), dtype=torch.complex128, device=c0.device)
    y0 = y1 = y2 = y3 = zero
    if left is not None:
        vp, vm, a, b = left
        y2, y3 = _products((vp, c0, 1), (a, c1, 1)), _products((b, c0, 1), (vm, c1, 1))
    if right is not None:
        vp, vm, a, b = right
        y0, y1 = _products((vm, c2, 1), (a, c3, -1)), _products((vp, c3, 1), (b, c2, -1))
    return (y0, y1, y2, y3)


# ------------------------------------------------------------------------------------------- FFS (chiral)

def ffs_scalar(row: Comp, col: Comp, cl: complex, cr: complex) -> torch.Tensor:
    return cl * (row[0] * col[0] + row[1] * col[1]) + cr * (row[2] * col[2] + row[3] * col[3])


def ffs_row(row: Comp, s: Comp, cl: complex, cr: complex) -> Comp:
    return (cl * s[0] * row[0], cl * s[0] * row[1], cr * s[0] * row[2], cr * s[0] * row[3])


def ffs_col(col: Comp, s: Comp, cl: complex, cr: complex) -> Comp:
    return (cl * s[0] * col[0], cl * s[0] * col[1], cr * s[0] * col[2], cr * s[0] * col[3])


# ---------------------------------------------------------------------------------------------------- VVV1

def vvv1_amp(v: list[Comp], p: list[Comp], g: complex) -> torch.Tensor:
    """The VVV1 vertex with every leg on (the definition its currents are checked against): -i g [ (V1.V2)(V3.(P1-P2)) + (V1.V3)(V2.(P3-P1)) + (V2.V3)(V1.(P2-P3)) ]."""
    v1, v2, v3 = v
    p1, p2, p3 = p
    d12 = tuple(a - b for a, b in zip(p1, p2))
    d31 = tuple(a - b for a, b in zip(p3, p1))
    d23 = tuple(a - b for a, b in zip(p2, p3))
    l = mdot(v1, v2) * mdot(v3, d12) + mdot(v1, v3) * mdot(v2, d31) + mdot(v2, v3) * mdot(v1, d23)  # type: ignore[arg-type]
    return (-_I * g) * l


def vvv1_current(k: int, v: list[Comp | None], p: list[Comp], g: complex) -> Comp:
    """g dL/dV_k for VVV1 (k = 0, 1, 2 is the off-shell position; v[k] is None; p[k] = -(sum of the others))."""
    # L is cyclic: L(1,2,3) = (V1.V2) V3.(P1-P2) + cyclic, so the current for position k uses the cyclic order
    # (k, k+1, k+2): T = Va (Vb.(Pk - Pa)) + Vb (Va.(Pb - Pk)) + (Va.Vb)(Pa - Pb), a = k+1, b = k+2.
    a, b = (k + 1) % 3, (k + 2) % 3
    va, vb = v[a], v[b]
    assert va is not None and vb is not None
    pk, pa, pb = p[k], p[a], p[b]
    fa = mdot(vb, tuple(x - y for x, y in zip(pk, pa))).mul_(g)  # type: ignore[arg-type]
    fb = mdot(va, tuple(x - y for x, y in zip(pb, pk))).mul_(g)  # type: ignore[arg-type]
    fab = mdot(va, vb).mul_(g)
    return tuple(_products((va[m], fa, 1), (vb[m], fb, 1), (fab, pa[m] - pb[m], 1))  # type: ignore[return-value]
                 for m in range(4))


# --------------------------------------------------------------------------------------------------- VVVV

_PAIRINGS = (((0, 3), (1, 2)), ((0, 2), (1, 3)), ((0, 1), (2, 3)))


def vvvv_amp(v: list[Comp], coeffs: tuple[complex, complex, complex]) -> torch.Tensor:
    out = 0
    for c, ((i, j), (k, l)) in zip(coeffs, _PAIRINGS):
        if c != 0:
            out = out + c * mdot(v[i], v[j]) * mdot(v[k], v[l])
    return -_I * out


def vvvv_current(n: int, v: list[Comp | None], coeffs: tuple[complex, complex, complex]) -> Comp:
    """sum_pairings c (V_partner) (V.V of the other pair) for off-shell position n."""
    out: Comp | None = None
    for c, pairs in zip(coeffs, _PAIRINGS):
        if c == 0:
            continue
        (i, j), (k, l) = pairs if n in pairs[0] else (pairs[1], pairs[0])
        partner = j if i == n else i
        other = mdot(v[k], v[l])  # type: ignore[arg-type]
        term = _scale(c * other, v[partner])  # type: ignore[arg-type]
        out = term if out is None else add(out, term)
    assert out is not None
    return out

