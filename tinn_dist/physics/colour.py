"""Colour algebra by explicit index sums: each diagram's colour factor is a tensor network built from the UFO colour
strings of its vertices (``T(a,i,j)``, ``f(a,b,c)``, ``Identity(i,j)``, products, negative = summed indices);
Gram entries ``sum_colours conj(c_i) c_j`` are full contractions with ``numpy.einsum`` (SU(3) with Nc = 3 and
``Tr(T^a T^b) = delta^ab / 2``).

:func:`colour_decomposition` groups equal colour structures, picks a linearly independent basis among them and
writes every diagram's structure in that basis, so that for any amplitudes A_d

    sum_colours |sum_d c_d A_d|^2 = J^dagger G J,   J_k = sum_d coeff[d, k] A_d,   G_kl = sum conj(b_k) b_l.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache

import numpy as np

__all__ = ["ColourNetwork", "colour_decomposition", "gell_mann_t", "structure_constants"]


@cache
def gell_mann_t() -> np.ndarray:
    """T^a = lambda^a / 2, shape (8, 3, 3), index order (a, i, j)."""
    t = np.zeros((8, 3, 3), dtype=complex)
    t[0][0, 1] = t[0][1, 0] = 1
    t[1][0, 1], t[1][1, 0] = -1j, 1j
    t[2][0, 0], t[2][1, 1] = 1, -1
    t[3][0, 2] = t[3][2, 0] = 1
    t[4][0, 2], t[4][2, 0] = -1j, 1j
    t[5][1, 2] = t[5][2, 1] = 1
    t[6][1, 2], t[6][2, 1] = -1j, 1j
    t[7][0, 0] = t[7][1, 1] = 1 / np.sqrt(3)
    t[7][2, 2] = -2 / np.sqrt(3)
    return t / 2


@cache
def structure_constants() -> np.ndarray:
    """f^{abc} = -2i Tr([T^a, T^b] T^c), real, shape (8, 8, 8)."""
    t = gell_mann_t()
    comm = np.einsum("aij,bjk->abik", t, t) - np.einsum("bij,ajk->abik", t, t)
    return np.real(-2j * np.einsum("abik,cki->abc", comm, t))


_FACTOR = re.compile(r"\s*(\w+)\(([^()]*)\)\s*")


def parse_colour(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """``'f(-1,1,2)*f(3,4,-1)'`` -> ``[('f', (-1, 1, 2)), ('f', (3, 4, -1))]``; ``'1'`` -> ``[]``."""
    text = text.strip()
    if text == "1":
        return []
    factors = []
    for part in text.split("*"):
        m = _FACTOR.fullmatch(part)
        if m is None or m.group(1) not in ("T", "f", "Identity"):
            raise ValueError(f"unsupported colour structure {part!r} in {text!r}")
        factors.append((m.group(1), tuple(int(x.strip().strip("'")) for x in m.group(2).split(","))))
    return factors


@dataclass(frozen=True)
class ColourNetwork:
    """A product of colour tensors. ``tensors``: (kind, labels) with kind ``T``/``f``/``d3``/``d8``; labels are
    hashable; ``external`` maps each external leg index to its label's dimension; ``factor`` a scalar."""

    tensors: tuple[tuple[str, tuple], ...]
    external: tuple[tuple[int, int], ...]
    factor: complex

    def arrays(self) -> list[np.ndarray]:
        # UFO ``T(a,i,j)`` = (T^a)_{ij}, with legs matched to vertex positions all-outgoing (MadGraph)
        lookup = {"T": gell_mann_t(), "f": structure_constants(), "d3": np.eye(3), "d8": np.eye(8)}
        return [lookup[kind] for kind, _ in self.tensors]


