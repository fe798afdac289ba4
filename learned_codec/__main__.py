import sys

from learned_codec.cli import main

sys.exit(main())
