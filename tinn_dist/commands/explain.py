"""``tinn explain``: one event, read out — which particle the trained agent put in which parton slot, and the
masses of the W/top candidates that assignment implies, next to the truth and the starting order."""

from __future__ import annotations

import argparse
from pathlib import Path

from tinn_dist.errors import TinnError
from tinn_dist.processes import Process


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="print one event's assignment by a trained agent: particle -> slot, W/top candidate masses",
        description="Run the trained agent greedily on one event and print, per final-state particle, the "
        "parton slot it was assigned to (and its true slot), then |M|^2 and the mass of every resonance "
        "candidate under the starting order, the agent's assignment and the true one.",
    )
    parser.add_argument(
        "--checkpoint", required=True, type=Path, metavar="RUN", help="run directory (or .pt)"
    )
    parser.add_argument("--events", required=True, type=Path, help="events file (Parquet)")
    parser.add_argument(
        "--event", required=True, type=int, metavar="I", help="row of the event in the file (0-based)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from tinn_dist.analysis.reconstruct import resonance_masses
    from tinn_dist.analysis.tagger import check_same_family
    from tinn_dist.events.store import read_events
    from tinn_dist.processes import load_process
    from tinn_dist.rl.actor import EpisodeRunner
    from tinn_dist.rl.builder import build_env
    from tinn_dist.rl.checkpoint import load_policy

    cfg, qnet = load_policy(args.checkpoint)
    events = read_events(args.events)
    check_same_family(cfg.process, events.process, str(args.events))
    if not 0 <= args.event < len(events):
        raise TinnError(
            f"{args.events}: --event {args.event} is out of range; the file has {len(events)} events"
        )
    event = events.subset([args.event])
    process = load_process(cfg.process)
    env = build_env(cfg, event.momenta)
    perm, m_agent, m_start = EpisodeRunner(env, qnet).greedy(np.arange(1))
    assignments = {"start": np.arange(process.n_external)[None], "agent": perm, "true": event.true_perm}
    m_true = env.m2(np.arange(1), event.true_perm)
    agent_slot, true_slot = np.argsort(perm[0]), np.argsort(event.true_perm[0])

    p = event.momenta[0]
    print(
        f"event {args.event} of {args.events} ({events.process}; {event.source[0]} event "
        f"{event.event_index[0]}), assigned by the {cfg.process} agent {args.checkpoint}"
    )
    print(f"{'particle':>8} {'pdg':>4} {'E':>9} {'px':>9} {'py':>9} {'pz':>9}   {'agent slot':<14} true slot")
    for row in range(process.n_external):
        agent, truth = int(agent_slot[row]), int(true_slot[row])
        mark = "" if agent == truth else "   <- differs"
        print(
            f"{row:>8} {int(event.pdg[0, row]):>4} {p[row, 0]:>9.2f} {p[row, 1]:>9.2f} {p[row, 2]:>9.2f} "
            f"{p[row, 3]:>9.2f}   {_slot(process, agent):<14} {_slot(process, truth)}{mark}"
        )
    print(
        f"|M|^2: start {m_start[0]:.4e}, agent {m_agent[0]:.4e}, true {m_true[0]:.4e} "
        f"(agent/true = {m_agent[0] / m_true[0]:.4g})"
    )
    masses = {name: resonance_masses(process, event.momenta, a) for name, a in assignments.items()}
    print(f"{'resonance':>9} {'slots':<12} {'start':>9} {'agent':>9} {'true':>9}   (mass, GeV)")
    for r in process.resonances:
        slots = ",".join(str(s) for s in r.slots)
        values = " ".join(f"{masses[name][r.name][0]:>9.2f}" for name in assignments)
        print(f"{r.name:>9} {slots:<12} {values}")
    return 0


def _slot(process: Process, slot: int) -> str:
    """``slot (pdg)``, e.g. ``2 (5)``."""
    return f"{slot} ({process.external[slot]})"
