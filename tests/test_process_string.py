"""MadGraph process-string syntax: decay chains, orders, polarisations, and clear errors."""

from __future__ import annotations

import pytest

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.physics.process_string import OrderLimit, ParticleSpec, parse_process
from tinn_dist.physics.sm import load_sm_model
from tinn_dist.processes import load_process, process_names


@pytest.fixture(scope="module")
def model():
    return load_sm_model(default_param_card(), 0.13)


def flatten(spec) -> list[int]:
    """Final-state PDGs with decayed particles replaced by their products (MadGraph's legs_with_decays)."""
    out, pending = [], list(spec.decays)
    for p in spec.final:
        d = next((d for d in pending if d.initial[0].pdg == p.pdg), None)
        if d is None:
            out.append(p.pdg)
        else:
            pending.remove(d)
            out.extend(flatten(d))
    return out


@pytest.mark.parametrize("name", process_names())
def test_catalogue_strings_parse_to_catalogue_order(name: str, model) -> None:
    process = load_process(name)
    spec = parse_process(process.madgraph, model)
    assert tuple(p.pdg for p in spec.initial) + tuple(flatten(spec)) == process.external


def test_nested_decay_chain(model) -> None:
    spec = parse_process("g g > t t~, (t > b w+, w+ > u d~), (t~ > b~ w-, (w- > u~ d))", model)
    assert [p.pdg for p in spec.final] == [6, -6]
    top, antitop = spec.decays
    assert top.initial == (ParticleSpec(6),) and [p.pdg for p in top.final] == [5, 24]
    assert [p.pdg for p in top.decays[0].final] == [2, -1]
    assert [p.pdg for p in antitop.decays[0].final] == [-2, 1]


def test_comma_decays_orders_and_polarisation(model) -> None:
    spec = parse_process("u u > w+{0} W-{T} u u QCD=0 QED<=6, w+ > u d~, w- > u~ d", model)
    assert spec.final[0] == ParticleSpec(24, "0") and spec.final[1] == ParticleSpec(-24, "T")
    assert spec.orders == (OrderLimit("QCD", 0, False), OrderLimit("QED", 6, False))
    assert [d.initial[0].pdg for d in spec.decays] == [24, -24]
    assert parse_process("g g > t t~ QCD==2", model).orders == (OrderLimit("QCD", 2, True),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("g g > t tbar", r"unknown particle 'tbar'"),
        ("g g t t~", r"missing '>'"),
        ("g > t t~", r"expected two initial particles, got 1"),
        ("g g > t t~, (t > b w+", r"missing '\)'"),
        ("g g > t t~, t > b w+)", r"unbalanced '\)'"),
        ("g g > t t~, (t t~ > b b~)", r"exactly one decaying particle"),
        ("u u > w+{X} w- u u", r"polarisation \{X\} of 'w\+' is not supported"),
        ("g g > t t~ QFD=2", r"unknown coupling order 'QFD'"),
        ("g g > t t~ QCD=2 b", r"particle 'b' after the coupling orders"),
        ("g g >", r"empty final state"),
        ("g g > t t~ QCD=2 QCD=1", r"coupling order QCD given twice"),
    ],
)
def test_bad_strings_raise_naming_the_problem(text: str, message: str, model) -> None:
    with pytest.raises(TinnError, match=message) as info:
        parse_process(text, model)
    assert text in str(info.value)
