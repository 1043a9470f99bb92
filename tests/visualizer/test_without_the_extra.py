"""`greenscope serve` in an install without the ``visualizer`` extra says what to install, in one line."""

from __future__ import annotations

import subprocess
import sys


def test_serve_without_flask_says_what_to_install():
    program = "import sys; sys.modules['flask'] = None; from visualizer.cli import main; sys.exit(main(['serve']))"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr == "greenscope: error: the dashboard needs flask: pip install 'greenscope[visualizer]'\n"
