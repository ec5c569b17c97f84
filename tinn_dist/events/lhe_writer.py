"""Les Houches Event files for generated events, written with pylhe's writer (LHE 3.0; Alwall et al.,
"A standard format for Les Houches Event Files", hep-ph/0609017).

``<init>``: pp beams (2212) at sqrt_s/2 each, PDFGUP/PDFSUP = 0 (the generator's own PDF, named in the
``<generator>`` line), IDWTUP = 4 (event weights XWGTUP in pb averaging to the cross section; here all equal to
it, as in MadGraph's unweighted samples, which write -4), one process (LPRUP 1) with XSECUP/XERRUP the cross
section and its error in pb and XMAXUP = XSECUP.
``<event>``: NUP IDPRUP=1 XWGTUP=sigma SCALUP=muR AQEDUP AQCDUP=alpha_s(muR), then the incoming partons
(status -1), every resonance of the decay tree (status 2, mothers = its parent resonance, or 1 2), and the
outgoing partons (status 1, mother = the resonance they come from, or 1 2), momenta in the pp frame, masses
p^2 of each line, SPINUP 9 (helicity not recorded).

Colour lines: decays carry exact colour flow (t -> b keeps the t colour, W -> q q' is a colour-singlet pair).
For the hard process the flow is one planar (leading-colour) connection: every colour end (incoming colour,
outgoing anticolour) is paired with an anticolour end (outgoing colour, incoming anticolour), never a gluon
with itself nor two outgoing partons with each other; for gg -> Q Qbar the two planar flows are picked with the
large-N_c weights u1/t1 : t1/u1 (t1 = (p_g1 - p_Q)^2 - m^2, u1 likewise with g2), otherwise uniformly among the
allowed pairings. Colour matters only to a shower run on top of these files; the generator's events and
weights do not depend on it.
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pylhe

from tinn_dist.errors import TinnError
from tinn_dist.events.generator import GeneratedEvents
from tinn_dist.processes import Process

__all__ = ["write_lhe"]

ALPHA_EM = 1.0 / 132.507  # the sm card's aEWM1, as MadGraph writes AQEDUP
_FORMAT = replace(
    pylhe.DEFAULT_FORMAT,
    particle="{id:9d} {status:2d} {mother1:4d} {mother2:4d} {color1:4d} {color2:4d} {px: 18.10e} {py: 18.10e} "
    "{pz: 18.10e} {e: 18.10e} {m: 18.10e} {lifetime: 10.4e} {spin: 10.4e}",
)


def _colour_type(pdg: int) -> int:
    """3 (quark), -3 (antiquark), 8 (gluon) or 1 for the particles of the catalogue."""
    if pdg == 21:
        return 8
    if 1 <= abs(pdg) <= 6:
        return 3 if pdg > 0 else -3
    return 1


class _Record:
    """The line layout of one process: incoming, resonances, outgoing; mothers and the colour pairings."""

    def __init__(self, process: Process) -> None:
        self.process = process
        res = process.resonances
        self.lines: list[tuple[str, int]] = [("slot0", process.external[0]), ("slot1", process.external[1])]
        self.lines += [(r.name, r.pdg) for r in res] + [(f"slot{s}", process.external[s]) for s in process.final_slots]
        index = {name: i for i, (name, _) in enumerate(self.lines)}
        self.mothers = [(0, 0), (0, 0)]
        for r in res:
            self.mothers.append((index[r.parent] + 1,) * 2 if r.parent else (1, 2))
        for s in process.final_slots:
            direct = [r for r in res if s in r.slots]
            owner = min(direct, key=lambda r: len(r.slots)) if direct else None
            self.mothers.append((index[owner.name] + 1,) * 2 if owner else (1, 2))
        self.top = [i for i, m in enumerate(self.mothers) if m == (1, 2)]
        self.children = {i: [j for j, m in enumerate(self.mothers) if m[0] == i + 1 and j >= 2] for i in range(len(self.lines))}
        self.matchings = self._hard_matchings()
        self.gg_to_pair = [self.lines[0][1], self.lines[1][1]] == [21, 21] and len(self.top) == 2

    def _hard_matchings(self) -> list[list[tuple[tuple[int, str], tuple[int, str]]]]:
        """Every allowed pairing of colour ends with anticolour ends among the hard process's partons."""
        c_ends, a_ends = [], []
        for i in (0, 1):
            t = _colour_type(self.lines[i][1])
            if t in (3, 8):
                c_ends.append((i, "c"))
            if t in (-3, 8):
                a_ends.append((i, "a"))
        for i in self.top:
            t = _colour_type(self.lines[i][1])
            if t in (3, 8):
                a_ends.append((i, "c"))
            if t in (-3, 8):
                c_ends.append((i, "a"))
        if len(c_ends) != len(a_ends):
            raise TinnError(f"{self.process.name}: colour is not conserved by the hard process")
        allowed = []
        for perm in itertools.permutations(a_ends):
            pairs = list(zip(c_ends, perm))
            if any(c[0] == a[0] for c, a in pairs):
                continue  # a gluon in a colour singlet with itself
            if any(c[0] >= 2 and a[0] >= 2 for c, a in pairs):
                continue  # two outgoing partons in a singlet: not a planar flow of the hard process
            allowed.append(pairs)
        if c_ends and not allowed:
            raise TinnError(f"{self.process.name}: no planar colour flow found for the hard process")
        return allowed

    def colours(self, choice: int) -> list[list[int]]:
        """(colour, anticolour) of every line for hard-process flow number ``choice``."""
        cols = [[0, 0] for _ in self.lines]
        tag = 501
        for (ci, cside), (ai, aside) in (self.matchings[choice] if self.matchings else []):
            cols[ci][0 if cside == "c" else 1] = tag
            cols[ai][0 if aside == "c" else 1] = tag
            tag += 1
        for i in range(2, len(self.lines)):  # decays, parents before children (record order)
            kids = self.children[i]
            if not kids:
                continue
            t = _colour_type(self.lines[i][1])
            if t == 1:  # colour-singlet resonance: its quark and antiquark share a new line
                for k in kids:
                    kt = _colour_type(self.lines[k][1])
                    if kt == 3:
                        cols[k][0] = tag
                    elif kt == -3:
                        cols[k][1] = tag
                tag += 1
            else:  # a (anti)quark resonance hands its colour to its (anti)quark child
                for k in kids:
                    if _colour_type(self.lines[k][1]) == t:
                        cols[k] = list(cols[i])
        return cols


