"""Colour factors by explicit index sums: SU(3) algebra, known colour matrices, and exactness of the basis."""

from __future__ import annotations

import numpy as np
import pytest

from tinn_dist.physics.colour import (
    ColourNetwork,
    colour_decomposition,
    gell_mann_t,
    gram_entry,
    parse_colour,
    structure_constants,
)
from tinn_dist.physics.diagram_generation import _colour_network, compile_process, compile_string
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import load_process


@pytest.fixture(scope="module")
def model():
    return load_sm_model(default_param_card(), 0.13)


def test_su3_algebra() -> None:
    t, f = gell_mann_t(), structure_constants()
    assert np.allclose(np.einsum("aij,bji->ab", t, t), np.eye(8) / 2, atol=1e-15)
    comm = np.einsum("aij,bjk->abik", t, t) - np.einsum("bij,ajk->abik", t, t)
    assert np.allclose(comm, 1j * np.einsum("abc,cik->abik", f, t), atol=1e-15)
    assert f[0, 1, 2] == pytest.approx(1.0)
    assert np.allclose(np.einsum("acd,bcd->ab", f, f), 3 * np.eye(8))   # C_A = Nc


def test_parse_colour_strings() -> None:
    assert parse_colour("1") == []
    assert parse_colour("T(3,2,1)") == [("T", (3, 2, 1))]
    assert parse_colour("f(-1,1,2)*f(3,4,-1)") == [("f", (-1, 1, 2)), ("f", (3, 4, -1))]
    with pytest.raises(ValueError, match="unsupported colour structure"):
        parse_colour("d(1,2,3)")


def flow(first: int, second: int) -> ColourNetwork:
    """(T^first T^second)_{i j} for gluons 0, 1, quark 2 (i), antiquark 3 (j)."""
    ext = lambda k: ("ext", k)
    return ColourNetwork((("T", (ext(first), ext(2), "k")), ("T", (ext(second), "k", ext(3)))),
                         ((0, 8), (1, 8), (2, 3), (3, 3)), 1.0)


def test_gg_to_quark_pair_colour_matrix() -> None:
    """The textbook matrix for the two colour flows of g g > Q Qbar: 16/3 on the diagonal, -2/3 off it."""
    a, b = flow(0, 1), flow(1, 0)
    assert gram_entry(a, a) == pytest.approx(16 / 3)
    assert gram_entry(b, b) == pytest.approx(16 / 3)
    assert gram_entry(a, b) == pytest.approx(-2 / 3)


def test_gg_to_tt_diagrams_in_the_flow_basis(model) -> None:
    compiled = compile_string("g g > t t~", model)
    assert np.allclose(compiled.color_matrix, [[16 / 3, -2 / 3], [-2 / 3, 16 / 3]])
    coeffs = sorted(tuple(np.round(d.color, 12)) for d in compiled.diagrams)
    # t- and u-channel are one flow each; the s-channel (3-gluon vertex) is i(flow1 - flow2) up to sign
    assert coeffs[0] == (0, 1) and coeffs[-1] == (1, 0)
    s = np.array(coeffs[1])
    assert abs(s[0]) == pytest.approx(1) and s[0] == pytest.approx(-s[1]) and s[0].real == 0


def test_quark_annihilation_into_top_pair(model) -> None:
    compiled = compile_string("u u~ > t t~", model)
    assert len(compiled.diagrams) == 1
    assert compiled.color_matrix == pytest.approx(np.array([[2.0]]))   # sum |T^a_ij T^a_kl|^2 = (Nc^2-1)/4 * 4 / 2
    assert compiled.diagrams[0].color == (1.0,)


def brute_force(networks, amplitudes) -> float:
    """sum over colours of |sum_d A_d c_d|^2 from the Gram entries of the diagrams' own networks."""
    n = len(networks)
    g = np.array([[gram_entry(networks[i], networks[j]) for j in range(n)] for i in range(n)])
    return float(np.real(np.conj(amplitudes) @ g @ amplitudes))


@pytest.mark.parametrize("name", ["tt", "wwuu", "tttt"])
def test_basis_reproduces_explicit_colour_sums(name: str, model) -> None:
    compiled = compile_process(load_process(name), model)
    networks = [_colour_network(d.amplitude, model) for d in compiled.diagrams]
    rng = np.random.default_rng(7)
    coeff = np.array([d.color for d in compiled.diagrams])
    g = compiled.color_matrix
    assert np.allclose(g, g.conj().T) and np.linalg.eigvalsh(g).min() > 0   # independent basis, Hermitian
    for _ in range(3):
        # random amplitudes on (at most) 24 random diagrams keep the explicit double sum small for tttt
        chosen = rng.permutation(len(networks))[:24]
        amps = np.zeros(len(networks), dtype=complex)
        amps[chosen] = rng.normal(size=len(chosen)) + 1j * rng.normal(size=len(chosen))
        j = coeff[chosen].T @ amps[chosen]
        explicit = brute_force([networks[i] for i in chosen], amps[chosen])
        assert float(np.real(np.conj(j) @ g @ j)) == pytest.approx(explicit, rel=1e-12)


def test_decomposition_groups_equal_and_dependent_structures() -> None:
    a, b = flow(0, 1), flow(1, 0)
    minus_a = ColourNetwork(a.tensors, a.external, -1.0)
    f_structure = ColourNetwork((("f", (("ext", 0), ("ext", 1), "c")), ("T", ("c", ("ext", 2), ("ext", 3)))),
                                a.external, 1.0)
    coeff, gram = colour_decomposition([a, b, a, minus_a, f_structure])
    assert gram.shape == (2, 2)                 # f T = -i (T^a T^b - T^b T^a) is not a new direction
    assert np.allclose(coeff[0], coeff[2]) and np.allclose(coeff[3], -coeff[0])
    assert np.allclose(coeff[4], -1j * (coeff[0] - coeff[1]))
