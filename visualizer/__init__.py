"""greenscope's dashboard and command line: `greenscope record`, `greenscope export`."""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
# where the page's templates/ and static/ are: in the package when installed from a wheel
# (setup.py puts them there), at the top of the checkout otherwise
ROOT = _HERE if (_HERE / "templates").is_dir() else _HERE.parent