def _contract(operands: list[tuple[np.ndarray, tuple]], factor: complex, deltas: list[tuple[tuple, int]] = ()
              ) -> complex:
    """Full contraction of a list of (array, labels) times Kronecker deltas ((x, y), dim); every label must appear
    exactly twice. The deltas are summed first by identifying their labels (a closed delta loop gives dim)."""
    parent: dict = {}

    def find(x):
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for (x, y), dim in deltas:
        rx, ry = find(x), find(y)
        if rx == ry:
            factor *= dim
        else:
            parent[rx] = ry
    ops = [(array, tuple(find(lab) for lab in labels)) for array, labels in operands]
    # pairwise contraction, always the pair sharing an index with the smallest result (the networks are sparse:
    # a generic path finder builds needless outer products here)
    while len(ops) > 1:
        best = None
        for i in range(len(ops)):
            for j in range(i + 1, len(ops)):
                shared = set(ops[i][1]) & set(ops[j][1])
                if not shared:
                    continue
                out = tuple(dict.fromkeys(l for l in ops[i][1] + ops[j][1] if l not in shared))
                size = math.prod(ops[i][0].shape[ops[i][1].index(l)] if l in ops[i][1]
                                 else ops[j][0].shape[ops[j][1].index(l)] for l in out)
                if best is None or size < best[0]:
                    best = (size, i, j, out)
        if best is None:
            break
        _, i, j, out = best
        (a, la), (b, lb) = ops[i], ops[j]
        ids = {lab: k for k, lab in enumerate(dict.fromkeys(la + lb))}
        res = np.einsum(a, [ids[l] for l in la], b, [ids[l] for l in lb], [ids[l] for l in out])
        ops = [op for k, op in enumerate(ops) if k not in (i, j)] + [(res, out)]
    for array, labels in ops:   # disconnected pieces: each is a closed network on its own
        ids = {lab: k for k, lab in enumerate(dict.fromkeys(labels))}
        factor *= complex(np.einsum(array, [ids[l] for l in labels], []))
    return factor


def gram_entry(a: ColourNetwork, b: ColourNetwork) -> complex:
    """sum over external colours of conj(a) * b (external labels shared, internal ones kept apart)."""
    ops: list[tuple[np.ndarray, tuple]] = []
    deltas: list[tuple[tuple, int]] = []
    for tag, net, conj in (("a", a, True), ("b", b, False)):
        for array, (kind, labels) in zip(net.arrays(), net.tensors):
            labels = tuple(lab if isinstance(lab, tuple) and lab[0] == "ext" else (tag, lab) for lab in labels)
            if kind in ("d3", "d8"):
                deltas.append((labels, array.shape[0]))
            else:
                ops.append((np.conj(array) if conj else array, labels))
    return _contract(ops, np.conj(a.factor) * b.factor, deltas)


def _fingerprint(net: ColourNetwork, probes: dict[int, np.ndarray]) -> complex:
    ops = [(array, labels) for array, (_, labels) in zip(net.arrays(), net.tensors)]
    for leg, _dim in net.external:
        ops.append((probes[leg], (("ext", leg),)))
    return _contract(ops, net.factor)


def colour_decomposition(networks: list[ColourNetwork], tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Basis coefficients (D, K) of every network and the basis Gram matrix G (K, K), G_kl = sum conj(b_k) b_l."""
    if not networks:
        return np.zeros((0, 0), dtype=complex), np.zeros((0, 0), dtype=complex)
    rng = np.random.default_rng(12345)
    dims = dict(pair for net in networks for pair in net.external)
    probes = {leg: rng.normal(size=dim) + 1j * rng.normal(size=dim) for leg, dim in dims.items()}
    # group equal structures: equal networks have equal random-probe values
    unique: list[ColourNetwork] = []
    keys: list[complex] = []
    which = []
    for net in networks:
        fp = _fingerprint(net, probes)
        for u, key in enumerate(keys):
            if abs(fp - key) <= 1e-9 * max(abs(fp), abs(key), 1e-300):
                which.append(u)
                break
        else:
            unique.append(net)
            keys.append(fp)
            which.append(len(unique) - 1)
    n = len(unique)
    gram = np.zeros((n, n), dtype=complex)
    for i in range(n):
        for j in range(i, n):
            gram[i, j] = gram_entry(unique[i], unique[j])
            gram[j, i] = np.conj(gram[i, j])
    # greedy independent basis: keep a structure if it is not in the span of those kept (Schur complement);
    # structures without f^{abc} come first, so that the basis is made of colour flows (T-chains, deltas) whose
    # Gram matrix is real, as MadGraph's
    basis: list[int] = []
    for u in sorted(range(n), key=lambda u: sum(kind == "f" for kind, _ in unique[u].tensors)):
        trial = basis + [u]
        sub = gram[np.ix_(trial, trial)]
        if basis:
            x = np.linalg.solve(gram[np.ix_(basis, basis)], gram[basis, u])
            resid = np.real(sub[-1, -1] - np.vdot(gram[basis, u], x))
        else:
            resid = np.real(sub[-1, -1])
        if resid > tol * max(np.real(gram[u, u]), 1.0):
            basis.append(u)
    g_bb = gram[np.ix_(basis, basis)]
    coeff_u = np.linalg.solve(g_bb, gram[basis, :]).T    # (n, K): b_u = sum_k coeff_u[u, k] b_k
    coeff = coeff_u[which]
    coeff[np.abs(coeff) < 1e-13] = 0.0
    return coeff, g_bb
