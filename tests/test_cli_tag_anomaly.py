"""`tinn tag`, `tinn anomaly` and `tinn explain` end to end on a few events of the shared MadGraph samples,
with an untrained agent's checkpoint (a real network at initialisation) where a command needs one."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from rl_support import needs_builtin, tt_events

from tinn_dist.cli import main
from tinn_dist.events.store import EventSet, write_events
from tinn_dist.processes import load_process
from tinn_dist.rl.builder import build_qnet
from tinn_dist.rl.checkpoint import save_checkpoint
from tinn_dist.rl.config import config_from_dict

LHE_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "lhe"
POLS = ("LL", "LT", "TL", "TT")

pytestmark = needs_builtin


@functools.cache
def _shared(name: str, process: str, n: int) -> EventSet:
    from tinn_dist.events.lhe import events_from_lhe

    path = LHE_DIR / f"{name}_s1001.lhe.gz"
    if not path.is_file():
        pytest.skip(f"shared sample {path} not found (needs ../shared/reference)")
    return events_from_lhe(path, load_process(process), max_events=n)


def _write(tmp_path: Path, name: str, events: EventSet) -> Path:
    path = tmp_path / f"{name}.parquet"
    write_events(path, events)
    return path


def _untrained_agent(tmp_path: Path, process: str) -> Path:
    """A run directory whose checkpoint holds a freshly initialised policy of ``process``."""
    cfg = config_from_dict(
        {"process": process, "qnet": {"d_model": 16, "n_layers": 1, "n_heads": 2, "ff_dim": 16, "hidden": 16}}
    )
    run = tmp_path / f"run_{process}"
    run.mkdir()
    save_checkpoint(run, {"config": cfg.to_dict(), "learner": {"policy": build_qnet(cfg).state_dict()}})
    return run


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinn: error: ")
    return err[0]


@pytest.fixture
def polarised_files(tmp_path: Path) -> list[Path]:
    torch.set_num_threads(1)
    return [_write(tmp_path, f"wwuu_{p}", _shared(f"wwuu_{p}", f"wwuu_{p}", 8)) for p in POLS]


def test_tag_true_and_learned_assignment(tmp_path: Path, polarised_files: list[Path], capsys) -> None:
    out = tmp_path / "tag"
    events = [str(p) for p in polarised_files]
    assert main(["tag", "--true-assignment", "--events", *events, "--out", str(out)]) == 0
    result = json.loads((out / "tag.json").read_text())
    assert set(result["auc"]) == {"true"} and result["n_events"] == dict.fromkeys(POLS, 8)
    assert all(0.0 <= v <= 1.0 for v in result["auc"]["true"].values())
    for png in ("roc_LL_vs_rest.png", "roc_LL_vs_TT.png", "w_masses.png"):
        assert (out / png).stat().st_size > 1000

    run = _untrained_agent(tmp_path, "wwuu")
    out2 = tmp_path / "tag2"
    argv = ["tag", "--checkpoint", str(run), "--events", *events, "--out", str(out2), "--max-events", "5"]
    assert main(argv) == 0
    result2 = json.loads((out2 / "tag.json").read_text())
    assert set(result2["auc"]) == {"true", "learned"} and result2["n_events"]["TT"] == 5
    assert set(result2["auc"]["learned"]) == {"LL_vs_rest", "LL_vs_TT"}
    assert 0.0 <= result2["learned_truth_match"] <= 1.0
    out3 = tmp_path / "tag3"
    argv = ["tag", "--checkpoint", str(run), "--events", *events, "--out", str(out3), "--max-events", "2", "--ceiling"]
    assert main(argv) == 0
    result3 = json.loads((out3 / "tag.json").read_text())
    assert set(result3["auc"]) == {"true", "learned", "ceiling", "marginal", "bound"}
    assert 0.0 <= result3["ceiling_truth_match"] <= 1.0
    out4 = tmp_path / "tag4"
    argv = ["tag", "--checkpoint", str(run), "--events", *events, "--out", str(out4), "--max-events", "3"]
    assert main([*argv, "--beam", "2", "--candidates", "3"]) == 0
    result4 = json.loads((out4 / "tag.json").read_text())
    assert set(result4["auc"]) == {"true", "learned", "learned_sum"}
    assert result4["learned_by"] == {"beam": 2, "candidates": 3} and result2["learned_by"] == "greedy"

    # wrong order of the samples, an agent of another process, a missing file: one-line errors, no tag.json
    capsys.readouterr()
    bad = tmp_path / "bad"
    swapped = [events[1], events[0], *events[2:]]
    assert main(["tag", "--true-assignment", "--events", *swapped, "--out", str(bad)]) == 2
    assert "LL sample of --events" in _error(capsys) and not (bad / "tag.json").exists()
    tt_run = _untrained_agent(tmp_path, "tt")
    assert main(["tag", "--checkpoint", str(tt_run), "--events", *events, "--out", str(bad)]) == 2
    assert "events are of process 'wwuu_LL'; expected 'tt'" in _error(capsys)
    missing = [str(tmp_path / "nope.parquet"), *events[1:]]
    assert main(["tag", "--true-assignment", "--events", *missing, "--out", str(bad)]) == 2
    assert "nope.parquet: no such events file" in _error(capsys)
    assert main(["tag", "--true-assignment", "--ceiling", "--events", *events, "--out", str(bad)]) == 2
    assert "--ceiling needs --checkpoint" in _error(capsys)
    assert main(["tag", "--checkpoint", str(run), "--candidates", "4", "--events", *events, "--out", str(bad)]) == 2
    assert "--candidates needs --beam" in _error(capsys)


def test_anomaly_command(tmp_path: Path, capsys) -> None:
    torch.set_num_threads(1)
    background = _write(tmp_path, "tt", tt_events(60))
    signal = _write(tmp_path, "wwuu", _shared("wwuu_mcut", "wwuu", 20))
    run = _untrained_agent(tmp_path, "tt")
    out = tmp_path / "anomaly"
    argv = ["anomaly", "--checkpoint", str(run), "--background", str(background), "--signal", str(signal)]
    opts = ["--mass-window", "400", "700", "--n-events", "20", "--ae-epochs", "3", "--out", str(out)]
    assert main(argv + opts) == 0
    result = json.loads((out / "anomaly.json").read_text())
    assert result["n_signal"] == 20 and result["n_background"] == 20
    assert set(result["methods"]) == {"learned", "ceiling", "start", "autoencoder"}
    assert 0 < result["autoencoder"]["train_events"] <= 40 and result["autoencoder"]["epochs"] == 3
    # the exhaustive ME argmax separates VBF WW from tt almost perfectly (MadGraph study: AUC 0.99)
    assert result["methods"]["ceiling"]["auc"] > 0.85
    assert result["methods"]["ceiling"]["auc"] > result["methods"]["start"]["auc"]
    for png in ("roc.png", "rejection.png", "autoencoder_loss.png"):
        assert (out / png).stat().st_size > 1000

    capsys.readouterr()
    bad = tmp_path / "bad"
    window = ["--mass-window", "5000", "6000", "--out", str(bad)]
    assert main(argv + window) == 2
    assert "none of its 60 events has a final-state mass in [5000, 6000] GeV" in _error(capsys)
    swapped = ["anomaly", "--checkpoint", str(run), "--background", str(signal), "--signal", str(background)]
    assert main(swapped + opts) == 2
    assert "events are of process 'wwuu'; the agent" in _error(capsys)
    ttw = load_process("ttw")
    ten_legs = EventSet.from_true_order(
        ttw, np.random.default_rng(0).uniform(1, 100, (3, 10, 4)), np.ones(3), np.full(3, "x"), np.arange(3)
    )
    wrong_n = ["--signal", str(_write(tmp_path, "ttw", ten_legs))]
    assert main(argv[:-2] + wrong_n + opts) == 2
    assert "events have 10 partons; the tt agent assigns 8" in _error(capsys)
    assert not (bad / "anomaly.json").exists()


def test_explain_one_event(tmp_path: Path, capsys) -> None:
    torch.set_num_threads(1)
    data = _write(tmp_path, "tt", tt_events(5))
    run = _untrained_agent(tmp_path, "tt")
    assert main(["explain", "--checkpoint", str(run), "--events", str(data), "--event", "3"]) == 0
    out = capsys.readouterr().out
    assert "event 3 of" in out and "|M|^2: start" in out
    lines = out.splitlines()
    particle_rows = [line for line in lines if line.split()[:1] and line.split()[0] in "01234567"]
    assert len(particle_rows) >= 8
    for name in ("t", "W+", "tbar", "W-"):
        assert any(line.split()[0] == name for line in lines)
    capsys.readouterr()
    assert main(["explain", "--checkpoint", str(run), "--events", str(data), "--event", "5"]) == 2
    assert "--event 5 is out of range; the file has 5 events" in _error(capsys)
