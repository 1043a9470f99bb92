"""Why is the program slow: pools, queues, functions and findings, computed from events.

`analyse(events)` is a pure function, like `states.intervals` (whose state machine it runs):
the dashboard serves its numbers, the page shows them as they are, and tests check them
exactly. `Analyzer` is the same, fed a batch at a time (a live session: only what came
since the last report is read). Everything is in nanoseconds of the events' own clock;
greenthreads are named by gid, pools and queues by their ``obj`` id and name.

- **pools**: the share of their life they were full (running == size, whether or not
  anyone waits), the mean share of their slots in use, the spawners waiting for a slot now
  and since when, the slot waits (p50 / p95 / max), completions per second, the mean time a
  member holds a slot, and the size Little's law asks for (arrivals per second times the mean hold).
- **queues**: the share of time full and empty, put and get waits, who waits now.
- **others** (semaphores, events): the waits on each, who waits now.
- **functions**: per spawned function, how many, time per state and per block reason,
  scheduler latency (woken → running) and stalls (running without yielding for longer
  than `stall_ns`: the hub and every other greenthread waited).
- **findings**: sentences with the numbers, ranked by the time they cost, each with the
  greenthread to select (`gid`) and the moment to show (`at`).

With `start` / `stop` (absolute ns), only that range counts: the page's range selection.

The parts: `analyzer` (the `Analyzer`: feed and report), `greenthreads` (per greenthread
and per function), `resources` (pools, queues, others), `findings`, `distributions`.
"""

from runtime.trace.analysis.analyzer import STALL_NS, Analyzer, analyse, relative
from runtime.trace.analysis.distributions import distribution
from runtime.trace.analysis.greenthreads import TASK_SORTS

__all__ = ["STALL_NS", "TASK_SORTS", "Analyzer", "analyse", "distribution", "relative"]
