"""``python -m nmsim``: Ctrl-C during the (slow) imports ends with one line, never a traceback."""

import signal
import sys


def _interrupted(signum, frame):  # until the CLI is imported and handles KeyboardInterrupt itself
    try:
        sys.stderr.write("nmsim: error: interrupted\n")
        sys.stderr.flush()
    finally:
        import os

        os._exit(130)


signal.signal(signal.SIGINT, _interrupted)
from nmsim.cli import main  # noqa: E402

signal.signal(signal.SIGINT, signal.default_int_handler)
raise SystemExit(main())
