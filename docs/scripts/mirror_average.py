"""Mirror averaging at test time (the model config's ``mirror_average``): ``served_ab.py`` with
``--set mirror_average=true``, the command behind docs/results/mirror.md's figures.

    python docs/scripts/mirror_average.py CKPT [CKPT ...] --data data/kitml --json OUT.json

Run from the repository root.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from served_ab import main  # noqa: E402

if __name__ == "__main__":
    main(["--set", "mirror_average=true", *sys.argv[1:]])
