"""Run-directory checkpoints: ``RUN/checkpoint.pt`` written atomically (temp file, then rename)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tinn_dist.errors import TinnError
from tinn_dist.rl.config import TrainConfig, config_from_dict

__all__ = [
    "CHECKPOINT_NAME",
    "checkpoint_path",
    "load_checkpoint",
    "load_policy",
    "load_resumable_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_NAME = "checkpoint.pt"


def checkpoint_path(run: str | Path) -> Path:
    """``run`` may be a run directory or the checkpoint file itself."""
    run = Path(run)
    return run / CHECKPOINT_NAME if run.is_dir() else run


def save_checkpoint(run_dir: str | Path, payload: dict[str, Any]) -> Path:
    path = Path(run_dir) / CHECKPOINT_NAME
    tmp = path.with_suffix(".pt.tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(run: str | Path) -> dict[str, Any]:
    path = checkpoint_path(run)
    if not path.is_file():
        raise TinnError(f"{path}: no checkpoint found (expected a run directory holding {CHECKPOINT_NAME})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
        raise TinnError(f"{path}: not a readable tinn checkpoint ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or "config" not in payload or "learner" not in payload:
        raise TinnError(f"{path}: not a tinn training checkpoint")
    return payload


def load_resumable_checkpoint(run_dir: str | Path, cfg: TrainConfig) -> dict[str, Any]:
    """The checkpoint of ``run_dir`` after checking it was trained with ``cfg``'s process, network and matrix
    element (the sections a resumed run cannot change)."""
    payload = load_checkpoint(run_dir)
    saved = config_from_dict(payload["config"], str(checkpoint_path(run_dir)))
    for section in ("process", "qnet", "matrix_element"):
        if getattr(saved, section) != getattr(cfg, section):
            raise TinnError(
                f"{checkpoint_path(run_dir)}: the checkpoint's {section!r} differs from the config; "
                "resume with the config the run was started with"
            )
    return payload


def load_policy(run: str | Path) -> tuple[TrainConfig, nn.Module]:
    """The config and the trained policy network (eval mode, CPU) of a run."""
    from tinn_dist.rl.builder import build_qnet

    payload = load_checkpoint(run)
    cfg = config_from_dict(payload["config"], str(checkpoint_path(run)))
    qnet = build_qnet(cfg)
    qnet.load_state_dict(payload["learner"]["policy"])
    return cfg, qnet.eval()
