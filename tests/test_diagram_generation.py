"""Diagram generation with MadGraph semantics: counts, IDEN, resonances, orders, sharing, fermion signs."""

from __future__ import annotations

import dataclasses

import pytest

from tinn_dist.errors import TinnError
from tinn_dist.physics.diagram_generation import compile_process, compile_string
from tinn_dist.physics.diagrams import Amplitude, Current, ExternalLeg
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import load_process

# MadGraph 3.5.7's diagram counts and IDEN for the catalogue (../shared/reference/README.md)
EXPECTED = {
    "tt": (3, 256), "ttw": (2, 36), "tttt": (76, 1024), "wwuu": (102, 72),
    "wwuu_LL": (102, 72), "wwuu_LT": (102, 72), "wwuu_TL": (102, 72), "wwuu_TT": (102, 72),
}


@pytest.fixture(scope="module")
def model():
    return load_sm_model(default_param_card(), 0.13)


def nodes(node) -> list:
    """Every node below (and including) ``node`` or an Amplitude's inputs."""
    out = [node] if not isinstance(node, Amplitude) else []
    for child in getattr(node, "inputs", ()):
        out.extend(nodes(child))
    return out


def orders_of(diagram, model) -> dict[str, int]:
    total: dict[str, int] = {}
    vertices = [diagram.amplitude.vertex] + [n.vertex for n in nodes(diagram.amplitude) if isinstance(n, Current)]
    for v in vertices:
        for order, n in model.vertices[v].orders:
            total[order] = total.get(order, 0) + n
    return total


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_counts_denominator_and_leg_order(name: str, model) -> None:
    process = load_process(name)
    compiled = compile_process(process, model)
    assert (len(compiled.diagrams), compiled.denominator) == EXPECTED[name]
    assert tuple(leg.pdg for leg in compiled.legs) == process.external
    assert [leg.incoming for leg in compiled.legs] == [True, True] + [False] * process.n_final
    assert all(d.sign in (1, -1) for d in compiled.diagrams)
    assert compile_process(process, model) is compiled   # cached


@pytest.mark.parametrize("name", ["tt", "ttw", "tttt", "wwuu", "wwuu_TL"])
def test_every_diagram_has_the_catalogue_resonances(name: str, model) -> None:
    process = load_process(name)
    compiled = compile_process(process, model)
    for d in compiled.diagrams:
        propagators = {(n.legs, n.pdg) for n in nodes(d.amplitude) if isinstance(n, Current)}
        for res in process.resonances:
            assert (frozenset(res.slots), res.pdg) in propagators, (name, res.name)


def test_polarised_resonances_carry_their_polarisation(model) -> None:
    compiled = compile_process(load_process("wwuu_LT"), model)
    for d in compiled.diagrams:
        pol = {n.pdg: n.polarization for n in nodes(d.amplitude) if isinstance(n, Current) and abs(n.pdg) == 24
               and n.legs in (frozenset({2, 3}), frozenset({4, 5}))}
        assert pol == {24: "0", -24: "T"}
    unpolarised = compile_process(load_process("wwuu"), model)
    assert all(n.polarization is None for d in unpolarised.diagrams for n in nodes(d.amplitude)
               if isinstance(n, Current))


def test_coupling_orders(model) -> None:
    wwuu = compile_process(load_process("wwuu"), model)
    assert all(orders_of(d, model).get("QCD", 0) == 0 for d in wwuu.diagrams)
    # default orders: minimal WEIGHTED = QCD + 2 QED of the core (u d~ > t t~ w+ is QCD=2 QED=1)
    ttw_core = compile_string("u d~ > t t~ w+", model)
    assert len(ttw_core.diagrams) == 2
    assert all(orders_of(d, model) == {"QCD": 2, "QED": 1} for d in ttw_core.diagrams)
    # explicit orders lift the default: the electroweak diagrams come back
    both = compile_string("u d~ > t t~ w+ QCD<=2 QED<=3", model)
    assert len(both.diagrams) > 2
    assert {orders_of(d, model).get("QED", 0) for d in both.diagrams} == {1, 3}
    exact = compile_string("u d~ > t t~ w+ QED==3", model)
    assert all(orders_of(d, model).get("QED", 0) == 3 for d in exact.diagrams)
    assert len(exact.diagrams) == len(both.diagrams) - 2


def test_equal_subcurrents_are_shared(model) -> None:
    compiled = compile_process(load_process("tttt"), model)
    seen: dict[Current, Current] = {}
    uses = 0
    for d in compiled.diagrams:
        for n in nodes(d.amplitude):
            if isinstance(n, Current):
                uses += 1
                assert seen.setdefault(n, n) is n   # an equal current is the very same object
    assert len(seen) == len(compiled.currents) < uses
    # evaluation order: every current comes after its inputs
    position = {id(c): i for i, c in enumerate(compiled.currents)}
    for c in compiled.currents:
        assert all(position[id(n)] < position[id(c)] for n in c.inputs if isinstance(n, Current))


def test_gluon_fusion_into_top_pair(model) -> None:
    compiled = compile_string("g g > t t~", model)
    assert len(compiled.diagrams) == 3 and compiled.denominator == 256
    assert len({d.sign for d in compiled.diagrams}) == 1


def test_fermion_signs_bhabha(model) -> None:
    """e+ e- > e+ e-: s- and t-channel exchanges interfere with a relative minus sign (Fermi statistics)."""
    compiled = compile_string("e+ e- > e+ e-", model)
    assert len(compiled.diagrams) == 4   # photon and Z, s and t channel
    by_channel: dict[bool, set[int]] = {}
    for d in compiled.diagrams:
        internal = next(n for n in nodes(d.amplitude) if isinstance(n, Current))
        s_channel = internal.legs in (frozenset({0, 1}), frozenset({2, 3}))
        by_channel.setdefault(s_channel, set()).add(d.sign)
    assert len(by_channel[True]) == len(by_channel[False]) == 1
    assert by_channel[True] != by_channel[False]
    # e+ e- > mu+ mu-: only s-channel, one sign
    assert len({d.sign for d in compile_string("e+ e- > mu+ mu-", model).diagrams}) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("g g > t t~, (t > b w-)", r"decay t > b w-: no vertex of the model allows this decay"),
        ("g g > t t~, (z > e+ e-)", r"decay of 'z' has no matching particle to decay"),
        ("u u > w+{0} w- u u", r"polarised w\+\{0\} must decay"),
        ("e+ e- > u u", r"no tree diagrams in the model"),
        ("g g > t t~ QCD=1", r"no diagram satisfies the coupling orders"),
    ],
)
def test_impossible_processes_raise(text: str, message: str, model) -> None:
    with pytest.raises(TinnError, match=message):
        compile_string(text, model)


def test_catalogue_order_mismatch_is_an_error(model) -> None:
    process = load_process("tt")
    swapped = dataclasses.replace(process, name="tt_swapped", external=process.external[:2] + (-5,) +
                                  process.external[3:5] + (5,) + process.external[6:])
    with pytest.raises(TinnError, match="gives external order"):
        compile_process(swapped, model)


def test_external_legs_are_the_compiled_legs(model) -> None:
    compiled = compile_process(load_process("ttw"), model)
    for d in compiled.diagrams:
        leaves = [n for n in nodes(d.amplitude) if isinstance(n, ExternalLeg)]
        assert sorted(leg.index for leg in leaves) == list(range(len(compiled.legs)))
        assert all(leg is compiled.legs[leg.index] or leg == compiled.legs[leg.index] for leg in leaves)
