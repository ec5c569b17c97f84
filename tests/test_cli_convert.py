"""``tinn convert`` end to end: once as a user runs it (a subprocess), then through ``tinn_dist.cli.main``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinn_dist.cli import main
from tinn_dist.events.store import read_events


def test_convert_command_writes_a_readable_events_file(make_tt_lhe, tmp_path: Path) -> None:
    out = tmp_path / "events.parquet"
    args = ["convert", str(make_tt_lhe(8)), "--process", "tt", "-o", str(out), "--max-events", "5"]
    result = subprocess.run([sys.executable, "-m", "tinn_dist.cli", *args], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "wrote 5 tt events" in result.stderr
    events = read_events(out)
    assert len(events) == 5 and events.process == "tt" and set(events.source) == {"tt.lhe"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.parquet", "tt.lhe"]


def test_bad_input_gives_one_line_exit_2_and_no_output(make_tt_lhe, tmp_path: Path, capsys) -> None:
    def corrupt(events):
        events[3][8] = events[3][8].replace("e+", "x+", 1)

    out = tmp_path / "events.parquet"
    assert main(["convert", str(make_tt_lhe(6, edit=corrupt)), "--process", "tt", "-o", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinn: error: ")
    assert "tt.lhe: event 3: malformed event" in lines[0]
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["tt.lhe"]


def test_unknown_process_is_rejected(make_tt_lhe, tmp_path: Path, capsys) -> None:
    assert (
        main(["convert", str(make_tt_lhe(2)), "--process", "ttbar", "-o", str(tmp_path / "e.parquet")]) == 2
    )
    assert "unknown process 'ttbar'" in capsys.readouterr().err


@pytest.mark.reference
def test_convert_the_mcut_sample_as_wwuu(reference_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mcut.parquet"
    lhe = reference_dir / "lhe" / "wwuu_mcut_s1001.lhe.gz"
    assert main(["convert", str(lhe), "--process", "wwuu", "-o", str(out), "--max-events", "300"]) == 0
    events = read_events(out)
    assert len(events) == 300 and events.process == "wwuu"
    shat = events.momenta[:, 0, 0] + events.momenta[:, 1, 0]
    assert (shat >= 400.0 - 1e-6).all()  # generated with sqrt(s-hat) >= 400 GeV
    np.testing.assert_array_equal(events.event_index, np.arange(300))
