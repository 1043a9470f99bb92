"""The timeline page in headless Chromium under load: a real ``greenscope serve`` process, real traced programs.

    python -m benchmarks.browser              # every phase (also part of ``python -m benchmarks``)
    python -m benchmarks.browser --profile    # and where the page's time goes (CDP Profiler, then per part)

Eight phases, each in a module of its own (its docstring says what it measures):

static  `static`: a recording of >= 1M state intervals opened, then ~10 s of panning and zooming.
lanes   `lanes`: 100,000 greenthreads opened, scrolled, filtered, panned and zoomed.
live    `live`: the page following a traced program at 50k events/s: frames per second, JS heap, ingest.
flood   `flood`: the page following a synthetic agent at 1M events/s: its ingest and frames per second.
step    `step`: the live control: a paused program stepped from the page, how long each step takes to show.
big     `big`: issue 17's 10M events on one recording: `greenscope export --chrome`, the server's bytes per event,
        the page's load time, memory and drawing work (``--only big``).
hour    `hour`: 10M events over an hour, more than the server keeps in memory: the index by time, the overview, a
        span picked on it read back from disk into the page, then panned and zoomed (``--only hour``).
crowd   `crowd`: 100,000 greenthreads alive at once in a traced program, the page following it live: the time until
        each has its lane, then frames per second, drawing work and heap while scrolling, filtering and zooming.

The rest: `page` (opening the page, its frames, heap and drawing work, the user's pans and zooms), `profiling`
(``--profile``), `runner` (`Options`, `run`: the phases in turn in one Chromium) and ``__main__`` (the command
line). The server, the child processes and the report are the dashboard benchmark's (`benchmarks.dashboard`).

A report, not a test: it prints figures and PASS/MISS against the targets and exits 0. It stops every process it
starts (servers, the traced program, Chromium), by pid or through Playwright.
"""

from benchmarks.browser.runner import PHASES, Options, run

__all__ = ["PHASES", "Options", "run"]
