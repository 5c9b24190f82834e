"""Entry point for `python -m virtctl` and the `virtctl` console script."""

import sys

from virtctl.cli import main

if __name__ == "__main__":
    sys.exit(main())
