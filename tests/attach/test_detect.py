"""Which runtime a program is written for, read from its imports (and its own modules' imports)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.attach import detect


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return root / "app.py"


@pytest.mark.parametrize(
    ("source", "runtime"),
    [
        ("import eventlet\neventlet.monkey_patch()\n", "eventlet"),
        ("from eventlet.green.urllib.request import urlopen\n", "eventlet"),
        ("from gevent import monkey\nmonkey.patch_all()\n", "gevent"),
        ("import locust\n", "gevent"),
        ("import runtime as eventlet\n", "greenscope"),
        ("import runtime\nimport gevent\n", "gevent"),  # a peer's program is never patched with ours
        ("import threading\nimport asyncio\n", None),
        ("def later():\n    import eventlet\n", "eventlet"),  # imported on some path: what it is written for
    ],
)
def test_a_programs_imports_say_what_it_runs_on(tmp_path: Path, source: str, runtime: str | None):
    assert detect(_write(tmp_path, {"app.py": source})).runtime == runtime


def test_its_own_modules_count_and_say_where(tmp_path: Path):
    app = _write(
        tmp_path,
        {
            "app.py": "import helpers\nfrom service import server\n",
            "helpers.py": "import json\n",
            "service/__init__.py": "",
            "service/server.py": "import os\n\nfrom gevent.pool import Pool\n",
        },
    )
    found = detect(app)
    assert found.runtime == "gevent"
    assert found.why == "imports gevent (server.py:3)"


def test_a_module_of_its_own_named_like_a_runtime_is_its_own(tmp_path: Path):
    assert detect(_write(tmp_path, {"app.py": "import runtime\n", "runtime.py": "x = 1\n"})).runtime is None


def test_both_peers_at_once_must_be_chosen_between(tmp_path: Path):
    with pytest.raises(ValueError, match="say which with --runtime"):
        detect(_write(tmp_path, {"app.py": "import eventlet\nimport gevent\n"}))


def test_an_unreadable_program_says_nothing(tmp_path: Path):
    assert detect(_write(tmp_path, {"app.py": "def broken(:\n"})).runtime is None
