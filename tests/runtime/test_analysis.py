"""The analysis (runtime/trace/analysis/) of small programs on virtual time: every number exact."""

from __future__ import annotations

import pytest

import runtime
from runtime.trace.analysis import analyse, distribution
from runtime.trace.recorder import Recorder
from tests.support import code_name

S = 10**9  # ns in a second


@pytest.fixture
def rec(clock):
    r = Recorder(clock=lambda: round(clock() * 1e9)).install()
    yield r
    r.uninstall()


def one(items: list[dict], **match) -> dict:
    found = [it for it in items if all(it.get(k) == v for k, v in match.items())]
    assert len(found) == 1, found
    return found[0]


def test_distributions_are_nearest_rank():
    assert distribution([3, 1, 2, 4]) == {"count": 4, "p50": 2, "p95": 4, "max": 4, "total": 10}
    assert distribution([]) == {"count": 0, "p50": 0, "p95": 0, "max": 0, "total": 0}


def test_a_pool_saturated_by_spawners(rec):
    """Size 1, a request every 0.5 s, each served in 1 s: the waits grow 0.5 s a request."""
    pool = runtime.GreenPool(1, name="servers")

    def request(n):
        runtime.sleep(0.5 * n)
        pool.spawn(runtime.sleep, 1).wait()

    requests = [runtime.spawn(request, n) for n in range(4)]
    for r in requests:
        r.wait()
    a = analyse(rec.take())
    p = one(a["pools"], name="servers")
    assert p["life"] == 4 * S and p["full"] == 4 * S and p["full_share"] == 1.0  # one slot in use from 0 to 4 s
    assert p["slot_wait"] == {"count": 3, "p50": S, "p95": 3 * S // 2, "max": 3 * S // 2, "total": 3 * S}
    assert p["longest_wait"] == {"gid": requests[3].gid, "ns": 3 * S // 2, "at": 3 * S // 2}
    assert (p["members"], p["completions"], p["throughput"], p["hold_mean"]) == (4, 4, 1.0, S)
    assert p["arrivals"] == 2.0 and p["little"] == 2  # 4 requests in 1.5 s: 2/s x 1 s each
    # request n sleeps 0.5n s, waits 0.5n s for a slot, then 1 s for its member; main waits 4 s for them all
    top = [(t["gid"], t["blocked"], t["state"]) for t in a["tasks"][:5]]
    assert top == [(1, 4 * S, "running")] + [(requests[n].gid, (n + 1) * S, "done") for n in (3, 2, 1, 0)]
    # woken by its sleep's timer, its slot and its member; request 0 only by its member
    # (its sleep(0) yields, and it got a slot at once)
    assert [t["wakes"] for t in a["tasks"][1:5]] == [3, 3, 3, 1]
    finding = a["findings"][0]
    assert finding["kind"] == "pool" and finding["gid"] == requests[3].gid and finding["at"] == 3 * S // 2
    assert finding["text"].startswith("pool `servers` was full 100 % of 4 s; 3 spawners waited for a slot p95 1.5 s")
    assert finding["text"].endswith("A size of ~2 would keep up with 2 arrivals/s x 1 s held each.")


def test_a_pool_saturated_through_imap(rec):
    """imap's own spawner fills the pool as slots free (as eventlet's does): it is the spawner that waits."""
    pool = runtime.GreenPool(2, name="crawler")
    assert list(pool.imap(lambda n: runtime.sleep(1) or n, range(4))) == [0, 1, 2, 3]
    a = analyse(rec.take())
    p = one(a["pools"], name="crawler")
    spawner = one(a["tasks"], func="imap_spawner")
    assert p["life"] == 2 * S and p["full_share"] == 1.0 and p["occupancy"] == 1.0
    assert p["slot_wait"] == {"count": 1, "p50": S, "p95": S, "max": S, "total": S}  # the third call's slot
    assert p["longest_wait"] == {"gid": spawner["gid"], "ns": S, "at": 0}
    finding = one(a["findings"], kind="pool")
    assert finding["gid"] == spawner["gid"] and finding["at"] == 0
    assert finding["text"].startswith("pool `crawler` was full 100 % of 2 s; 1 spawner waited for a slot p95 1 s")


def test_a_greenthread_that_holds_the_hub(rec, clock):
    def hog():
        for _ in range(2):
            clock.advance(0.3)  # runs 300 ms without yielding (the virtual clock moves, the hub does not)
            runtime.sleep(0.1)

    g = runtime.spawn(hog)
    g.wait()
    a = analyse(rec.take())
    stalls = [(s["gid"], s["start"], s["ns"]) for s in a["stalls"]]
    assert stalls == [(g.gid, 0, 3 * S // 10), (g.gid, 4 * S // 10, 3 * S // 10)]
    assert [f["stalls"] for f in a["functions"] if f["func"].endswith("hog")] == [2]
    text = one(a["findings"], kind="stall")["text"]
    assert text.startswith(f"gt{g.gid} `") and text.endswith(
        "hog` held the hub 2 times, for up to 300 ms (600 ms in all): every other greenthread waited."
    )


def test_scheduler_latency_when_one_greenthread_runs_long(rec, clock):
    def long():
        clock.advance(0.2)

    def short():
        pass

    a_, b_ = runtime.spawn(long), runtime.spawn(short)  # both ready at 0; `short` runs once `long` is done
    a_.wait(), b_.wait()
    a = analyse(rec.take())
    assert next(f["latency"] for f in a["functions"] if f["func"].endswith("short")) == {
        "count": 1,
        "p50": 2 * S // 10,
        "p95": 2 * S // 10,
        "max": 2 * S // 10,
        "total": 2 * S // 10,
    }
    assert one(a["findings"], kind="latency")["text"].startswith("woken greenthreads waited p95 200 ms (max 200 ms)")


def test_a_queue_whose_consumer_is_slower_than_its_producer(rec):
    q = runtime.Queue(1, name="jobs")

    def producer():
        for i in range(5):
            q.put(i)

    def consumer():
        for _ in range(5):
            runtime.sleep(1)
            q.get()

    p, c = runtime.spawn(producer), runtime.spawn(consumer)
    p.wait(), c.wait()
    a = analyse(rec.take())
    jobs = one(a["queues"], name="jobs")
    assert jobs["put_wait"] == {"count": 4, "p50": S, "p95": S, "max": S, "total": 4 * S}  # puts 1 to 4 wait 1 s each
    assert jobs["get_wait"]["count"] == 0  # the consumer always found an item
    assert jobs["full_share"] == 1.0 and jobs["empty_share"] == 0.0  # full from the first put to the last get
    assert one(a["findings"], kind="queue")["text"] == (
        "queue `jobs` was full 100 % of 5 s: 4 puts waited p95 1 s: its consumers are slower than its producers."
    )


def test_a_range_counts_only_what_is_in_it(rec):
    runtime.spawn(runtime.sleep, 2).wait()
    events = rec.take()
    whole, second = analyse(events), analyse(events, S, 2 * S)
    assert whole["states"]["sleep"] == 2 * S and second["states"]["sleep"] == S
    assert second["span"] == [S, 2 * S]


def test_who_waits_at_the_end_of_a_range(rec):
    q = runtime.Queue(name="q")

    def consumer():
        return q.get()

    c = runtime.spawn(consumer)
    runtime.sleep(1)
    q.put(1)
    c.wait()
    events = rec.take()
    half = analyse(events, 0, S // 2)  # it is still waiting when the range ends
    assert one(half["queues"], name="q")["getters_now"] == [{"gid": c.gid, "since": 0}]
    parked = next(t["parked"] for t in half["tasks"] if t["gid"] == c.gid)
    assert parked["reason"] == "queue_get" and parked["where"].endswith(f"in {code_name(consumer)}")
    whole = analyse(events)
    assert one(whole["queues"], name="q")["getters_now"] == []
    assert one(whole["queues"], name="q")["get_wait"] == {"count": 1, "p50": S, "p95": S, "max": S, "total": S}


def test_waits_on_a_semaphore_and_an_event(rec):
    sem, done = runtime.Semaphore(1, name="lock"), runtime.Event(name="done")

    def holder():
        with sem:
            runtime.sleep(1)

    def waiter():
        with sem:
            pass
        done.wait()

    h, w = runtime.spawn(holder), runtime.spawn(waiter)
    runtime.sleep(2)
    half = analyse(rec.take(), 0, S // 2)
    lock, ev = one(half["others"], name="lock"), one(half["others"], name="done")
    assert lock["type"] == "semaphore" and lock["waiting_now"] == [{"gid": w.gid, "since": 0}]
    assert ev["waiting_now"] == []  # the waiter gets to the event at 1 s
    done.send()
    h.wait(), w.wait()
