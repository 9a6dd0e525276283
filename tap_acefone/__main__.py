"""`python -m tap_acefone` runs the tap."""

from tap_acefone.tap import TapAcefone

TapAcefone.cli()
