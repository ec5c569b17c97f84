"""Parse MadGraph process strings: ``a b > c d ... [ORDER=n ...], decays``.

Supported syntax (MadGraph 3 semantics):
- coupling orders after the final state: ``QCD=0`` and ``QED<=4`` (both mean "at most"), ``QCD==2`` (exactly);
- decay chains: ``(t > b w+, w+ > u d~)`` in parentheses, nested to any depth; comma-separated decays without
  parentheses (``..., w+ > u d~, w- > u~ d``) decay particles of the process they follow;
- polarised particles ``w+{0}`` (longitudinal) and ``w+{T}`` (transverse);
- particle names of the model (case-insensitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tinn_dist.errors import TinnError
from tinn_dist.physics.model import Model

__all__ = ["OrderLimit", "ParticleSpec", "ProcessSpec", "parse_process"]

POLARIZATIONS = ("0", "T")


@dataclass(frozen=True, slots=True)
class ParticleSpec:
    pdg: int
    polarization: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLimit:
    order: str        # QCD, QED
    value: int
    exact: bool       # '==' (exactly) rather than '=' / '<=' (at most)


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """One production or decay step; ``decays`` decay particles of ``final`` (each used once, in order)."""

    initial: tuple[ParticleSpec, ...]
    final: tuple[ParticleSpec, ...]
    orders: tuple[OrderLimit, ...]
    decays: tuple[ProcessSpec, ...]


_TOKEN = re.compile(r"\s*(>|,|\(|\)|[A-Za-z]+\s*(?:==|<=|=)\s*-?\d+|[^\s,()>]+)")
_ORDER = re.compile(r"([A-Za-z]+)\s*(==|<=|=)\s*(-?\d+)$")
_NAME = re.compile(r"([^{}]+)(?:\{([^{}]*)\})?$")


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise TinnError(f"process {text!r}: cannot read from {text[pos:]!r}")
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str, model: Model) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.pos = 0
        self.names = model.by_name()
        self.orders = {"QCD", "QED"}

    def error(self, what: str) -> TinnError:
        return TinnError(f"process {self.text!r}: {what}")

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end")
        self.pos += 1
        return token

    def particle(self, token: str) -> ParticleSpec:
        m = _NAME.match(token)
        if m is None:
            raise self.error(f"cannot read particle {token!r}")
        name, pol = m.group(1).lower(), m.group(2)
        if name not in self.names:
            raise self.error(f"unknown particle {m.group(1)!r}")
        if pol is not None:
            pol = pol.upper() if pol.upper() == "T" else pol
            if pol not in POLARIZATIONS:
                raise self.error(f"polarisation {{{m.group(2)}}} of {name!r} is not supported; use {{0}} or {{T}}")
        return ParticleSpec(self.names[name], pol)

    def step(self, single_initial: bool) -> ProcessSpec:
        """``initial > final [orders]`` followed by the decays that belong to it."""
        initial = []
        while self.peek() not in (">", None):
            token = self.take()
            if token in (",", "(", ")") or _ORDER.match(token):
                raise self.error(f"unexpected {token!r} before '>'")
            initial.append(self.particle(token))
        if self.peek() != ">":
            raise self.error("missing '>'")
        self.take()
        if single_initial and len(initial) != 1:
            raise self.error(f"a decay needs exactly one decaying particle, got {len(initial)}")
        if not single_initial and len(initial) != 2:
            raise self.error(f"expected two initial particles, got {len(initial)}")
        final: list[ParticleSpec] = []
        orders: list[OrderLimit] = []
        while self.peek() not in (",", ")", None):
            token = self.take()
            if token in ("(", ">"):
                raise self.error(f"unexpected {token!r} in the final state")
            m = _ORDER.match(token)
            if m:
                order = m.group(1).upper()
                if order not in self.orders:
                    raise self.error(f"unknown coupling order {m.group(1)!r}; expected one of {sorted(self.orders)}")
                if any(o.order == order for o in orders):
                    raise self.error(f"coupling order {order} given twice")
                orders.append(OrderLimit(order, int(m.group(3)), m.group(2) == "=="))
            elif orders:
                raise self.error(f"particle {token!r} after the coupling orders")
            else:
                final.append(self.particle(token))
        if not final:
            raise self.error("empty final state")
        return ProcessSpec(tuple(initial), tuple(final), tuple(orders), ())

    def decays(self, depth: int) -> list[ProcessSpec]:
        """Comma-separated decays until ')' (depth > 0) or the end; parenthesised groups nest."""
        out: list[ProcessSpec] = []
        while self.peek() == ",":
            self.take()
            if self.peek() == "(":
                self.take()
                head = self.step(single_initial=True)
                sub = self.decays(depth + 1)
                if self.peek() != ")":
                    raise self.error("missing ')'")
                self.take()
                out.append(ProcessSpec(head.initial, head.final, head.orders, tuple(sub)))
            else:
                out.append(self.step(single_initial=True))
        if self.peek() == ")" and depth == 0:
            raise self.error("unbalanced ')'")
        if self.peek() not in (")", None):
            raise self.error(f"unexpected {self.peek()!r}")
        return out

    def parse(self) -> ProcessSpec:
        core = self.step(single_initial=False)
        decays = self.decays(0)
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()!r}")
        return ProcessSpec(core.initial, core.final, core.orders, tuple(decays))


def parse_process(text: str, model: Model) -> ProcessSpec:
    """Parse a MadGraph process string into a tree of production and decay steps."""
    return _Parser(text, model).parse()
