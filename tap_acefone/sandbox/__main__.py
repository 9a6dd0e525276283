"""``python -m tap_acefone.sandbox``: same as the ``acefone-sandbox`` command."""

import sys

from .cli import main

sys.exit(main())
