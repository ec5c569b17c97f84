"""Entry script for the Ray cluster launcher:

    ray submit deploy/cluster.yaml deploy/train_entry.py --config configs/tttt.yaml [tinn train options]

``ray submit`` copies this file to the head node and runs it there; it runs ``tinn train`` inside the repository
copy that ``deploy/cluster.yaml`` syncs to ``~/tinn-dist`` on every node, joined to the running cluster.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":
    os.chdir(os.path.expanduser(os.environ.get("TINN_REPO", "~/tinn-dist")))
    from tinn_dist.cli import main

    sys.exit(main(["train", "--address", "auto", *sys.argv[1:]]))
