"""The built-in generator: MadGraph's scale choice, decay-level agreement with MadGraph's tt sample (KS tests),
the cross section with MadGraph's PDF, and `tinn generate` end to end (Parquet + LHE, bad options)."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import numpy as np
import pylhe
import pytest
import torch
from scipy.stats import ks_2samp

from tinn_dist.cli import main
from tinn_dist.events.generator import ALPHAS_REF, GEV2_TO_PB, EventGenerator, GeneratorConfig, dynamic_scale
from tinn_dist.events.lhe import events_from_lhe
from tinn_dist.events.pdf import CTEQ5L
from tinn_dist.events.store import read_events
from tinn_dist.events.validation import decay_observables
from tinn_dist.physics.matrix_element import MatrixElement
from tinn_dist.processes import Process, load_process

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
TT_LHE = REFERENCE / "lhe" / "tt_s1001.lhe.gz"
GRID = REFERENCE / "pdf" / "NNPDF23_lo_as_0130_qed_mem0.grid"
needs_reference = pytest.mark.skipif(
    not (TT_LHE.is_file() and GRID.is_file()), reason=f"MadGraph reference data not found under {REFERENCE}"
)
MADGRAPH_TT_PB = 44.55
N_KS = 4000


@pytest.fixture(scope="session")
def tt_madgraph():
    return events_from_lhe(TT_LHE, load_process("tt"), max_events=N_KS).true_order_momenta()


@pytest.fixture(scope="session")
def tt_generated():
    """tt events with MadGraph's own PDF (nn23lo1), so that production-level numbers are comparable too."""
    config = GeneratorConfig("tt", pdf=str(GRID), vegas_iterations=5, vegas_evals=10000, calibration=20000)
    return EventGenerator(config, seed=11).generate(N_KS, progress=False)


MT = 173.0
ON_SHELL_TT = Process("gg_tt_onshell", "gg -> t tbar, stable tops", "g g > t t~", (21, 21, 6, -6), (), ())


def _gg_tt(s: np.ndarray, tau1: np.ndarray, tau2: np.ndarray, alphas) -> np.ndarray:
    """Spin/colour-averaged |M|^2(gg -> Q Qbar), Ellis-Stirling-Webber eq. (10.12); tau_i = 2 p_i.p_Q / s."""
    rho = 4 * MT * MT / s
    g4 = (4 * math.pi * alphas) ** 2
    return g4 * (1 / (6 * tau1 * tau2) - 3 / 8) * (tau1**2 + tau2**2 + rho - rho**2 / (4 * tau1 * tau2))


class OnShellTopPairs(MatrixElement):
    """The textbook LO gg -> t tbar matrix element: an exact, independent reference for the integrator."""

    def __init__(self) -> None:
        self.process = ON_SHELL_TT
        self.alphas = ALPHAS_REF

    def _m2(self, p: torch.Tensor) -> torch.Tensor:
        def dot(a, b):
            return a[:, 0] * b[:, 0] - (a[:, 1:] * b[:, 1:]).sum(-1)

        s = dot(p[:, 0] + p[:, 1], p[:, 0] + p[:, 1])
        return _gg_tt(s, 2 * dot(p[:, 0], p[:, 2]) / s, 2 * dot(p[:, 1], p[:, 2]) / s, self.alphas)


def _quadrature_sigma(pdf, sqrt_s: float) -> float:
    """sigma(pp -> gg -> t tbar) by Gauss-Legendre quadrature in (ln tau, y, cos theta), scale max(mT) = mT."""
    nodes = {n: np.polynomial.legendre.leggauss(n) for n in (48, 40, 32)}

    def rescale(n, lo, hi):
        x, w = nodes[n]
        return 0.5 * (hi - lo) * x + 0.5 * (hi + lo), 0.5 * (hi - lo) * w

    S = sqrt_s**2
    lt, wlt = rescale(48, math.log(4 * MT * MT / S), 0.0)
    total = 0.0
    for lti, wi in zip(lt, wlt):
        tau = math.exp(lti)
        y, wy = rescale(40, 0.5 * lti, -0.5 * lti)
        c, wc = rescale(32, -1.0, 1.0)
        yy, cc = np.meshgrid(y, c, indexing="ij")
        s_hat = tau * S
        beta = math.sqrt(1 - 4 * MT * MT / s_hat)
        q2 = MT * MT + 0.25 * s_hat * beta**2 * (1 - cc**2)
        x1, x2 = math.sqrt(tau) * np.exp(yy), math.sqrt(tau) * np.exp(-yy)
        lum = pdf.xfxQ2(21, x1, q2) * pdf.xfxQ2(21, x2, q2) / (x1 * x2)
        m2 = _gg_tt(s_hat, 0.5 * (1 - beta * cc), 0.5 * (1 + beta * cc), pdf.alphas_q2(q2))
        dsig = lum * m2 * beta / (32 * math.pi * s_hat) * GEV2_TO_PB
        total += wi * tau * float(np.einsum("i,j,ij->", wy, wc, dsig))
    return total


def test_cross_section_normalisation_against_quadrature():
    # PDFs, flux, tau/y mapping, phase-space weight, alpha_s rescaling and VEGAS sampling together.
    config = GeneratorConfig("gg_tt_onshell", vegas_iterations=5, vegas_evals=8000, calibration=8000)
    generator = EventGenerator(config, seed=2, process=ON_SHELL_TT, matrix_element=OnShellTopPairs(), qcd_order=2)
    stats = generator.generate(500, progress=False).stats
    exact = _quadrature_sigma(CTEQ5L(), 13000.0)
    assert stats["cross_section_error_pb"] < 0.005 * exact
    assert abs(stats["cross_section_pb"] - exact) < 4 * stats["cross_section_error_pb"]


