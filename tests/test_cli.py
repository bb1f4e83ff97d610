import subprocess
import sys

from codecurate import __version__
from codecurate.cli import STAGES, main


def test_help_lists_every_stage(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    for stage in STAGES:
        assert stage in out


def test_version():
    out = subprocess.run([sys.executable, "-m", "codecurate", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and __version__ in out.stdout
