"""``tinn tag``: the W-polarisation tagger L = m_LL/(m_LT+m_TL+m_TT) on the four polarised samples; ROC
curves, AUCs (tag.json) and reconstructed W masses, at the true assignment and at a trained agent's."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tinn_dist.errors import TinnError

_POLS = (
    "LL",
    "LT",
    "TL",
    "TT",
)  # = tinn_dist.analysis.tagger.POLARISATIONS (not imported: keeps --help fast)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tag",
        help="W-polarisation tagger m_LL/(m_LT+m_TL+m_TT): ROC, AUC, W masses (true and learned assignment)",
        description="Score every event of the four polarised VBF WW samples with L = m_LL/(m_LT+m_TL+m_TT), "
        "the four polarised |M|^2 evaluated at the true assignment and, with --checkpoint, at the assignment "
        "the trained agent finds (greedy, N-3 steps) and, with --ceiling, at the argmax of the agent's reward. "
        "Writes OUT/tag.json and PNG plots.",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--checkpoint", type=Path, metavar="RUN", help="run directory (or .pt) of a wwuu agent"
    )
    which.add_argument(
        "--true-assignment", action="store_true", help="only the true assignment (no trained agent)"
    )
    parser.add_argument(
        "--events",
        required=True,
        nargs=4,
        type=Path,
        metavar=("LL.parquet", "LT.parquet", "TL.parquet", "TT.parquet"),
        help="the four polarised samples, in this order (processes wwuu_LL, wwuu_LT, wwuu_TL, wwuu_TT)",
    )
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="output directory")
    parser.add_argument(
        "--max-events", type=int, metavar="K", help="use only the first K events of each sample"
    )
    parser.add_argument(
        "--backend",
        choices=("builtin", "madgraph"),
        default="builtin",
        help="backend of the four polarised matrix elements (default builtin; the agent's own matrix element "
        "is the one in its config)",
    )
    parser.add_argument(
        "--madgraph-dir",
        nargs=4,
        metavar=("LL_DIR", "LT_DIR", "TL_DIR", "TT_DIR"),
        help="SubProcesses/P1_* directories of the four polarised processes (--backend madgraph)",
    )
    parser.add_argument("--alphas", type=float, help="strong coupling (default: the agent's, else 0.13)")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also score at the exhaustive argmax of the agent's own reward (its config's |M|^2 over all "
        "(N-2)! = 720 assignments per event): what a perfect agent finds; costly, combine with --max-events",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tinn_dist.analysis.evaluate import truth_match, write_json_atomic
    from tinn_dist.analysis.reconstruct import resonance_masses
    from tinn_dist.analysis.roc import plot_roc, roc_curve, roc_summary
    from tinn_dist.analysis.tagger import (
        build_polarised,
        check_same_family,
        plot_w_masses,
        polarisation_m2,
        polarised_process,
        tagger_score,
    )
    from tinn_dist.events.store import read_events
    from tinn_dist.processes import load_process

    if args.max_events is not None and args.max_events < 1:
        raise TinnError(f"--max-events must be >= 1, got {args.max_events}")
    if args.ceiling and args.checkpoint is None:
        raise TinnError("--ceiling needs --checkpoint (the agent's config defines the reward it maximises)")
    if args.backend == "madgraph" and not args.madgraph_dir:
        raise TinnError("--backend madgraph needs --madgraph-dir LL_DIR LT_DIR TL_DIR TT_DIR")
    cfg = qnet = None
    if args.checkpoint is not None:
        from tinn_dist.rl.checkpoint import load_policy

        cfg, qnet = load_policy(args.checkpoint)

    samples = []
    for pol, path in zip(_POLS, args.events):
        events = read_events(path)
        expected = polarised_process(pol)
        if events.process != expected:
            raise TinnError(
                f"{path}: events are of process {events.process!r}; the {pol} sample of --events "
                f"(order LL LT TL TT) must be {expected!r}"
            )
        if cfg is not None:
            check_same_family(cfg.process, events.process, str(path))
        if args.max_events is not None:
            events = events.subset(slice(0, args.max_events))
        if len(events) == 0:
            raise TinnError(f"{path}: no events")
        samples.append(events)
    momenta = np.concatenate([e.momenta for e in samples])
    true_perm = np.concatenate([e.true_perm for e in samples])
    label = np.concatenate([np.full(len(e), k) for k, e in enumerate(samples)])  # index into _POLS

    alphas = args.alphas if args.alphas is not None else (cfg.matrix_element.alphas if cfg else 0.13)
    mes = build_polarised(
        backend=args.backend,
        madgraph_dirs=dict(zip(_POLS, args.madgraph_dir)) if args.madgraph_dir else None,
        alphas=alphas,
    )
    assignments = {"true": true_perm}
    if qnet is not None:
        from tinn_dist.rl.actor import EpisodeRunner
        from tinn_dist.rl.builder import build_env

        env = build_env(cfg, momenta)
        assignments["learned"] = EpisodeRunner(env, qnet).greedy(np.arange(len(momenta)))[0]
        if args.ceiling:
            from tinn_dist.analysis.baselines import exhaustive_argmax

            assignments["ceiling"] = exhaustive_argmax(env, np.arange(len(momenta)))[0]

    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "events": {pol: str(p) for pol, p in zip(_POLS, args.events)},
        "n_events": {pol: len(e) for pol, e in zip(_POLS, samples)},
        "backend": args.backend,
        "checkpoint": str(args.checkpoint) if args.checkpoint else None,
        "auc": {},
        "inv_eps_b_at_0.3": {},
    }
    curves: dict[str, dict[str, object]] = {"LL_vs_rest": {}, "LL_vs_TT": {}}
    for name, perm in assignments.items():
        score = tagger_score(polarisation_m2(mes, momenta, perm))
        ll = score[label == 0]
        versus = {"LL_vs_rest": score[label != 0], "LL_vs_TT": score[label == 3]}
        result["auc"][name] = {}
        result["inv_eps_b_at_0.3"][name] = {}
        for comparison, background in versus.items():
            summary = roc_summary(ll, background)
            result["auc"][name][comparison] = summary["auc"]
            result["inv_eps_b_at_0.3"][name][comparison] = summary["inv_eps_b"]
            curves[comparison][f"{name} assignment"] = roc_curve(ll, background)
    for name in ("learned", "ceiling"):
        if name in assignments:
            process = load_process(cfg.process)
            result[f"{name}_truth_match"] = float(truth_match(process, assignments[name], true_perm).mean())

    process = load_process(polarised_process("LL"))
    truth_masses = resonance_masses(process, momenta, true_perm)
    learned_masses = (
        resonance_masses(process, momenta, assignments["learned"]) if "learned" in assignments else None
    )
    plot_roc(curves["LL_vs_rest"], args.out / "roc_LL_vs_rest.png", "W polarisation: LL vs LT+TL+TT")
    plot_roc(curves["LL_vs_TT"], args.out / "roc_LL_vs_TT.png", "W polarisation: LL vs TT")
    plot_w_masses(truth_masses, learned_masses, args.out / "w_masses.png")
    write_json_atomic(result, args.out / "tag.json")

    for name, aucs in result["auc"].items():
        print(
            f"{name:>8} assignment: AUC LL vs rest {aucs['LL_vs_rest']:.3f}, LL vs TT {aucs['LL_vs_TT']:.3f}"
        )
    print(f"wrote {args.out / 'tag.json'} and plots", file=sys.stderr)
    return 0
