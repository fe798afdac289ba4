"""The `learned-codec` command: parses arguments, calls one subcommand, prints.

Each subcommand lives in learned_codec/commands/<name>.py and exposes
HELP (one line), DESCRIPTION, add_arguments(parser) and run(args) -> int.
Command modules import heavy libraries (torch, ...) inside run(), so that
`learned-codec --help` answers at once.
"""
import argparse
import importlib
import sys
import warnings

from learned_codec.errors import UserError

# (subcommand, module under learned_codec.commands)
COMMANDS = [
    ("data", "data"),
    ("train", "train"),
    ("encode", "encode"),
    ("decode", "decode"),
    ("eval", "evaluate"),
    ("classify", "classify"),
    ("compress-model", "compress_model"),
    ("bench", "bench"),
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="learned-codec",
        description=(
            "Learned image and video compression of small frames (Pac-Man by default), "
            "compared with JPEG/WebP/AVIF and video codecs in real bytes, PSNR and SSIM."
        ),
        epilog="Run `learned-codec COMMAND --help` for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in COMMANDS:
        mod = importlib.import_module(f"learned_codec.commands.{module}")
        p = sub.add_parser(
            name,
            help=mod.HELP,
            description=mod.DESCRIPTION,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _version():
    from learned_codec import __version__

    return __version__


def main(argv=None):
    # CompressAI (imported by the models) still calls torch.jit.script, which this
    # torch deprecates with a warning on every run; it is not the user's concern.
    warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated", category=FutureWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args._run(args)
    except UserError as e:
        print(f"learned-codec {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"learned-codec {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
