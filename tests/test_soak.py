"""Short runs of tools/soak.py's leak checks (the long ones are in the tool): an
interpreter create / allocate / invoke / drop loop under LeakSanitizer reports no leak
through microdl's extension, and resident memory stays flat over 200,000 invokes.
(tools/soak.py lsan was checked to fail when Engine.__dealloc__ skips a free.)"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
import soak  # noqa: E402


def test_no_leak_through_the_extension_under_lsan(capsys):
    ok = soak.cmd_lsan(argparse.Namespace(count=150, model="hello", max_growth_kib=0))
    out = capsys.readouterr().out
    assert ok, out
    assert "0 through microdl's extension" in out


def test_resident_memory_flat_over_invokes(capsys):
    ok = soak.cmd_invokes(argparse.Namespace(count=200_000, max_growth_kib=256))
    assert ok, capsys.readouterr().out
