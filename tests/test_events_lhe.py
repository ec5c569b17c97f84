"""LHE → EventSet: truth from the mother chain, c.m. boost, energy-ordered start, rejection of bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from tinn_dist.errors import TinnError
from tinn_dist.events.kinematics import invariant_mass, mass_squared
from tinn_dist.events.lhe import events_from_lhe, read_lhe
from tinn_dist.events.store import EventSet
from tinn_dist.events.truth import true_rows
from tinn_dist.processes import load_process

# (file stem in ../shared/reference/lhe, process to convert it as)
SAMPLES = [
    ("tt", "tt"),
    ("ttw", "ttw"),
    ("tttt", "tttt"),
    ("wwuu", "wwuu"),
    ("wwuu_LL", "wwuu_LL"),
    ("wwuu_LT", "wwuu_LT"),
    ("wwuu_TL", "wwuu_TL"),
    ("wwuu_TT", "wwuu_TT"),
    ("wwuu_mcut", "wwuu"),
]
_CONVERTED: dict[str, EventSet] = {}


def converted(reference_dir: Path, stem: str, process: str) -> EventSet:
    """Each reference sample is converted once per test session."""
    if stem not in _CONVERTED:
        _CONVERTED[stem] = events_from_lhe(
            reference_dir / "lhe" / f"{stem}_s1001.lhe.gz", load_process(process)
        )
    return _CONVERTED[stem]


# --- the shared MadGraph samples ----------------------------------------------------------------------


@pytest.mark.reference
@pytest.mark.parametrize(("stem", "process"), SAMPLES, ids=[s for s, _ in SAMPLES])
def test_every_sample_converts_with_true_pdg_order(reference_dir: Path, stem: str, process: str) -> None:
    events = converted(reference_dir, stem, process)
    proc = load_process(process)
    assert len(events) == {"tt": 20000, "ttw": 10000, "wwuu": 10000, "wwuu_mcut": 10000}.get(stem, 5000)
    assert events.momenta.shape[1:] == (proc.n_external, 4)
    np.testing.assert_array_equal(
        np.take_along_axis(events.pdg, events.true_perm, axis=1),
        np.broadcast_to(proc.external, events.pdg.shape),
    )
    np.testing.assert_array_equal(events.event_index, np.arange(len(events)))
    assert set(events.source) == {f"{stem}_s1001.lhe.gz"}
    assert "BLOCK MASS" in events.param_card and events.metadata["madgraph_process"][0].startswith(
        "generate "
    )


@pytest.mark.reference
@pytest.mark.parametrize("process", ["tt", "ttw", "tttt", "wwuu", "wwuu_LL", "wwuu_LT", "wwuu_TL", "wwuu_TT"])
def test_true_order_equals_madgraph_reference_events(reference_dir: Path, process: str) -> None:
    """The reference JSON's "event" points are the first LHE events in MadGraph order, c.m. frame."""
    events = converted(reference_dir, process, process)
    true = events.true_order_momenta()
    points = [
        p for p in json.loads((reference_dir / "me" / f"{process}.json").read_text()) if p["kind"] == "event"
    ]
    assert len(points) >= 100
    for point in points:
        assert point["pdg"] == list(load_process(process).external)
        ref = np.asarray(point["momenta"])
        ours = true[point["lhe_event_index"]]
        assert np.max(np.abs(ours - ref) / ref[:, :1]) < 1e-8, (process, point["lhe_event_index"])


@pytest.mark.reference
@pytest.mark.parametrize(
    ("stem", "process"), [("tt", "tt"), ("ttw", "ttw"), ("tttt", "tttt"), ("wwuu", "wwuu")]
)
def test_mother_chain_truth_agrees_with_madgraph_leg_order(
    reference_dir: Path, stem: str, process: str
) -> None:
    """MadGraph writes outgoing partons in its external leg order; the mother-chain truth must match it."""
    contents = read_lhe(reference_dir / "lhe" / f"{stem}_s1001.lhe.gz", max_events=2000)
    proc = load_process(process)
    for block in contents.blocks:
        rows = true_rows(proc, block.pdg, block.status, block.mother1)
        np.testing.assert_array_equal(rows[2:], np.nonzero(block.status == 1)[0])


def _peak(values: np.ndarray, lo: float, hi: float, width: float) -> float:
    counts, edges = np.histogram(values, bins=np.arange(lo, hi + width, width))
    i = int(np.argmax(counts))
    return 0.5 * (edges[i] + edges[i + 1])


