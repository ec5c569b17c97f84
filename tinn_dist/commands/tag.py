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


_CURVE_LABELS = {
    "learned_sum": "learned shortlist, summed",
    "marginal": "all assignments, summed",
    "bound": "Neyman-Pearson bound, charges unknown",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "tag",
        help="W-polarisation tagger m_LL/(m_LT+m_TL+m_TT): ROC, AUC, W masses (true and learned assignment)",
        description="Score every event of the four polarised VBF WW samples with L = m_LL/(m_LT+m_TL+m_TT), "
        "the four polarised |M|^2 evaluated at the true assignment and, with --checkpoint, at the assignment "
        "the trained agent finds (greedy, N-3 steps, or its beam search with --beam) and, with --ceiling, at the "
        "argmax of the agent's reward. With --beam K --candidates C (C > 1) also L summed over the agent's C "
        "shortlisted assignments ('learned_sum'); with --ceiling also over all assignments ('marginal') and "
        "the samples' likelihood ratio over all of them ('bound': no score blind to the quark charges does "
        "better). Writes OUT/tag.json and PNG plots.",
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
        "--beam",
        type=int,
        default=0,
        metavar="K",
        help="assign with the agent's width-K beam search over its own Q-values (default 0: greedy policy)",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=1,
        metavar="C",
        help="with --beam: the beam's C best distinct assignments; the one of largest reward is 'learned', and "
        "the score summed over all C is 'learned_sum' (default 1)",
    )
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also score at the exhaustive argmax of the agent's own reward (its config's |M|^2 over all "
        "(N-2)! = 720 assignments per event): what a perfect agent finds; and summed over all of them "
        "('marginal'), and the Neyman-Pearson bound of any score blind to the quark charges ('bound'); "
        "costly, combine with --max-events",
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
        distinct_assignments,
        likelihood_ratio,
        marginal_m2,
        plot_w_masses,
        polarisation_m2,
        polarised_process,
        summed_polarisation_m2,
        tagger_score,
    )
    from tinn_dist.events.store import read_events
    from tinn_dist.processes import load_process

    if args.max_events is not None and args.max_events < 1:
        raise TinnError(f"--max-events must be >= 1, got {args.max_events}")
    if args.beam < 0 or args.candidates < 1:
        raise TinnError(f"--beam must be >= 0 and --candidates >= 1, got {args.beam} and {args.candidates}")
    if args.candidates > 1 and not args.beam:
        raise TinnError("--candidates needs --beam K (the shortlist comes from the agent's beam search)")
    if args.beam and args.checkpoint is None:
        raise TinnError("--beam needs --checkpoint (a trained agent's beam search)")
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
    summed_m2: dict[str, dict[str, np.ndarray]] = {}  # scores from |M|^2 summed over a set of assignments
    if qnet is not None:
        from tinn_dist.rl.actor import EpisodeRunner
        from tinn_dist.rl.builder import build_env

        env = build_env(cfg, momenta)
        every_event = np.arange(len(momenta))
        if args.beam:
            from tinn_dist.rl.search import beam_shortlist, best_by_m2

            shortlist, valid = beam_shortlist(env, qnet, every_event, args.beam, args.candidates)
            valid = distinct_assignments(load_process(cfg.process), shortlist, valid)
            assignments["learned"] = best_by_m2(env, every_event, shortlist, valid)[0]
            if args.candidates > 1:
                summed_m2["learned_sum"] = summed_polarisation_m2(mes, momenta, shortlist, valid)
        else:
            assignments["learned"] = EpisodeRunner(env, qnet).greedy(every_event)[0]
        if args.ceiling:
            from tinn_dist.analysis.baselines import exhaustive_argmax

            assignments["ceiling"] = exhaustive_argmax(env, every_event)[0]
            summed_m2["marginal"] = marginal_m2(mes, momenta)

    args.out.mkdir(parents=True, exist_ok=True)
    result = {
        "events": {pol: str(p) for pol, p in zip(_POLS, args.events)},
        "n_events": {pol: len(e) for pol, e in zip(_POLS, samples)},
        "backend": args.backend,
        "checkpoint": str(args.checkpoint) if args.checkpoint else None,
        "learned_by": ({"beam": args.beam, "candidates": args.candidates} if args.beam else "greedy")
        if args.checkpoint
        else None,
        "auc": {},
        "inv_eps_b_at_0.3": {},
    }
    curves: dict[str, dict[str, object]] = {"LL_vs_rest": {}, "LL_vs_TT": {}}
    is_background = {"LL_vs_rest": label != 0, "LL_vs_TT": label == 3}
    scores = {
        name: dict.fromkeys(is_background, tagger_score(m2))
        for name, m2 in ({n: polarisation_m2(mes, momenta, p) for n, p in assignments.items()} | summed_m2).items()
    }
    if "marginal" in summed_m2:
        # events are unweighted: each sample's weight is its cross section
        sigma = {pol: float(np.mean(e.weight)) for pol, e in zip(_POLS, samples)}
        rest = ("LT", "TL", "TT")
        scores["bound"] = {
            "LL_vs_rest": likelihood_ratio(summed_m2["marginal"], sigma, "LL", rest),
            "LL_vs_TT": likelihood_ratio(summed_m2["marginal"], sigma, "LL", ("TT",)),
        }
    for name, by_comparison in scores.items():
        result["auc"][name] = {}
        result["inv_eps_b_at_0.3"][name] = {}
        for comparison, score in by_comparison.items():
            ll, background = score[label == 0], score[is_background[comparison]]
            summary = roc_summary(ll, background)
            result["auc"][name][comparison] = summary["auc"]
            result["inv_eps_b_at_0.3"][name][comparison] = summary["inv_eps_b"]
            curve_label = _CURVE_LABELS.get(name, f"{name} assignment")
            curves[comparison][curve_label] = roc_curve(ll, background)
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
        print(f"{name:>11}: AUC LL vs rest {aucs['LL_vs_rest']:.3f}, LL vs TT {aucs['LL_vs_TT']:.3f}")
    print(f"wrote {args.out / 'tag.json'} and plots", file=sys.stderr)
    return 0
