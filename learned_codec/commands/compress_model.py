"""learned-codec compress-model: prune or quantize a classifier or codec decoder and measure the per-class cost"""
from learned_codec.errors import UserError

HELP = "prune or quantize a classifier or codec decoder and measure the per-class cost"
DESCRIPTION = HELP + """

MODEL is a classifier run (`learned-codec classify train --out RUN_DIR`) or a codec run
folder / shipped model name (conv5). Each requested variant is saved as a run folder
OUT/<variant>/ (config.json + compressed model.safetensors, never pickles), loaded back
and measured beside the uncompressed model:

  prune         gradual magnitude pruning (torch.nn.utils.prune, cubic schedule over
                --steps steps, fine-tuning after each), made permanent, stored sparse
                (non-zero values + a 1-bit mask), so the bytes on disk are real
  fp16          weights stored as float16, float32 arithmetic after loading
  int8-dynamic  conv/linear weights stored as per-channel int8; Linear layers run with
                torch.ao dynamic int8 quantization, conv layers are weight-only int8
  all           prune at every --sparsity, fp16 and int8-dynamic

Classifiers: the whole network; top-1, micro P/R/F1, per-class accuracy and the
impacted classes / images (CIE) analysis of the reference paper (section IX.vii).
Codecs: the decoder only (the encoder stays float32, so the rate does not change);
PSNR / SSIM / bytes per frame on the test frames, decoder bytes and latency. The .lcf
header of a compressed codec binds the compressed weights' SHA-256; encode/decode take
OUT/<variant> as --model.

Writes into OUT: report.json, summary.csv, report.md and plots (per_class.csv and
per_class.png for classifiers, decoder_rd.png for codecs).

examples:
  learned-codec compress-model conv5 --method all --out reports/compress-conv5
  learned-codec compress-model runs/fmnist --method prune --sparsity 0.5 --out reports/p50
  learned-codec compress-model runs/fmnist --method fp16,int8-dynamic --out reports/q
"""


