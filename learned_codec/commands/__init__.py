"""One module per `learned-codec` subcommand (see learned_codec/cli.py)."""
