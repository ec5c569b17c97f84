"""Regenerate the numbers and plots of docs/generator_validation.md: the built-in generator's tt events against
MadGraph's tt sample (../shared/reference/lhe/tt_s1001.lhe.gz).

    python docs/generator_validation.py --events 10000

Writes docs/generator_validation.json, docs/generator_validation_decay.png and
docs/generator_validation_production.png. Runs generation twice: with the built-in CTEQ5L and with MadGraph's own
PDF grid (nn23lo1), so that production-level differences can be attributed to the PDF.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pylhe  # noqa: E402
import torch  # noqa: E402
from scipy.stats import ks_2samp  # noqa: E402

from tinn_dist.events.generator import EventGenerator, GeneratorConfig  # noqa: E402
from tinn_dist.events.lhe import events_from_lhe  # noqa: E402
from tinn_dist.events.validation import decay_observables, production_observables  # noqa: E402
from tinn_dist.processes import load_process  # noqa: E402

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent.parent / "shared" / "reference"
MADGRAPH_SIGMA_PB = 44.55
DECAY = ["m_t", "m_tbar", "m_W+", "m_W-", "cos_t", "cos_tbar", "cos_W+", "cos_W-"]
PRODUCTION = ["m_ttbar", "pt_t", "y_t"]
LABELS = {
    "m_t": "m(t) [GeV]", "m_tbar": "m(tbar) [GeV]", "m_W+": "m(W+) [GeV]", "m_W-": "m(W-) [GeV]",
    "cos_t": "cos theta*(b) in t frame", "cos_tbar": "cos theta*(bbar) in tbar frame",
    "cos_W+": "cos theta*(u) in W+ frame", "cos_W-": "cos theta*(ubar) in W- frame",
    "m_ttbar": "m(t tbar) [GeV]", "pt_t": "pT(t) [GeV]", "y_t": "y(t)",
}


def madgraph_lab(path: Path, n: int) -> np.ndarray:
    """Lab-frame momenta (n, N, 4) in MadGraph order, read with pylhe from the record lines."""
    process = load_process("tt")
    lab = []
    for i, event in enumerate(pylhe.LHEFile.fromfile(path).events):
        if i == n:
            break
        rows = {}
        for p in event.particles:
            rows.setdefault(p.id, []).append([p.e, p.px, p.py, p.pz])
        # tt record: each final-state PDG appears once; incoming gluons twice.
        lab.append([rows[21][0], rows[21][1]] + [rows[pid][0] for pid in process.external[2:]])
    return np.array(lab)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tt = load_process("tt")
    lhe = REFERENCE / "lhe" / "tt_s1001.lhe.gz"
    mg_cm = events_from_lhe(lhe, tt, max_events=args.events).true_order_momenta()
    mg_lab = madgraph_lab(lhe, args.events)
    samples = {"MadGraph (nn23lo1)": (decay_observables(tt, mg_cm), production_observables(tt, mg_lab))}
    results: dict = {"events": args.events, "madgraph_sigma_pb": MADGRAPH_SIGMA_PB, "runs": {}}
    for label, pdf in (("tinn, nn23lo1 grid", str(REFERENCE / "pdf" / "NNPDF23_lo_as_0130_qed_mem0.grid")),
                       ("tinn, CTEQ5L (default)", None)):
        start = time.perf_counter()
        events = EventGenerator(GeneratorConfig("tt", pdf=pdf), seed=args.seed).generate(args.events, progress=False)
        seconds = time.perf_counter() - start
        decay = decay_observables(tt, events.momenta)
        production = production_observables(tt, events.lab_momenta())
        samples[label] = (decay, production)
        results["runs"][label] = {
            "stats": events.stats,
            "seconds": seconds,
            "events_per_minute": args.events / seconds * 60,
            "ks_pvalue_decay": {k: float(ks_2samp(decay[k], samples["MadGraph (nn23lo1)"][0][k]).pvalue) for k in DECAY},
            "ks_pvalue_production": {
                k: float(ks_2samp(production[k], samples["MadGraph (nn23lo1)"][1][k]).pvalue) for k in PRODUCTION
            },
            "mean_production": {k: float(production[k].mean()) for k in PRODUCTION},
        }
    results["madgraph_mean_production"] = {k: float(samples["MadGraph (nn23lo1)"][1][k].mean()) for k in PRODUCTION}
    (HERE / "generator_validation.json").write_text(json.dumps(results, indent=2, sort_keys=True, default=float) + "\n")

    ranges = {"m_t": (150, 196), "m_tbar": (150, 196), "m_W+": (49, 112), "m_W-": (49, 112), "m_ttbar": (300, 1500),
              "pt_t": (0, 600), "y_t": (-3, 3)}
    for names, filename, ncols in ((DECAY, "generator_validation_decay.png", 4),
                                   (PRODUCTION, "generator_validation_production.png", 3)):
        fig, axes = plt.subplots(len(names) // ncols + bool(len(names) % ncols), ncols, figsize=(4 * ncols, 3.4 * (len(names) // ncols + bool(len(names) % ncols))))
        for ax, name in zip(np.ravel(axes), names):
            bins = np.linspace(*ranges.get(name, (-1, 1)), 41)
            for label, (decay, production) in samples.items():
                values = decay[name] if name in decay else production[name]
                ax.hist(values, bins=bins, density=True, histtype="step", label=label)
            ax.set_xlabel(LABELS[name])
            if name in ("m_t", "m_tbar", "m_W+", "m_W-", "m_ttbar", "pt_t"):
                ax.set_yscale("log")
        np.ravel(axes)[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(HERE / filename, dpi=110)
        plt.close(fig)
    print(json.dumps(results, indent=2, sort_keys=True, default=float))


if __name__ == "__main__":
    main()