def _floats(text):
    try:
        return [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--sparsity {text!r}: expected numbers like 0.3,0.5") from None


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="classifier run folder, codec run folder or shipped name")
    parser.add_argument("--method", required=True,
                        help="prune, fp16, int8-dynamic, a comma-separated list, or all")
    parser.add_argument("--sparsity", default=None,
                        help="target sparsity (or list) for prune: 0.3, 0.5, 0.7, 0.9; 0 is the control (the same "
                             "fine-tuning, nothing removed). Default with all: 0, 0.3, 0.5, 0.7, 0.9")
    parser.add_argument("--out", required=True, metavar="OUT_DIR", help="output folder")
    prune = parser.add_argument_group("pruning")
    prune.add_argument("--steps", type=int, default=4, help="pruning steps up to the target (default: 4)")
    prune.add_argument("--scope", choices=("layer", "global"), default="layer",
                       help="same sparsity in every layer (default, as TF-MOT) or one global ranking")
    prune.add_argument("--lr", type=float, default=1e-4, help="fine-tuning learning rate (default: 1e-4)")
    prune.add_argument("--no-finetune", action="store_true", help="prune without fine-tuning")
    cls = parser.add_argument_group("classifiers")
    cls.add_argument("--finetune-epochs", type=int, default=1,
                     help="fine-tuning epochs after each pruning step (default: 1)")
    cls.add_argument("--finetune-size", type=int, default=5000,
                     help="training images used for fine-tuning (default: 5000)")
    cls.add_argument("--test-size", type=int, default=None, help="test images (default: the whole test split)")
    cls.add_argument("--boundary", choices=("recomputed", "original"), default="recomputed",
                     help="CIE boundary after compression: the compressed model's own class-accuracy "
                          "standard deviation (default) or the original's")
    cls.add_argument("--cifar-tarball", metavar="PATH", help="cifar-10-python.tar.gz for cifar10 classifiers")
    codec = parser.add_argument_group("codecs")
    codec.add_argument("--data", metavar="DIR", help="frame data set (default: data/pacman)")
    codec.add_argument("--frames", type=int, default=None, help="test frames, evenly spaced (default: all)")
    codec.add_argument("--train-frames", type=int, default=512,
                       help="training frames the pruned decoder fine-tunes on (default: 512)")
    codec.add_argument("--finetune-batches", type=int, default=50,
                       help="fine-tuning batches after each pruning step (default: 50)")
    codec.add_argument("--batch-size", type=int, default=8, help="fine-tuning batch size (default: 8)")
    parser.add_argument("--latency-repeats", type=int, default=10, help="timed repeats (median; default: 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of subsets and fine-tuning (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def parse_methods(args):
    from learned_codec.model_compression.api import DEFAULT_SPARSITIES, parse_variants
    from learned_codec.model_compression.storage import METHODS

    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    if methods == ["all"]:
        methods = list(METHODS)
    sparsities = _floats(args.sparsity) if args.sparsity else (
        list(DEFAULT_SPARSITIES) if args.method.strip() == "all" else [])
    try:
        return parse_variants(methods, sparsities)
    except ValueError as e:
        raise UserError(str(e)) from None


def run(args):
    import warnings

    from learned_codec.fileio import check_writable_dir
    from learned_codec.model_compression.classifiers import is_classifier_run
    from learned_codec.model_compression.report import write_report
    from learned_codec.reporting import environment

    warnings.filterwarnings("ignore", message=r".*torch\.ao\.quantization.*", category=DeprecationWarning)
    variants = parse_methods(args)
    if args.steps < 1:
        raise UserError("--steps must be at least 1")
    check_writable_dir(args.out)
    progress = not args.no_progress
    if is_classifier_run(args.model):
        from learned_codec.model_compression.classifiers import compress_classifier

        report = compress_classifier(
            args.model, variants, args.out, test_size=args.test_size, finetune_size=args.finetune_size,
            finetune_epochs=0 if args.no_finetune else args.finetune_epochs, steps=args.steps,
            scope=args.scope, lr=args.lr, seed=args.seed, boundary=args.boundary,
            latency_repeats=args.latency_repeats, cifar_tarball=args.cifar_tarball, progress=progress)
    else:
        from learned_codec.model_compression.codecs import (
            compress_codec,
            test_and_train_frames,
        )
        from learned_codec.models.checkpoint import resolve_run

        resolve_run(args.model)  # fail fast on a bad name
        test, train, root = test_and_train_frames(args.data, args.frames,
                                                  0 if args.no_finetune else args.train_frames, args.seed)
        report = compress_codec(
            args.model, variants, args.out, test, train, steps=args.steps, scope=args.scope,
            finetune_batches=0 if args.no_finetune else args.finetune_batches, batch_size=args.batch_size,
            lr=args.lr, seed=args.seed, latency_repeats=args.latency_repeats, progress=progress)
        report["data"] = str(root)
    report["command"] = _command_line(args)
    files = write_report(report, args.out, environment())
    print(_summary(report))
    print(f"\nwrote {', '.join(files)} and {len(variants)} compressed model folder(s) into {args.out}")
    return 0


def _command_line(args):
    import shlex
    import sys

    return "learned-codec " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None


def _sp(row):
    return "" if row["reached_sparsity"] is None else f"{row['reached_sparsity']:.3f}"


def _summary(report):
    rows = report["rows"]
    if report["kind"] == "classifier":
        lines = [f"{'variant':<14} {'sparsity':>8} {'top-1':>7} {'F1':>6} {'cls':>4} {'images':>7} "
                 f"{'bytes':>10} {'ms/img':>7}"]
        for r in rows:
            lines.append(f"{r['variant']:<14} {_sp(r):>8} "
                         f"{100 * r['top1']:6.2f}% {r['micro_f1']:6.4f} "
                         f"{'' if r['impacted_classes'] is None else r['impacted_classes']:>4} "
                         f"{'' if r['impacted_images'] is None else r['impacted_images']:>7} "
                         f"{r['model_file_bytes']:>10,} {r['ms_per_image']:7.3f}")
        return "\n".join(lines)
    lines = [f"{'variant':<14} {'sparsity':>8} {'decoder B':>11} {'B/frame':>8} {'PSNR':>6} {'SSIM':>6} {'ms/frame':>8}"]
    for r in rows:
        lines.append(f"{r['variant']:<14} {_sp(r):>8} "
                     f"{r['decoder_bytes']:>11,} {r['bytes_per_frame']:8.1f} {r['psnr']:6.2f} {r['ssim']:6.4f} "
                     f"{r['decoder_ms_per_frame']:8.2f}")
    return "\n".join(lines)
