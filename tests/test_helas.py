"""External wavefunctions (HELAS conventions) and vertex kernels, tested on their defining properties."""

from __future__ import annotations

import math

import pytest
import torch

from tinn_dist.physics import lorentz as L
from tinn_dist.physics.helas import ixxxxx, oxxxxx, vxxxxx

G0 = torch.tensor([[0, 0, 1, 0], [0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0]], dtype=torch.complex128)
SIGMA = (
    torch.tensor([[0, 1], [1, 0]], dtype=torch.complex128),
    torch.tensor([[0, -1j], [1j, 0]], dtype=torch.complex128),
    torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128),
)


def gamma(mu: int) -> torch.Tensor:
    """Chiral-basis Dirac matrices (HELAS): gamma^0 off-diagonal identity, gamma^k = [[0, s_k], [-s_k, 0]]."""
    if mu == 0:
        return G0
    g = torch.zeros((4, 4), dtype=torch.complex128)
    g[:2, 2:] = SIGMA[mu - 1]
    g[2:, :2] = -SIGMA[mu - 1]
    return g


def pslash(p: torch.Tensor) -> torch.Tensor:
    return p[0] * gamma(0) - p[1] * gamma(1) - p[2] * gamma(2) - p[3] * gamma(3)


def momenta(mass: float, n: int = 5, seed: int = 3) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    p3 = torch.randn((n, 3), generator=gen, dtype=torch.float64) * 80.0
    e = torch.sqrt((p3 * p3).sum(1) + mass * mass)
    return torch.cat([e[:, None], p3], dim=1)


@pytest.mark.parametrize("mass", [0.0, 4.7, 173.0])
@pytest.mark.parametrize("nhel", [-1, 1])
def test_spinors_solve_the_dirac_equation(mass: float, nhel: int) -> None:
    p = momenta(mass)
    one = torch.eye(4, dtype=torch.complex128)
    for i in range(p.shape[0]):
        ps = pslash(p[i])
        u = ixxxxx(p[i:i + 1], mass, [nhel], 1).w[:, 0, 0]
        v = ixxxxx(p[i:i + 1], mass, [nhel], -1).w[:, 0, 0]
        ubar = oxxxxx(p[i:i + 1], mass, [nhel], 1).w[:, 0, 0]
        vbar = oxxxxx(p[i:i + 1], mass, [nhel], -1).w[:, 0, 0]
        scale = p[i, 0].item()
        assert torch.allclose((ps - mass * one) @ u, torch.zeros(4, dtype=torch.complex128), atol=1e-12 * scale)
        assert torch.allclose((ps + mass * one) @ v, torch.zeros(4, dtype=torch.complex128), atol=1e-12 * scale)
        assert torch.allclose(ubar @ (ps - mass * one), torch.zeros(4, dtype=torch.complex128), atol=1e-12 * scale)
        assert torch.allclose(vbar @ (ps + mass * one), torch.zeros(4, dtype=torch.complex128), atol=1e-12 * scale)
        # normalisation ubar u = 2m (HELAS spinors are not conjugates of each other, but ubar(p) u(p) = 2m)
        ubar_h = oxxxxx(p[i:i + 1], mass, [nhel], 1).w[:, 0, 0]
        assert torch.allclose(ubar_h @ u, torch.tensor(2 * mass, dtype=torch.complex128), atol=1e-10 * scale)


@pytest.mark.parametrize("mass", [0.0, 80.4])
def test_polarisation_vectors_are_transverse_and_complete(mass: float) -> None:
    p = momenta(mass)
    hels = (-1, 0, 1) if mass else (-1, 1)
    metric = torch.diag(torch.tensor([1.0, -1.0, -1.0, -1.0], dtype=torch.float64)).to(torch.complex128)
    for i in range(p.shape[0]):
        total = torch.zeros((4, 4), dtype=torch.complex128)
        for h in hels:
            eps = vxxxxx(p[i:i + 1], mass, [h], 1).w[:, 0, 0]
            pc = p[i].to(torch.complex128)
            assert abs(eps[0] * pc[0] - (eps[1:] * pc[1:]).sum()) < 1e-10 * p[i, 0]
            assert abs((eps[0] * eps[0].conj() - (eps[1:] * eps[1:].conj()).sum()) + 1) < 1e-12
            total += torch.outer(eps, eps.conj())
        if mass:
            expected = -torch.linalg.inv(metric) + torch.outer(p[i], p[i]).to(torch.complex128) / mass**2
            assert torch.allclose(total, expected, atol=1e-10 * (p[i, 0] / mass) ** 2)


