"""The SLHA param-card reader and the sm parameters derived from it (G_mu scheme)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tinn_dist.errors import TinnError
from tinn_dist.physics.matrix_element import default_param_card
from tinn_dist.physics.param_card import read_param_card
from tinn_dist.physics.sm import load_sm_model

CARD = """\
# a minimal card, written in lower case
block mass
    5 4.7e+00 # MB
    6 1.73e+02 # MT
   15 1.777 # MTA
   23 9.1188E+01 # MZ
   25 125 # MH
Block SMINPUTS
    1 1.325070e+02 # aEWM1
    2 1.166390e-05 # Gf
BLOCK Yukawa
    5 4.7 # ymb
    6 173 # ymt
   15 1.777 # ymtau
decay 6 1.4915 # WT
DECAY 23 2.441404
   0.5   2   11 -11   # a branching ratio line, ignored
DECAY 24 2.0476
DECAY 25 6.382339e-03
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "param_card.dat"
    path.write_text(text)
    return path


def test_default_card_gives_madgraph_sm_values() -> None:
    card = read_param_card(default_param_card())
    assert card.value("MASS", 6, "MT") == 173.0
    assert card.width(24, "WW") == 2.0476
    model = load_sm_model(default_param_card(), alphas=0.13)
    p = model.params
    assert p["MW"] == pytest.approx(80.419, abs=5e-4)             # MadGraph's derived W mass
    assert p["sw2"] == pytest.approx(1 - p["MW"] ** 2 / p["MZ"] ** 2, rel=1e-15)
    assert p["ee"] == pytest.approx(2 * math.sqrt(math.pi / 132.507), rel=1e-15)
    assert p["vev"] == pytest.approx(2 * p["MW"] * p["sw"] / p["ee"], rel=1e-15)
    assert p["yt"] == pytest.approx(173 * math.sqrt(2) / p["vev"], rel=1e-15)
    assert p["G"] == pytest.approx(2 * math.sqrt(0.13 * math.pi), rel=1e-15)
    assert p["ZERO"] == 0.0 and p["WT"] == 1.4915
    assert model.couplings["GC_11"] == pytest.approx(1j * p["G"], rel=1e-15)
    assert model.couplings["GC_100"] == pytest.approx(1j * p["ee"] / (p["sw"] * math.sqrt(2)), rel=1e-15)


def test_lower_case_card_and_branching_ratio_lines(tmp_path: Path) -> None:
    card = read_param_card(write(tmp_path, CARD))
    assert card.value("mass", 23, "MZ") == 91.188
    assert card.value("YUKAWA", 6, "ymt") == 173.0
    assert card.decays == {6: 1.4915, 23: 2.441404, 24: 2.0476, 25: 6.382339e-03}
    default = load_sm_model(default_param_card(), 0.13)
    model = load_sm_model(write(tmp_path, CARD), 0.13)
    assert model.params["MW"] == pytest.approx(default.params["MW"], rel=1e-15)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("   23 9.1188E+01 # MZ\n", ""), r"block MASS has no entry 23 \(MZ\)"),
        (lambda t: t.replace("DECAY 24 2.0476\n", ""), r"missing line 'DECAY 24 <width>' \(WW\)"),
        (lambda t: t.replace("BLOCK Yukawa", "BLOCK NOTYUKAWA"), r"missing block YUKAWA \(needed for ymb\)"),
        (lambda t: t.replace("1.166390e-05", "1.16x"), r":10: entry 2 '1.16x' is not a number"),
        (lambda t: t.replace("decay 6 1.4915", "decay top 1.4915"), r"DECAY particle 'top' is not a PDG code"),
        (lambda t: "hello world\n" + t, r":1: expected BLOCK, DECAY or a block entry"),
        (lambda t: t.replace("1.325070e+02", "-1"), r"aEWM1 must be positive"),
    ],
)
def test_bad_cards_name_file_and_field(tmp_path: Path, edit, message: str) -> None:
    path = write(tmp_path, edit(CARD))
    with pytest.raises(TinnError, match=message) as info:
        load_sm_model(path, 0.13)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_card_file(tmp_path: Path) -> None:
    with pytest.raises(TinnError, match="cannot read param card"):
        read_param_card(tmp_path / "nope.dat")
