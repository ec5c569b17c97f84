"""PDFs: the LHAPDF5 and LHAPDF6 readers against MadGraph's NNPDF2.3 LO grid, the built-in CTEQ5L set's sum rules
and its agreement with that grid, and alpha_s against MadGraph's event records."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import yaml

from tinn_dist.errors import TinnError
from tinn_dist.events.pdf import CTEQ5L, load_pdf, read_lhapdf6, read_lhgrid

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
GRID = REFERENCE / "pdf" / "NNPDF23_lo_as_0130_qed_mem0.grid"
needs_grid = pytest.mark.skipif(not GRID.is_file(), reason=f"MadGraph reference PDF grid not found at {GRID}")
FLAVOURS = (21, 1, 2, 3, 4, 5, -1, -2, -3, -4, -5)


@pytest.fixture(scope="module")
def nnpdf():
    return read_lhgrid(GRID)


def _integrate(f, lo: float, n: int = 8001):
    x = np.logspace(np.log10(lo), 0.0, n)[:-1]
    return np.trapezoid(f(x), x)


def _sum_rules(pdf, q: float, lo: float) -> tuple[float, float, float]:
    q2 = q * q
    momentum = _integrate(lambda x: sum(pdf.xfxQ2(p, x, q2) for p in FLAVOURS), lo)
    u_val = _integrate(lambda x: (pdf.xfxQ2(2, x, q2) - pdf.xfxQ2(-2, x, q2)) / x, lo)
    d_val = _integrate(lambda x: (pdf.xfxQ2(1, x, q2) - pdf.xfxQ2(-1, x, q2)) / x, lo)
    return momentum, u_val, d_val


@needs_grid
def test_lhgrid_reproduces_its_knots(nnpdf):
    # The grid's data rows, read independently: 14 columns (-6..6, photon), x outer, Q^2 inner.
    rows = [line.split() for line in GRID.read_text().splitlines() if len(line.split()) == 14]
    grid = nnpdf.subgrids[0]
    nq = len(grid.lq2)
    assert len(rows) == len(grid.lx) * nq == 6000
    for ix, iq in ((0, 0), (37, 11), (50, 30), (80, 59), (98, 45)):
        row = np.array(rows[ix * nq + iq], dtype=float)
        x = np.exp(grid.lx[ix])
        q2 = np.exp(grid.lq2[iq])
        for column, pid in ((6, 21), (8, 2), (4, -2), (7, 1), (11, 5)):
            got = float(nnpdf.xfxQ2(pid, np.array([x]), np.array([q2]))[0])
            assert got == pytest.approx(row[column], rel=1e-12, abs=1e-15)


@needs_grid
@pytest.mark.parametrize("q", [10.0, 100.0])
def test_lhgrid_interpolation_keeps_sum_rules(nnpdf, q):
    # Between knots the log-bicubic interpolation must keep the set's sum rules (photon and top ignored).
    momentum, u_val, d_val = _sum_rules(nnpdf, q, 1e-8)
    assert momentum == pytest.approx(1.0, abs=0.005)
    assert u_val == pytest.approx(2.0, abs=0.01)
    assert d_val == pytest.approx(1.0, abs=0.01)


def _write_lhapdf6(set_dir: Path, nnpdf, blocks: list[slice]) -> None:
    """Write member 0 of ``nnpdf`` as an LHAPDF6 set: one '---' block per Q^2 knot range (Q knots, not Q^2;
    x outer, Q inner; blocks share their boundary knot, as LHAPDF6 flavour-threshold blocks do)."""
    grid = nnpdf.subgrids[0]
    pids = [-5, -4, -3, -2, -1, 21, 1, 2, 3, 4, 5]
    xs, qs = np.exp(grid.lx), np.sqrt(np.exp(grid.lq2))
    set_dir.mkdir()
    text = "PdfType: central\nFormat: lhagrid1\n---\n"
    for block in blocks:
        values = np.stack([grid.xf[p][:, block] for p in pids], axis=-1).reshape(-1, len(pids))
        text += " ".join(f"{x:.17e}" for x in xs) + "\n" + " ".join(f"{q:.17e}" for q in qs[block]) + "\n"
        text += " ".join(str(p) for p in pids) + "\n"
        text += "\n".join(" ".join(f"{v:.17e}" for v in row) for row in values) + "\n---\n"
    (set_dir / f"{set_dir.name}_0000.dat").write_text(text)
    (set_dir / f"{set_dir.name}.info").write_text(
        yaml.safe_dump({"SetDesc": "test", "NumMembers": 1, "AlphaS_MZ": 0.130, "AlphaS_OrderQCD": 1})
    )


@needs_grid
def test_lhapdf6_reader_agrees_with_lhgrid(nnpdf, tmp_path, monkeypatch):
    _write_lhapdf6(tmp_path / "NNPDFtest", nnpdf, [slice(None)])
    monkeypatch.setenv("LHAPDF_DATA_PATH", str(tmp_path))
    six = load_pdf("NNPDFtest")
    assert six.name == "NNPDFtest"
    rng = np.random.default_rng(7)
    x = 10 ** rng.uniform(-5, -0.05, 500)
    q2 = 10 ** rng.uniform(1, 7, 500)
    for pid in (21, 2, -1, 5):
        np.testing.assert_allclose(six.xfxQ2(pid, x, q2), nnpdf.xfxQ2(pid, x, q2), rtol=1e-10)
    np.testing.assert_allclose(six.alphas_q2(q2), nnpdf.alphas_q2(q2), rtol=1e-12)
    assert six.xfxQ2(22, x, q2).max() == 0.0  # a parton the set does not hold


@needs_grid
def test_lhapdf6_subgrids_are_chosen_by_q(nnpdf, tmp_path):
    # Two blocks split at Q^2 knot 30: every knot of either block is reproduced exactly.
    _write_lhapdf6(tmp_path / "Split", nnpdf, [slice(0, 31), slice(30, None)])
    split = read_lhapdf6(tmp_path / "Split")
    assert len(split.subgrids) == 2
    grid = nnpdf.subgrids[0]
    ix = np.arange(0, 99, 7)
    for iq in (0, 12, 29, 31, 45, 59):
        x = np.exp(grid.lx[ix])
        q2 = np.full_like(x, np.exp(grid.lq2[iq]))
        np.testing.assert_allclose(split.xfxQ2(21, x, q2), grid.xf[21][ix, iq], rtol=1e-12)


@pytest.mark.parametrize("q", [10.0, 100.0, 1000.0])
def test_cteq5l_momentum_sum_rule(q):
    momentum, _, _ = _sum_rules(CTEQ5L(), q, 1e-6)
    assert momentum == pytest.approx(1.0, abs=0.005)


def test_cteq5l_valence_sum_rules():
    # The parametrisation is accurate where valence quarks live; below x ~ 1e-4 u - ubar is not resolved.
    _, u_val, d_val = _sum_rules(CTEQ5L(), 100.0, 1e-4)
    assert u_val == pytest.approx(2.0, abs=0.1)
    assert d_val == pytest.approx(1.0, abs=0.1)


@needs_grid
def test_cteq5l_close_to_nnpdf23_lo_where_tops_are_made(nnpdf):
    # Two LO fits of different data agree to ~10-20% at x ~ 0.01-0.1, Q ~ mt (the gg -> tt region).
    x = np.array([0.01, 0.03, 0.05, 0.1])
    q2 = np.full_like(x, 173.0**2)
    cteq = CTEQ5L()
    for pid in (21, 2, 1):
        np.testing.assert_allclose(cteq.xfxQ2(pid, x, q2), nnpdf.xfxQ2(pid, x, q2), rtol=0.15)
    assert cteq.alphas_q2(91.188**2) == pytest.approx(0.127)


@needs_grid
def test_alphas_matches_madgraph_event_records(nnpdf):
    # MadGraph's tt sample (nn23lo1): AQCDUP = alpha_s(SCALUP), two-loop running from alpha_s(MZ) = 0.130. In a
    # few events with a far off-shell top MadGraph's renormalisation scale differs slightly from SCALUP (up to
    # 0.35% in alpha_s); the bulk agrees to 1e-4.
    scales, aqcd = [], []
    with gzip.open(REFERENCE / "lhe" / "tt_s1001.lhe.gz", "rt") as f:
        take = False
        for line in f:
            if take:
                fields = line.split()
                scales.append(float(fields[3]))
                aqcd.append(float(fields[5]))
                if len(scales) == 300:
                    break
            take = line.startswith("<event>")
    ratio = nnpdf.alphas_q2(np.array(scales) ** 2) / np.array(aqcd) - 1.0
    assert np.median(np.abs(ratio)) < 3e-4
    assert np.abs(ratio).max() < 5e-3


def test_unknown_pdf_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("LHAPDF_DATA_PATH", str(tmp_path))
    with pytest.raises(TinnError, match="PDF 'NoSuchSet' not found"):
        load_pdf("NoSuchSet")
    bad = tmp_path / "bad.LHgrid"
    bad.write_text("'Version' '5.8'\nnothing else\n")
    with pytest.raises(TinnError, match="bad.LHgrid"):
        load_pdf(bad)
