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


def test_help_imports_no_stage():
    """`codecurate --help` stays instant: the stage table names modules, it does not import them."""
    code = (
        "import sys, contextlib, io\n"
        "from codecurate.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main([])\n"
        "heavy = [m for m in sys.modules if m.startswith(('codecurate.curate', 'codecurate.generate', "
        "'codecurate.finetune', 'codecurate.eval', 'torch', 'transformers'))]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
