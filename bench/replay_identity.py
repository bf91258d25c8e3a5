"""Do two revisions fuse the same recordings into the same outputs? (a refactor's check)

Each scenario is recorded once (the first revision's simulation) and replayed by each
revision's fusion in its own process; the alert events and the track snapshots (contract JSON,
one per line) must be byte-identical. Exit status 1 on any difference.

    python bench/replay_identity.py BASE [OTHER] [--scenario line-abreast ...] [--duration S]

``BASE`` and ``OTHER`` are git revisions; ``OTHER`` defaults to the working tree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RECORD = """
import sys
from pathlib import Path
from sim.record import record
from sim.scenario import load_scenario
name, duration, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
record(load_scenario(name, duration_s=float(duration) if duration else None), out)
"""

_FUSE = """
import sys
from pathlib import Path
from perimeter.contract import dump_payload
from perimeter.fusion.replay import Replay
from perimeter.thresholds import Thresholds
from sim.scenario import load_scenario
name, recording, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with open(recording, encoding="utf-8") as lines:
    run = Replay(lines, load_scenario(name).site_model, Thresholds(), keep_snapshots=True)
    alerts = [dump_payload(e).decode() + "\\n" for e in run]
snapshots = [dump_payload(s).decode() + "\\n" for s in run.output.snapshots]
(out / "alerts.jsonl").write_text("".join(alerts))
(out / "snapshots.jsonl").write_text("".join(snapshots))
"""


def _tree(revision: str | None, into: Path) -> Path:
    """The source tree of ``revision`` (None: the working tree)."""
    if revision is None:
        return ROOT
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _python(tree: Path, code: str, *args: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", code, *args], check=True, env=env, cwd=tree)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("other", nargs="?", default=None)
    parser.add_argument("--scenario", action="append", default=None)
    parser.add_argument("--duration", default="", help="simulated seconds (default: each "
                                                       "scenario's own)")
    args = parser.parse_args()
    scenarios = args.scenario or ["line-abreast"]
    differ = False
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        trees = [_tree(args.base, work / "base"), _tree(args.other, work / "other")]
        for name in scenarios:
            recording = work / f"{name}.jsonl"
            _python(trees[0], _RECORD, name, args.duration, str(recording))
            outs = []
            for k, tree in enumerate(trees):
                out = work / f"{name}-{k}"
                out.mkdir()
                _python(tree, _FUSE, name, str(recording), str(out))
                outs.append(out)
            for kind in ("alerts", "snapshots"):
                a, b = ((o / f"{kind}.jsonl").read_bytes() for o in outs)
                same = a == b
                differ |= not same
                lines = a.count(b"\n"), b.count(b"\n")
                print(f"{name} {kind}: {lines[0]} vs {lines[1]} lines, "
                      f"{'identical' if same else 'DIFFERENT'}", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