@pytest.mark.reference
@pytest.mark.parametrize(
    ("stem", "process"), [("tt", "tt"), ("ttw", "ttw"), ("tttt", "tttt"), ("wwuu", "wwuu")]
)
def test_true_w_and_top_masses_peak_at_pole_masses(reference_dir: Path, stem: str, process: str) -> None:
    events = converted(reference_dir, stem, process)
    true = events.true_order_momenta()
    for res in load_process(process).resonances:
        mass = invariant_mass(true, res.slots)
        if abs(res.pdg) == 24:
            assert abs(_peak(mass, 60.0, 100.0, 0.5) - 80.4) <= 0.5, res.name
        else:
            assert abs(_peak(mass, 150.0, 196.0, 0.5) - 173.0) <= 0.5, res.name
    # the energy-ordered start is not the truth: its "W" (rows 3, 4 of the start) does not peak
    start_w = invariant_mass(events.momenta, load_process(process).resonances[1].slots)
    assert np.mean(np.abs(start_w - 80.4) < 2.0) < 0.5


@pytest.mark.reference
@pytest.mark.parametrize(("stem", "process"), [("tt", "tt"), ("tttt", "tttt"), ("wwuu", "wwuu")])
def test_cm_boost_keeps_every_invariant_mass(reference_dir: Path, stem: str, process: str) -> None:
    path = reference_dir / "lhe" / f"{stem}_s1001.lhe.gz"
    proc = load_process(process)
    block = read_lhe(path, max_events=500).blocks[0]
    lab = block.momenta[:, true_rows(proc, block.pdg, block.status, block.mother1)]
    cm = converted(reference_dir, stem, process).true_order_momenta()[block.event_index]
    shat = mass_squared(lab[:, 0] + lab[:, 1])
    n = proc.n_external
    for i in range(n):
        for j in range(i, n):
            np.testing.assert_allclose(
                mass_squared(cm[:, i] + cm[:, j]),
                mass_squared(lab[:, i] + lab[:, j]),
                rtol=0,
                atol=1e-9 * shat.max(),
            )
    total = cm[:, 0] + cm[:, 1]
    np.testing.assert_allclose(total[:, 0], np.sqrt(shat), rtol=1e-12)
    np.testing.assert_allclose(total[:, 1:], 0.0, atol=1e-9 * np.sqrt(shat.max()))
    assert (cm[:, :2, 1:3] == 0).all() and (cm[:, 0, 3] > 0).all() and (cm[:, 1, 3] < 0).all()


@pytest.mark.reference
def test_start_order_is_incoming_then_decreasing_energy(reference_dir: Path) -> None:
    events = converted(reference_dir, "ttw", "ttw")
    np.testing.assert_array_equal(events.true_perm[:, :2], np.broadcast_to([0, 1], (len(events), 2)))
    energies = events.momenta[:, 2:, 0]
    assert (np.diff(energies, axis=1) <= 0).all()
    np.testing.assert_array_equal(events.pdg[:, :2], np.broadcast_to([2, -1], (len(events), 2)))


# --- synthetic files: good and bad input --------------------------------------------------------------


def test_synthetic_tt_file_converts(make_tt_lhe) -> None:
    events = events_from_lhe(make_tt_lhe(6), load_process("tt"))
    assert len(events) == 6
    true = events.true_order_momenta()
    np.testing.assert_allclose(invariant_mass(true, [2, 3, 4]), 173.0, atol=1e-6)
    np.testing.assert_allclose(invariant_mass(true, [6, 7]), 80.4, atol=1e-6)
    assert events.metadata["madgraph_process"] == [
        "generate g g > t t~, (t > b w+, w+ > u d~), (t~ > b~ w-, w- > u~ d)"
    ]


def test_max_events_and_gzip(make_tt_lhe, tmp_path: Path) -> None:
    plain = make_tt_lhe(6)
    gz = tmp_path / "tt.lhe.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    a = events_from_lhe(plain, load_process("tt"))
    b = events_from_lhe(gz, load_process("tt"), max_events=4)
    assert len(b) == 4
    np.testing.assert_array_equal(a.momenta[:4], b.momenta)


def test_incoming_partons_take_the_process_order_when_the_record_lists_them_swapped() -> None:
    # a u d~ > t t~ W+ record written d~ first: slot 0 (u) must be record line 2
    pdg = [-1, 2, 6, 24, -6, -24, 24, 5, 2, -1, -5, -2, 1, 2, -1]
    status = [-1, -1, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]
    mother1 = [0, 0, 1, 3, 1, 5, 1, 3, 4, 4, 5, 6, 6, 7, 7]
    rows = true_rows(load_process("ttw"), np.array(pdg), np.array(status), np.array(mother1))
    np.testing.assert_array_equal(rows, [1, 0, 7, 8, 9, 10, 11, 12, 13, 14])


def _set_field(events, event: int, line: int, column: int, value: str) -> None:
    fields = events[event][line].split()
    fields[column] = value
    events[event][line] = " ".join(fields)


