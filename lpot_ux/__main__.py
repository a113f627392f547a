"""Run the launcher as ``python -m lpot_ux``."""

import sys

from lpot_ux.cli import main

sys.exit(main())