def _flow_choice(record: _Record, events: GeneratedEvents, rng: np.random.Generator) -> np.ndarray:
    n = len(events)
    if not record.matchings:
        return np.zeros(n, dtype=np.int64)
    if record.gg_to_pair and len(record.matchings) == 2:
        top = record.top[0]
        p_q = events.resonances.get(record.lines[top][0])
        if p_q is None:
            p_q = events.momenta[:, int(record.lines[top][0][4:])]
        m2 = p_q[:, 0] ** 2 - (p_q[:, 1:] ** 2).sum(axis=1)

        def t1(p_in: np.ndarray) -> np.ndarray:
            d = p_in - p_q
            return d[:, 0] ** 2 - (d[:, 1:] ** 2).sum(axis=1) - m2

        t, u = t1(events.momenta[:, 0]), t1(events.momenta[:, 1])
        # Matching 0 or 1: which one connects the quark-like top-level object to gluon 1?
        first = [dict(m) for m in record.matchings]
        q_to_g1 = [any(c == (0, "c") and a == (top, "c") for c, a in m.items()) for m in first]
        w_g1 = u / t  # large-N_c weight of the flow with Q colour-connected to gluon 1
        p_g1 = w_g1 / (w_g1 + 1.0 / w_g1)
        pick_g1 = rng.random(n) < p_g1
        idx_g1 = q_to_g1.index(True)
        return np.where(pick_g1, idx_g1, 1 - idx_g1)
    return rng.integers(len(record.matchings), size=n)