def test_massive_spinor_off_shell_uses_min_energy_and_momentum() -> None:
    """Off the slot's mass shell HELAS ixxxxx uses pp = min(E, |p|), omega = (sqrt(E + pp), m / sqrt(E + pp))."""
    e = 50.0
    p = torch.tensor([[e, 0.0, 0.0, e]], dtype=torch.float64)   # light-like momentum in a slot of mass 173
    u = ixxxxx(p, 173.0, [1], 1).w[:, 0, 0]
    omega = math.sqrt(2 * e)                                      # pp = E; chi = (1, 0)
    assert torch.allclose(u, torch.tensor([173.0 / omega, 0.0, omega, 0.0], dtype=torch.complex128))
    q = torch.tensor([[10.0, 0.0, 0.0, 30.0]], dtype=torch.float64)   # E < |p|: pp = E = 10
    w = ixxxxx(q, 4.7, [-1], 1).w[:, 0, 0]
    chi0 = math.sqrt((10.0 + 30.0) * 0.5 / 10.0)
    expected = [0.0, math.sqrt(20.0) * chi0, 0.0, 4.7 / math.sqrt(20.0) * chi0]
    assert torch.allclose(w, torch.tensor(expected, dtype=torch.complex128))


def test_massless_spinor_along_minus_z_uses_helas_special_case() -> None:
    e = 40.0
    p = torch.tensor([[e, 0.0, 0.0, -e]], dtype=torch.float64)
    u = ixxxxx(p, 0.0, [1], 1).w[:, 0, 0]
    assert torch.allclose(u, torch.tensor([0, 0, 0, -math.sqrt(2 * e)], dtype=torch.complex128))
    # a massive momentum in a massless slot: sqrt(max(E + pz, 0))
    q = torch.tensor([[20.0, 3.0, -4.0, 5.0]], dtype=torch.float64)
    v = ixxxxx(q, 0.0, [-1], 1).w[:, 0, 0]
    s = math.sqrt(25.0)
    assert torch.allclose(v, torch.tensor([complex(-3.0, -4.0) / s, s, 0, 0], dtype=torch.complex128))


def _comp(w: torch.Tensor) -> L.Comp:
    return tuple(w[m] for m in range(4))  # type: ignore[return-value]


@pytest.mark.parametrize("cl, cr", [(1.0, 1.0), (0.7, 0.0), (0.3, -1.1)])
def test_ffv_vector_current_is_conserved_and_matches_gamma_matrices(cl: float, cr: float) -> None:
    p1, p2 = momenta(0.0, 2, seed=5)
    for h1 in (-1, 1):
        for h2 in (-1, 1):
            col = ixxxxx(p1[None], 0.0, [h1], 1).w[..., 0]
            row = oxxxxx(p2[None], 0.0, [h2], 1).w[..., 0]
            j = L.ffv_vector(_comp(row), _comp(col), cl, cr)
            q = (p1 - p2).to(torch.complex128)
            assert abs((q[0] * j[0] - q[1] * j[1] - q[2] * j[2] - q[3] * j[3]).item()) < 1e-9 * p1[0].item() ** 2
            proj = cl * torch.diag(torch.tensor([1, 1, 0, 0])) + cr * torch.diag(torch.tensor([0, 0, 1, 1]))
            for mu in range(4):
                direct = row[:, 0] @ gamma(mu) @ proj.to(torch.complex128) @ col[:, 0]
                assert torch.allclose(j[mu][0], direct, atol=1e-10 * p1[0].item())


@pytest.mark.parametrize("cl, cr", [(1.0, 1.0), (0.7, 0.0), (0.3, -1.1)])
def test_ffv_row_and_col_match_gamma_matrices_when_broadcasting(cl: float, cr: float) -> None:
    """Spinors over one helicity axis, the vector over another: every output element is the matrix product."""
    gen = torch.Generator().manual_seed(14)
    spinor = tuple(torch.randn((2, 1), generator=gen, dtype=torch.complex128) for _ in range(4))
    v = tuple(torch.randn((1, 3), generator=gen, dtype=torch.complex128) for _ in range(4))
    proj = (cl * torch.diag(torch.tensor([1, 1, 0, 0])) + cr * torch.diag(torch.tensor([0, 0, 1, 1]))).to(torch.complex128)
    col = [torch.broadcast_to(c, (2, 3)) for c in L.ffv_col(spinor, v, cl, cr)]
    row = [torch.broadcast_to(c, (2, 3)) for c in L.ffv_row(spinor, v, cl, cr)]
    for i in range(2):
        s = torch.stack([c[i, 0] for c in spinor])
        for j in range(3):
            vslash = sum((1 if mu == 0 else -1) * v[mu][0, j] * gamma(mu) for mu in range(4))
            assert torch.allclose(torch.stack([c[i, j] for c in col]), vslash @ proj @ s)
            assert torch.allclose(torch.stack([c[i, j] for c in row]), s @ vslash @ proj)