@pytest.mark.parametrize(("name", "order"), [("tt", 2), ("ttw", 2), ("wwuu", 0)])
def test_qcd_order_read_from_the_engine(name, order):
    assert EventGenerator(GeneratorConfig(name), seed=0).qcd_order == order


@needs_reference
def test_dynamic_scale_reproduces_madgraph_scalup():
    scales, tops = [], []
    for i, event in enumerate(pylhe.LHEFile.fromfile(TT_LHE).events):
        if i == 300:
            break
        scales.append(event.eventinfo.scale)
        tops.append([[p.e, p.px, p.py, p.pz] for p in event.particles if abs(p.id) == 6])
    tops = np.array(tops)
    np.testing.assert_allclose(dynamic_scale([tops[:, 0], tops[:, 1]]), scales, rtol=1e-6)


@needs_reference
@pytest.mark.parametrize(
    "observable", ["m_t", "m_tbar", "m_W+", "m_W-", "cos_t", "cos_tbar", "cos_W+", "cos_W-"]
)
def test_decay_observables_match_madgraph(tt_generated, tt_madgraph, observable):
    tt = load_process("tt")
    ours = decay_observables(tt, tt_generated.momenta)[observable]
    theirs = decay_observables(tt, tt_madgraph)[observable]
    assert ks_2samp(ours, theirs).pvalue > 0.01


@needs_reference
def test_cross_section_with_madgraphs_pdf(tt_generated):
    stats = tt_generated.stats
    assert stats["cross_section_error_pb"] < 0.01 * stats["cross_section_pb"]
    assert stats["cross_section_pb"] == pytest.approx(MADGRAPH_TT_PB, rel=0.02)
    assert 0.0 <= stats["overweight_fraction"] < 0.01
    assert 0.0 < stats["unweighting_efficiency"] <= 1.0


@needs_reference
def test_events_are_physical(tt_generated):
    p = tt_generated.momenta
    np.testing.assert_allclose(p[:, :2].sum(axis=1), p[:, 2:].sum(axis=1), atol=1e-8)
    np.testing.assert_allclose(tt_generated.x1 * tt_generated.x2 * 13000.0**2, 4 * p[:, 0, 0] * p[:, 1, 0], rtol=1e-9)


def _colour_balanced(particles) -> bool:
    """Every colour tag of an LHE event is carried in once and out once (incoming colour = outgoing colour or
    incoming anticolour, etc.), counting final-state (status 1) and incoming (status -1) lines."""
    ends: dict[int, int] = {}
    for p in particles:
        if p.status == 2:
            continue
        sign = 1 if p.status == -1 else -1
        for tag, side in ((int(p.color1), 1), (int(p.color2), -1)):
            if tag:
                ends[tag] = ends.get(tag, 0) + sign * side
    return all(v == 0 for v in ends.values())


def test_generate_command_writes_parquet_and_lhe(tmp_path, capsys):
    out, lhe = tmp_path / "tt.parquet", tmp_path / "tt.lhe.gz"
    rc = main(["generate", "--process", "tt", "--events", "150", "--seed", "3", "-o", str(out), "--lhe", str(lhe)])
    assert rc == 0
    assert "wrote 150 tt events" in capsys.readouterr().err
    events = read_events(out)
    tt = load_process("tt")
    assert len(events) == 150 and events.process == "tt"
    assert (events.pdg[:, :2] == 21).all()
    assert (np.diff(events.momenta[:, 2:, 0], axis=1) <= 0).all()  # stored order: decreasing energy
    true = events.true_order_momenta()
    masses = decay_observables(tt, true)
    assert (np.abs(masses["m_t"] - 173.0) < 15 * 1.4915 + 1e-6).all()
    assert (np.abs(masses["m_W+"] - 80.419) < 15 * 2.0476 + 1e-3).all()
    assert events.metadata["cross_section_pb"] > 0 and events.metadata["pdf"] == "CTEQ5L"

    # The LHE file: standard <init>, status-2 mother lines for t and W, balanced colour, same events.
    lhef = pylhe.LHEFile.fromfile(lhe)
    assert (lhef.init.initInfo.beamA, lhef.init.initInfo.energyA) == (2212, 6500.0)
    assert lhef.init.procInfo[0].xSection == pytest.approx(events.metadata["cross_section_pb"])
    for event in lhef.events:
        status = {p.id: p.status for p in event.particles}
        assert status[6] == status[-6] == status[24] == status[-24] == 2
        assert _colour_balanced(event.particles)
    back = events_from_lhe(lhe, tt)  # what `tinn convert` makes of it
    np.testing.assert_allclose(back.true_order_momenta(), true, atol=1e-5)
    np.testing.assert_array_equal(back.true_perm, events.true_perm)
    with gzip.open(lhe, "rt") as f:
        assert "<slha>" in f.read(4000)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--process", "nosuch", "--events", "10"], "unknown process 'nosuch'"),
        (["--process", "tt", "--events", "0"], "--events must be >= 1"),
        (["--process", "tt", "--events", "5", "--seed", "-3"], "--seed must be >= 0"),
        (["--process", "tt", "--events", "5", "--pdf", "NoSuchSet"], "PDF 'NoSuchSet' not found"),
        (["--process", "tt", "--events", "10", "--sqrt-s", "300"], "below the tt threshold"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path, capsys, argv, message):
    out = tmp_path / "x.parquet"
    assert main(["generate", *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinn: error: ") and message in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_is_a_clear_error(tmp_path, capsys):
    assert main(["generate", "--process", "tt", "--events", "5", "-o", str(tmp_path / "missing" / "x.parquet")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["generate", "--process", "tt", "--events", "5", "-o", str(tmp_path / "x.parquet"),
                 "--lhe", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
