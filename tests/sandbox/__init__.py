"""Tests of the Acefone sandbox (tap_acefone.sandbox)."""