@pytest.mark.parametrize("m, w", [(173.0, 1.5), (0.0, 0.0)])
def test_fermion_propagator_matches_pslash_plus_m(m: float, w: float) -> None:
    gen = torch.Generator().manual_seed(9)
    x = torch.randn((4, 1), generator=gen, dtype=torch.complex128)
    q = torch.tensor([120.0, 10.0, -20.0, 30.0], dtype=torch.float64)
    d = q[0] ** 2 - (q[1:] ** 2).sum() - m * m + 1j * m * w
    row = torch.stack(L.fermion_row_propagator(_comp(x), tuple(q[i:i + 1] for i in range(4)), m, w))[:, 0]
    col = torch.stack(L.fermion_col_propagator(_comp(x), tuple(q[i:i + 1] for i in range(4)), m, w))[:, 0]
    one = torch.eye(4, dtype=torch.complex128)
    assert torch.allclose(row, 1j * x[:, 0] @ (pslash(q) + m * one) / d)
    assert torch.allclose(col, 1j * (pslash(q) + m * one) @ x[:, 0] / d)


def test_vvv1_is_cyclic_and_current_matches_amplitude() -> None:
    gen = torch.Generator().manual_seed(11)
    v = [tuple(torch.randn(1, generator=gen, dtype=torch.complex128) for _ in range(4)) for _ in range(3)]
    p = [tuple(torch.randn(1, generator=gen, dtype=torch.float64) for _ in range(4)) for _ in range(2)]
    p.append(tuple(-(a + b) for a, b in zip(p[0], p[1])))
    amp = L.vvv1_amp(v, p, 0.8)
    cyc = L.vvv1_amp([v[1], v[2], v[0]], [p[1], p[2], p[0]], 0.8)
    assert torch.allclose(amp, cyc)
    for k in range(3):
        cur = L.vvv1_current(k, [None if i == k else v[i] for i in range(3)], p, 0.8)
        assert torch.allclose(-1j * L.mdot(cur, v[k]), amp)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(L.VVVV_METRIC))
def test_vvvv_current_matches_amplitude(name: str) -> None:
    gen = torch.Generator().manual_seed(12)
    v = [tuple(torch.randn(1, generator=gen, dtype=torch.complex128) for _ in range(4)) for _ in range(4)]
    coeffs = tuple(complex(c) for c in L.VVVV_METRIC[name])
    amp = L.vvvv_amp(v, coeffs)  # type: ignore[arg-type]
    for k in range(4):
        cur = L.vvvv_current(k, [None if i == k else v[i] for i in range(4)], coeffs)  # type: ignore[arg-type]
        assert torch.allclose(-1j * L.mdot(cur, v[k]), amp)  # type: ignore[arg-type]


def test_polarised_propagators_sum_to_the_unitary_numerator() -> None:
    """eps_0 eps_0 + sum_T eps_T eps_T = -g + q q / q^2 for an off-shell momentum (ALOHA 1L + 1T)."""
    q = tuple(torch.tensor([x], dtype=torch.float64) for x in (150.0, 20.0, -35.0, 60.0))
    gen = torch.Generator().manual_seed(13)
    t = tuple(torch.randn(1, generator=gen, dtype=torch.complex128) for _ in range(4))
    m, w = 80.4, 2.0
    q2 = q[0] ** 2 - q[1] ** 2 - q[2] ** 2 - q[3] ** 2
    lon = L.polarised_vector_propagator(t, q, m, w, "0")
    tra = L.polarised_vector_propagator(t, q, m, w, "T")
    d = q2 - m * m + 1j * m * w
    qt = L.mdot(q, t)  # type: ignore[arg-type]
    for mu in range(4):
        expected = 1j * (-t[mu] + q[mu] * qt / q2) / d
        assert torch.allclose(lon[mu] + tra[mu], expected)
