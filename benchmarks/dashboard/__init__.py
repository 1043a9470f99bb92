"""The dashboard's streaming under load: a real ``greenscope serve`` process, real agents, real Socket.IO viewers.

    python -m benchmarks.dashboard                       # the short run (also part of ``python -m benchmarks``)
    python -m benchmarks.dashboard --long                # the soak phase for 10 minutes
    python -m benchmarks.dashboard --memory-seconds 300  # the memory phase for 5 minutes, the server's default window

Six phases, each against its own server (``python -m visualizer serve --port 0``, its sessions in a temporary
directory) on 127.0.0.1, each in a module of its own (its docstring says what it measures):

ingest       `ingest`: one synthetic agent as fast as it can, the events/s the server ingests.
delay        `delay`: end-to-end delay of a traced program paced to 50k events/s, then of a synthetic agent.
memory       `memory`: the saturation workload at full rate, the server's RSS over time.
slow viewer  `slow_viewer`: a viewer that stalls next to a normal one.
soak         `soak`: the synthetic agent at full speed, viewers stalling, joining and leaving; RSS and loss.
analysis     `analysis`: the server's analysis of a recording of ~1M events.

The rest: `load` (the child roles: the synthetic agent, the paced traced program; the recorded program),
`server` (the server process and the children), `viewer` (a Socket.IO viewer), `report` (lines, figures,
verdicts), `runner` (`Options`, `run`: the phases in turn) and ``__main__`` (the command line).

A report, not a test: it prints figures and PASS/MISS against the targets and exits 0. Every process it starts
(servers, agents, the workload it launches) it stops itself, by pid.
"""

from benchmarks.dashboard.runner import PHASES, Options, run

__all__ = ["PHASES", "Options", "run"]
