"""learned-codec bench: run the pytest-benchmark throughput suites and save their results"""
import os
import subprocess
import sys

from learned_codec.errors import UserError

HELP = "run the pytest-benchmark throughput suites and save their results"
SUITES = {"ops": "bench_ops.py", "codecs": "bench_codecs.py"}
DESCRIPTION = HELP + """

Runs benchmarks/<suite> under pytest-benchmark in a subprocess (from a source
checkout), every baseline in the same run as our kernel, and writes the
pytest-benchmark JSON (with throughputs and speed-up ratios in each
benchmark's extra_info). The ratio table is printed at the end.

suites:
  ops   native kernels: fused DCT+quantize vs torch and scipy, jpeg_simulate vs
        Pillow, k-means (1M x 1, 200k x 16, k=256) vs faiss-cpu and scikit-learn,
        latent quantizers; GPU benchmarks too when a CUDA GPU is present.
  codecs  learned codecs' encode and decode frames/s (conv4, conv5, fc, vae with
        naive quantization) beside Pillow JPEG and WebP, on 200x160 frames.

example:
  learned-codec bench --suite ops --out benchmarks/results/ops_cpu.json
"""


def add_arguments(parser):
    parser.add_argument("--suite", choices=sorted(SUITES), default="ops", help="which suite (default: ops)")
    parser.add_argument("--out", metavar="JSON", default=None,
                        help="where to save the pytest-benchmark JSON (default: benchmarks/results/<suite>.json)")
    parser.add_argument("-k", dest="keyword", default=None, help="only benchmarks matching this pytest -k expression")


def _bench_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.normpath(os.path.join(here, "..", "..", "benchmarks"))
    if not os.path.isdir(path):
        raise UserError(f"benchmarks/ not found at {path}: run from a source checkout of learned-codec")
    return path


def run(args):
    bench = _bench_dir()
    out = os.path.abspath(args.out or os.path.join(bench, "results", f"{args.suite}.json"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cmd = [sys.executable, "-m", "pytest", os.path.join(bench, SUITES[args.suite]), "-q",
           "-p", "no:cacheprovider", f"--benchmark-json={out}"]
    if args.keyword:
        cmd += ["-k", args.keyword]
    print("running:", " ".join(cmd), flush=True)
    rc = subprocess.call(cmd, cwd=bench)
    if rc != 0:
        raise UserError(f"benchmark run failed (pytest exit status {rc})")
    print(f"saved {out}")
    return 0
