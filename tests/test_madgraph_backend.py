"""The madgraph backend on a stand-in ``matrix2py`` (tests/fake_matrix2py) with MadGraph's interface."""

from __future__ import annotations

import pickle
import shutil
import subprocess
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from tinn_dist.errors import TinnError
from tinn_dist.physics.madgraph import MadGraphMatrixElement
from tinn_dist.physics.matrix_element import BackendSpec, build_matrix_element, default_param_card
from tinn_dist.processes import load_process

FAKE = Path(__file__).resolve().parent / "fake_matrix2py" / "matrix2py.py"
FAKE_C = FAKE.with_suffix(".c")
MT = 173.0
# an allmatrix2py-style get_pdg_order (rows of leg PDG codes, zero-padded) for a process that is not tt
WRONG_PDG_ORDER = "\ndef get_pdg_order():\n    return np.array([[2, -2, 6, -6, 0, 0, 0, 0]]), np.array([1])\n"


def make_p1(root: Path, process: str, extra_source: str = "") -> Path:
    """A SubProcesses/P1_* folder as MadGraph writes it: nexternal.inc and the (stand-in) matrix2py."""
    p1 = root / f"P1_{process}"
    p1.mkdir(parents=True)
    n = load_process(process).n_external
    (p1 / "nexternal.inc").write_text(
        f"      INTEGER    NEXTERNAL\n      PARAMETER (NEXTERNAL={n})\n"
        "      INTEGER    NINCOMING\n      PARAMETER (NINCOMING=2)\n"
    )
    (p1 / "matrix2py.py").write_text(FAKE.read_text() + extra_source)
    return p1


def make_card(root: Path, top_mass: float = MT, ident: bool = True) -> Path:
    cards = root / "Cards"
    cards.mkdir(parents=True)
    card = cards / "param_card.dat"
    card.write_text(default_param_card().read_text().replace("1.730000e+02   # MT", f"{top_mass:.6e}   # MT"))
    if ident:
        (cards / "ident_card.dat").write_text("mass 6 mdl_MT\n")
    return card


def momenta(process: str, n_events: int = 6, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = load_process(process).n_external
    p = rng.normal(scale=50.0, size=(n_events, n, 4))
    p[:, :, 0] = np.linalg.norm(p[:, :, 1:], axis=2) + 10.0
    p[:, 0] = [[300.0, 0, 0, 300.0]] * n_events
    p[:, 1] = [[300.0, 0, 0, -300.0]] * n_events
    return p


def test_built_by_the_factory_and_evaluates_a_batch(tmp_path: Path) -> None:
    spec = BackendSpec(
        process="tt",
        backend="madgraph",
        madgraph_dir=str(make_p1(tmp_path, "tt")),
        param_card=str(make_card(tmp_path)),
    )
    me = build_matrix_element(spec)
    assert isinstance(me, MadGraphMatrixElement)
    values = me.m2(momenta("tt"))
    assert values.dtype == torch.float64 and values.shape == (6,) and (values > 0).all()
    np.testing.assert_array_equal(me.m2(torch.as_tensor(momenta("tt"))), values)
    swapped = momenta("tt")[:, [0, 1, 2, 4, 3, 5, 6, 7]]
    assert not torch.equal(me.m2(swapped), values)  # the value depends on the assignment


def test_two_modules_side_by_side_keep_their_own_state(tmp_path: Path) -> None:
    tt = MadGraphMatrixElement(load_process("tt"), make_p1(tmp_path / "a", "tt"), make_card(tmp_path / "a"))
    before = tt.m2(momenta("tt"))
    heavy = MadGraphMatrixElement(
        load_process("tt"), make_p1(tmp_path / "b", "tt"), make_card(tmp_path / "b", 180.0)
    )
    tttt = MadGraphMatrixElement(
        load_process("tttt"), make_p1(tmp_path / "c", "tttt"), make_card(tmp_path / "c")
    )
    assert tttt.m2(momenta("tttt")).shape == (6,)
    np.testing.assert_array_equal(tt.m2(momenta("tt")), before)  # not clobbered by the later modules
    # the stand-in's value is proportional to the card's MT^2: each module answers with its own card
    np.testing.assert_allclose(heavy.m2(momenta("tt")) / before, (180.0 / MT) ** 2, rtol=1e-14)


def test_zero_or_nan_matrix_element_names_the_event(tmp_path: Path) -> None:
    me = MadGraphMatrixElement(load_process("tt"), make_p1(tmp_path, "tt"), make_card(tmp_path))
    p = momenta("tt")
    p[3] = 0.0  # s = 0: the stand-in returns NaN, as MadGraph does for a degenerate point
    with (
        np.errstate(all="ignore"),
        pytest.raises(TinnError, match=r"tt: \|M\|\^2 of event 3 is nan; expected a positive"),
    ):
        me.m2(p)


def test_not_picklable_with_a_clear_message(tmp_path: Path) -> None:
    me = MadGraphMatrixElement(load_process("tt"), make_p1(tmp_path, "tt"), make_card(tmp_path))
    with pytest.raises(TypeError, match="ship a BackendSpec"):
        pickle.dumps(me)


def test_same_module_with_another_card_is_refused(tmp_path: Path) -> None:
    p1 = make_p1(tmp_path, "tt")
    first = MadGraphMatrixElement(load_process("tt"), p1, make_card(tmp_path / "x"))
    # the same card text (here a copy elsewhere) reuses the loaded module
    same = MadGraphMatrixElement(load_process("tt"), p1, make_card(tmp_path / "x2"))
    np.testing.assert_array_equal(same.m2(momenta("tt")), first.m2(momenta("tt")))
    with pytest.raises(TinnError, match="already initialised in this process with .*/x/Cards/param_card.dat"):
        MadGraphMatrixElement(load_process("tt"), p1, make_card(tmp_path / "y", 175.0))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing P1", "MadGraph P1 directory not found"),
        ("no module", "no matrix2py module"),
        ("no get_value", r"matrix2py has no get_value\(\)"),
        ("missing card", "param card not found"),
        ("no ident_card", "no ident_card.dat beside the param card"),
        ("wrong process", "NEXTERNAL=14, but process tt has 8 external legs"),
        ("wrong pdg order", r"get_pdg_order\(\) gives .* expected legs \[21, 21, 5, 2, -1, -5, -2, 1\]"),
    ],
)
def test_bad_setup_is_rejected_before_initialisemodel(tmp_path: Path, case: str, message: str) -> None:
    p1 = make_p1(
        tmp_path,
        "tttt" if case == "wrong process" else "tt",
        extra_source=WRONG_PDG_ORDER if case == "wrong pdg order" else "",
    )
    card = make_card(tmp_path, ident=case != "no ident_card")
    if case == "missing P1":
        shutil.rmtree(p1)
    elif case == "no module":
        (p1 / "matrix2py.py").unlink()
    elif case == "no get_value":
        (p1 / "matrix2py.py").write_text(FAKE.read_text().replace("def get_value(", "def get_other("))
    elif case == "missing card":
        card.unlink()
    # the stand-in raises RuntimeError if initialisemodel runs without ident_card.dat: a TinnError proves we
    # checked first (real MadGraph would have ended the whole process with status 0)
    with pytest.raises(TinnError, match=message):
        MadGraphMatrixElement(load_process("tt"), p1, card)


