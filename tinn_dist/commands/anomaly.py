"""``tinn anomaly``: anomaly detection with score 1/m_bkg at the background agent's assignment, against the
exhaustive-argmax ceiling, the starting order and the paper's autoencoder; ROC, AUC, 1/ε_b (PNG + JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinn_dist.errors import TinnError

EPS_S = 0.3  # signal efficiency at which the background rejection 1/ε_b is quoted (paper, Fig. 9)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "anomaly",
        help="anomaly detection: 1/|M|^2_background at the learned assignment vs ceiling, start, autoencoder",
        description="Select background and signal events in a window of the final-state invariant mass, "
        "assign them to the background process's slots with the trained background agent, and score them "
        "with 1/|M|^2_background. The same score at the exhaustive |M|^2 argmax (the ceiling) and at the "
        "starting (energy) order, and the paper's autoencoder (trained on other background events of the "
        "window), side by side: OUT/anomaly.json, OUT/roc.png, OUT/rejection.png, OUT/autoencoder_loss.png.",
    )
    parser.add_argument(
        "--checkpoint",
        required=True,
        type=Path,
        metavar="RUN",
        help="run directory (or .pt) of the background agent",
    )
    parser.add_argument(
        "--background", required=True, type=Path, help="background events (the agent's process)"
    )
    parser.add_argument("--signal", required=True, type=Path, help="signal events (same number of partons)")
    parser.add_argument(
        "--mass-window",
        nargs=2,
        type=float,
        required=True,
        metavar=("LOW", "HIGH"),
        help="final-state invariant mass window in GeV",
    )
    parser.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: RUN/anomaly)")
    parser.add_argument(
        "--n-events",
        type=int,
        default=3000,
        metavar="K",
        help="events of each sample (first K in the window) that are scored (default 3000)",
    )
    parser.add_argument(
        "--ae-train-events",
        type=int,
        default=10_000,
        metavar="N",
        help="autoencoder training events: up to N background events of the window that are not scored "
        "(default 10000)",
    )
    parser.add_argument(
        "--ae-epochs", type=int, default=500, metavar="K", help="autoencoder epochs (default 500)"
    )
    parser.add_argument(
        "--backend",
        choices=("builtin", "madgraph"),
        help="matrix-element backend of the score (default: the agent's config)",
    )
    parser.add_argument(
        "--madgraph-dir", metavar="DIR", help="SubProcesses/P1_* directory (--backend madgraph)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    import numpy as np

    from tinn_dist.analysis.anomaly import METHODS, anomaly_score, assignment_m2, select_mass_window
    from tinn_dist.analysis.autoencoder import (
        AutoencoderConfig,
        autoencoder_features,
        plot_training_loss,
        reconstruction_error,
        train_autoencoder,
    )
    from tinn_dist.analysis.evaluate import write_json_atomic
    from tinn_dist.analysis.roc import plot_roc, roc_curve, roc_summary
    from tinn_dist.events.store import read_events
    from tinn_dist.rl.builder import build_env
    from tinn_dist.rl.checkpoint import checkpoint_path, load_policy

    if args.n_events < 1:
        raise TinnError(f"--n-events must be >= 1, got {args.n_events}")
    if args.ae_train_events < 1:
        raise TinnError(f"--ae-train-events must be >= 1, got {args.ae_train_events}")
    ae_cfg = AutoencoderConfig(epochs=args.ae_epochs)
    cfg, qnet = load_policy(args.checkpoint)
    background = read_events(args.background)
    if background.process != cfg.process:
        raise TinnError(
            f"{args.background}: events are of process {background.process!r}; the agent "
            f"{args.checkpoint} assigns {cfg.process!r} (the background process)"
        )
    signal = read_events(args.signal)
    if signal.n_external != background.n_external:
        raise TinnError(
            f"{args.signal}: events have {signal.n_external} partons; the {cfg.process} agent assigns "
            f"{background.n_external}"
        )
    low, high = args.mass_window
    bkg, bkg_rest = select_mass_window(background, low, high, str(args.background), args.n_events)
    sig, _ = select_mass_window(signal, low, high, str(args.signal), args.n_events)
    if len(bkg_rest) == 0:
        raise TinnError(
            f"{args.background}: all {len(bkg)} background events in the window are scored, none is left to "
            "train the autoencoder; lower --n-events"
        )
    ae_train = bkg_rest.subset(slice(0, args.ae_train_events))

    if args.backend:
        me_cfg = replace(cfg.matrix_element, backend=args.backend, madgraph_dir=args.madgraph_dir)
        cfg = replace(cfg, matrix_element=me_cfg)
    momenta = np.concatenate([sig.momenta, bkg.momenta])
    is_signal = np.r_[np.ones(len(sig), dtype=bool), np.zeros(len(bkg), dtype=bool)]
    env = build_env(cfg, momenta)
    m = assignment_m2(env, qnet, METHODS, progress=sys.stderr.isatty())
    scores = {method: anomaly_score(m[method]) for method in METHODS}

    model, losses = train_autoencoder(
        autoencoder_features(ae_train.momenta), ae_cfg, progress=sys.stderr.isatty()
    )
    scores["autoencoder"] = reconstruction_error(model, autoencoder_features(momenta))

    out = args.out or checkpoint_path(args.checkpoint).parent / "anomaly"
    out.mkdir(parents=True, exist_ok=True)
    result = {
        "checkpoint": str(checkpoint_path(args.checkpoint)),
        "background": str(args.background),
        "signal": str(args.signal),
        "background_process": cfg.process,
        "signal_process": signal.process,
        "backend": cfg.matrix_element.backend,
        "mass_window_gev": [low, high],
        "n_background": len(bkg),
        "n_signal": len(sig),
        "eps_s": EPS_S,
        "learned_reaches_ceiling": float(np.mean(m["learned"] >= m["ceiling"] * (1.0 - 1e-9))),
        "autoencoder": {
            "train_events": len(ae_train),
            "epochs": ae_cfg.epochs,
            "hidden": ae_cfg.hidden,
            "latent": ae_cfg.latent,
            "final_loss": losses[-1],
        },
        "methods": {},
    }
    curves = {}
    for method, score in scores.items():
        summary = roc_summary(score[is_signal], score[~is_signal], EPS_S)
        result["methods"][method] = {"auc": summary["auc"], "inv_eps_b": summary["inv_eps_b"]}
        curves[method] = roc_curve(score[is_signal], score[~is_signal])
    title = f"{signal.process} vs {cfg.process}, {low:g}-{high:g} GeV"
    plot_roc(curves, out / "roc.png", title)
    plot_roc(curves, out / "rejection.png", title, inverse=True)
    plot_training_loss(losses, out / "autoencoder_loss.png")
    write_json_atomic(result, out / "anomaly.json")

    print(f"{'method':<12} {'AUC':>6} {'1/eps_b(eps_s=0.3)':>19}")
    for method, r in result["methods"].items():
        inv = "inf" if r["inv_eps_b"] is None else f"{r['inv_eps_b']:.2f}"
        print(f"{method:<12} {r['auc']:>6.3f} {inv:>19}")
    print(f"wrote {out / 'anomaly.json'} and plots", file=sys.stderr)
    return 0
