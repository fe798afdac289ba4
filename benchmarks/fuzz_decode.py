"""The long decode fuzz run of issue 20 (benchmarks/fuzz_lib.py explains mutations and outcomes).

    PYTHONPATH=. python3 benchmarks/fuzz_decode.py --mutants 100000 --data data/pacman \\
        --out benchmarks/results/fuzz/counts.json

Builds the base files (every codec mode) from the data set's frames (synthetic ones without
--data), then decodes each mutant in a worker process under RLIMIT_AS, and every
--cli-every-th one also with the real CLI (`decode -o` in a fresh folder: refused with one
line and nothing written, or decoded). Writes the counts as JSON (also when --minutes runs
out first: then "mutants" says how many ran). Exit status 1 when any traceback, crash, hang
or wrong output was seen.
"""
import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.fuzz_lib import build_bases, run_fuzz  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mutants", type=int, default=100000)
    p.add_argument("--data", default=None, help="frame data set for the base files (default: synthetic)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=30, help="seconds per mutant before it counts as a hang")
    p.add_argument("--budget", type=int, default=2 << 30, help="decode budget in bytes (default 2 GiB)")
    p.add_argument("--cli-every", type=int, default=500, help="also decode every N-th mutant with the CLI")
    p.add_argument("--minutes", type=float, default=None, help="stop after this long")
    p.add_argument("--out", required=True, help="counts JSON")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        bases = build_bases(Path(tmp) / "bases", args.data, args.seed)
        deadline = time.time() + 60 * args.minutes if args.minutes else None
        counts = run_fuzz(bases, args.mutants, seed=args.seed, timeout=args.timeout, budget=args.budget,
                          cli_every=args.cli_every, cli_dir=Path(tmp) / "cli", deadline=deadline,
                          progress=1000)
    counts["command"] = "PYTHONPATH=. python3 benchmarks/fuzz_decode.py " + " ".join(argv or sys.argv[1:])
    counts["bases"] = [b["name"] for b in bases]
    counts["requested_mutants"] = args.mutants
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(counts, indent=2, sort_keys=True) + "\n")
    bad = counts["traceback"] + counts["crash"] + counts["hang"] + counts["wrong"]
    print(json.dumps({k: counts[k] for k in ("mutants", "refused", "traceback", "crash", "hang", "wrong",
                                             "decoded_same", "decoded_different", "peak_delta_max",
                                             "seconds", "cli")}))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