def test_matching_pdg_order_is_accepted(tmp_path: Path) -> None:
    p1 = make_p1(
        tmp_path,
        "tt",
        extra_source=WRONG_PDG_ORDER.replace(
            "[2, -2, 6, -6, 0, 0, 0, 0]", "[21, 21, 5, 2, -1, -5, -2, 1, 0, 0]"
        ),
    )
    me = MadGraphMatrixElement(load_process("tt"), p1, make_card(tmp_path))
    assert me.m2(momenta("tt")).shape == (6,)


def compiled_p1(root: Path, process: str) -> Path:
    """A P1 folder whose matrix2py is a compiled extension (tests/fake_matrix2py/matrix2py.c)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    include = Path(sysconfig.get_paths()["include"])
    if cc is None or not (include / "Python.h").is_file():
        pytest.skip("building the compiled matrix2py stand-in needs a C compiler and the Python headers")
    p1 = make_p1(root, process)
    (p1 / "matrix2py.py").unlink()
    n = load_process(process).n_external
    target = p1 / f"matrix2py{sysconfig.get_config_var('EXT_SUFFIX')}"
    cmd = [
        cc,
        "-shared",
        "-fPIC",
        "-O1",
        f"-I{include}",
        f"-DNEXTERNAL={n}",
        str(FAKE_C),
        "-o",
        str(target),
        "-lm",
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    return p1


def test_compiled_modules_load_side_by_side_with_their_own_globals(tmp_path: Path) -> None:
    """Two copies of one extension (same PyInit_matrix2py, same exported global) stay independent."""
    tt = load_process("tt")
    light = MadGraphMatrixElement(tt, compiled_p1(tmp_path / "a", "tt"), make_card(tmp_path / "a"))
    assert light.module_file.suffix == ".so"
    before = light.m2(momenta("tt"))
    heavy = MadGraphMatrixElement(tt, compiled_p1(tmp_path / "b", "tt"), make_card(tmp_path / "b", 180.0))
    np.testing.assert_array_equal(light.m2(momenta("tt")), before)
    np.testing.assert_allclose(heavy.m2(momenta("tt")) / before, (180.0 / MT) ** 2, rtol=1e-14)
    # same numbers as the pure-Python stand-in: the (4, N) Fortran-ordered p reaches get_value intact
    python = MadGraphMatrixElement(tt, make_p1(tmp_path / "c", "tt"), make_card(tmp_path / "c"))
    np.testing.assert_allclose(python.m2(momenta("tt")), before, rtol=1e-13)
