"""tinn: reconstruct collider events with a DQN agent rewarded by exact matrix elements.

Each sub-command lives in ``tinn_dist/commands/<name>.py`` and exposes ``register(subparsers)``, which adds its
parser and sets ``func`` to the function that runs it (heavy imports happen inside that function)."""

from __future__ import annotations

import argparse
import importlib
import sys

from tinn_dist import __version__
from tinn_dist.errors import TinnError

# Order shown in `tinn --help`.
COMMANDS = ("convert", "me", "generate", "train", "evaluate", "reconstruct", "explain", "tag", "anomaly")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinn", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"tinn-dist {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"tinn_dist.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TinnError as exc:
        print(f"tinn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tinn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