# name: (edit of the synthetic events, expected message); lines count as in the record (1 = first particle)
BAD_EDITS = {
    "nan momentum": (lambda ev: _set_field(ev, 2, 8, 6, "nan"), "event 2: momenta are not finite"),
    "negative energy": (
        lambda ev: _set_field(ev, 3, 9, 9, "-5.0"),
        "event 3: a particle has negative energy",
    ),
    "wrong flavour": (lambda ev: _set_field(ev, 1, 7, 0, "4"), "event 1: outgoing record"),
    "wrong mother": (lambda ev: _set_field(ev, 4, 8, 2, "5"), "event 4: outgoing record"),
    "missing mother": (lambda ev: _set_field(ev, 2, 8, 2, "40"), "event 2: line 8 points to mother line 40"),
    "three incoming": (lambda ev: _set_field(ev, 1, 7, 1, "-1"), "event 1: expected 2 incoming partons"),
    "malformed number": (lambda ev: _set_field(ev, 3, 5, 7, "1.2.3"), "event 3: malformed event"),
    "missing line": (lambda ev: ev[2].pop(), "event 2: 11 particle lines, expected 12"),
    "not conserved": (
        lambda ev: _set_field(ev, 4, 10, 6, "+1.0e+02"),
        "event 4: four-momentum is not conserved",
    ),
    "transverse beam": (
        lambda ev: _set_field(ev, 0, 1, 6, "+3.0e+00"),
        "event 0: incoming partons do not move",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_EDITS))
def test_bad_event_content_is_rejected_with_file_and_event(make_tt_lhe, case: str) -> None:
    edit, message = BAD_EDITS[case]
    path = make_tt_lhe(5, edit=edit)
    with pytest.raises(TinnError) as info:
        events_from_lhe(path, load_process("tt"))
    text = str(info.value)
    assert text.startswith(f"{path}: ") and message in text and "\n" not in text


def test_events_of_another_process_are_rejected(make_tt_lhe) -> None:
    with pytest.raises(
        TinnError, match=r"event 0: incoming partons \[21, 21\]; process ttw expects \[2, -1\]"
    ):
        events_from_lhe(make_tt_lhe(2), load_process("ttw"))
    with pytest.raises(TinnError, match=r"event 0: outgoing record .* does not match process tttt"):
        events_from_lhe(make_tt_lhe(2), load_process("tttt"))


def test_truncated_plain_file_is_rejected(make_tt_lhe, tmp_path: Path) -> None:
    text = make_tt_lhe(4).read_text()
    cut = tmp_path / "cut.lhe"
    cut.write_text(text[: text.index("<event>", text.index("<event>", text.index("<event>") + 1) + 1) + 300])
    with pytest.raises(TinnError, match=r"cut\.lhe: event 2: Parse Error.*truncated"):
        events_from_lhe(cut, load_process("tt"))
    unclosed = tmp_path / "unclosed.lhe"
    unclosed.write_text(text.replace("</LesHouchesEvents>\n", ""))
    with pytest.raises(TinnError, match=r"unclosed\.lhe: event 4: Parse Error"):
        events_from_lhe(unclosed, load_process("tt"))


def test_truncated_gzip_file_is_rejected(make_tt_lhe, tmp_path: Path) -> None:
    data = gzip.compress(make_tt_lhe(40).read_bytes())
    cut = tmp_path / "cut.lhe.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(TinnError, match=r"cut\.lhe\.gz: event \d+: file is truncated or corrupt"):
        events_from_lhe(cut, load_process("tt"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not xml\n", "not a readable LHE file"),
        ('<LesHouchesEvents version="3.0">\n<init>\n', "not a readable LHE file"),
    ],
)
def test_non_lhe_files_are_rejected(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "junk.lhe"
    path.write_text(content)
    with pytest.raises(TinnError, match=message):
        events_from_lhe(path, load_process("tt"))


def test_missing_file_empty_file_and_missing_param_card(make_tt_lhe, tmp_path: Path) -> None:
    with pytest.raises(TinnError, match="no such LHE file"):
        events_from_lhe(tmp_path / "absent.lhe", load_process("tt"))
    empty = tmp_path / "empty.lhe"
    empty.write_text(make_tt_lhe(1).read_text().split("<event>")[0] + "</LesHouchesEvents>\n")
    with pytest.raises(TinnError, match="no <event> blocks"):
        events_from_lhe(empty, load_process("tt"))
    no_card = tmp_path / "nocard.lhe"
    text = make_tt_lhe(1).read_text()
    no_card.write_text(text[: text.index("<slha>")] + text[text.index("</slha>") + len("</slha>\n") :])
    with pytest.raises(TinnError, match="no <slha> param card"):
        events_from_lhe(no_card, load_process("tt"))