def _events(record: _Record, events: GeneratedEvents, seed: int) -> Iterator[pylhe.LHEEvent]:
    rng = np.random.default_rng(seed)
    flows = _flow_choice(record, events, rng)
    lab = events.lab_momenta()
    lab_res = {name: events.lab_momenta(p[:, None, :])[:, 0] for name, p in events.resonances.items()}
    sigma = float(events.stats["cross_section_pb"])
    for e in range(len(events)):
        cols = record.colours(int(flows[e]))
        particles = []
        for i, (name, pdg) in enumerate(record.lines):
            p = lab_res[name][e] if name in lab_res else lab[e, int(name[4:])]
            m2 = p[0] ** 2 - p[1] ** 2 - p[2] ** 2 - p[3] ** 2
            status = -1 if i < 2 else (2 if name in lab_res else 1)
            particles.append(
                pylhe.LHEParticle(
                    id=int(pdg), status=status, mother1=record.mothers[i][0], mother2=record.mothers[i][1],
                    color1=cols[i][0], color2=cols[i][1], px=float(p[1]), py=float(p[2]), pz=float(p[3]),
                    e=float(p[0]), m=float(np.sign(m2) * np.sqrt(abs(m2))) if abs(m2) > 1e-6 else 0.0,
                    lifetime=0.0, spin=9.0,
                )
            )
        info = pylhe.LHEEventInfo(
            nparticles=len(particles), pid=1, weight=sigma, scale=float(events.scale[e]), aqed=ALPHA_EM,
            aqcd=float(events.alphas[e]),
        )
        yield pylhe.LHEEvent(eventinfo=info, particles=particles)


def _header(param_card: str, stats: dict) -> pylhe.LHEHeader:
    """``<header>`` with the param card in ``<slha>`` (as MadGraph writes it, so ``tinn convert`` reads it back)
    and the generation facts in ``<tinnGeneration>`` (JSON)."""
    slha = ET.Element("slha")
    slha.text = "\n" + param_card.strip("\n") + "\n"
    facts = ET.Element("tinnGeneration")
    facts.text = "\n" + json.dumps({k: v for k, v in stats.items()}, sort_keys=True, default=float) + "\n"
    return pylhe.LHEHeader(initrwgt=pylhe.LHEInitRWGT(), extra_elements=[slha, facts])


def write_lhe(
    path: str | os.PathLike[str], events: GeneratedEvents, sqrt_s: float, param_card: str, seed: int = 0
) -> None:
    """Write ``events`` as an LHE file (gzip-compressed when the name ends in ``.gz``), atomically."""
    path = Path(path)
    if not path.parent.is_dir():
        raise TinnError(f"{path}: output folder {path.parent} does not exist")
    stats = events.stats
    record = _Record(events.process)
    init = pylhe.LHEInit(
        initInfo=pylhe.LHEInitInfo(
            beamA=2212, beamB=2212, energyA=sqrt_s / 2, energyB=sqrt_s / 2, PDFgroupA=0, PDFgroupB=0,
            PDFsetA=0, PDFsetB=0, weightingStrategy=4, numProcesses=1,
        ),
        procInfo=[
            pylhe.LHEProcInfo(
                xSection=float(stats["cross_section_pb"]), error=float(stats["cross_section_error_pb"]),
                unitWeight=float(stats["cross_section_pb"]), procId=1,
            )
        ],
        generators=[
            pylhe.LHEGenerator(
                name="tinn-dist", version="builtin",
                description=f"{events.process.name}: {events.process.madgraph}; PDF {stats['pdf']}",
            )
        ],
    )
    lhe = pylhe.LHEFile(init=init, events=_events(record, events, seed), header=_header(param_card, stats))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(tmp, "wt") as stream:
            lhe.write(stream, lheformat=_FORMAT)
            stream.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
