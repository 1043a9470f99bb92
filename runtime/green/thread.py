"""A green `_thread`: locks, thread idents, thread-local storage and threads, for greenthreads.

Everything the stdlib's `_thread` has is here; these are green:

- `allocate_lock` / `LockType` (`Lock`): a lock whose contended `acquire` parks the
  greenthread (FIFO; a release hands the lock straight to the longest waiter), with the
  stdlib's ``acquire(blocking=True, timeout=-1)`` (a `timeout` of None also means no limit).
- `RLock`: re-entrant, owned by the current greenlet.
- `get_ident`: per greenthread (its greenthread id), never reused; the thread's own
  ident in the root greenlet of an OS thread (and in its hub).
- `_local`: greenlet-local storage (`threading.local` after patching).
- `start_new_thread`: runs the function in a new greenthread (`spawn_n`) and returns
  its ident. `threading.Thread` is built on it and on `_set_sentinel` (whose lock is
  released when that greenthread ends: what `Thread.join` waits for) up to Python 3.12,
  and on `start_joinable_thread`, `_ThreadHandle` and `_shutdown` from 3.13 on.

Green locks coordinate the greenthreads of one OS thread: do not share one with another
OS thread (a contended acquire there would park on that thread's hub).
"""

from __future__ import annotations

import _thread as _stdlib
import weakref
from collections.abc import Callable
from typing import Any

from greenlet import getcurrent

from runtime.greenthread import gid_of, spawn_n
from runtime.hubs import get_hub
from runtime.hubs.waiter import TIMED_OUT
from runtime.instrument import Cause, Reason
from runtime.waitqueue import WaitQueue

# everything the stdlib's _thread has (constants, error, stack_size, the excepthook...);
# the green versions below replace some of them
for _name, _value in vars(_stdlib).items():
    if not (_name.startswith("__") and _name.endswith("__")):
        globals()[_name] = _value
del _name, _value

# the real ones, captured now: patching replaces them in the stdlib's _thread
_real_get_ident = _stdlib.get_ident
_real_count = _stdlib._count
_TIMEOUT_MAX = _stdlib.TIMEOUT_MAX
_real_shutdown = getattr(_stdlib, "_shutdown", None)  # Python 3.13+


def _check_timeout(blocking: bool, timeout: float | None) -> float | None:
    # the stdlib's argument checks, for a timeout other than the default -1
    if timeout is None:
        return None
    if not blocking:
        raise ValueError("can't specify a timeout for a non-blocking call")
    if timeout < 0:
        raise ValueError("timeout value must be a non-negative number")
    if timeout > _TIMEOUT_MAX:
        raise OverflowError("timeout value is too large")
    return timeout


class Lock:
    """A green lock: `acquire` parks the greenthread while another holds it.

    Any greenthread may release it (as with the stdlib's lock). Waiters get it in FIFO
    order: a release hands it to the longest waiter, so it never looks unlocked between.
    """

    __slots__ = ("__weakref__", "_locked", "_waiters")

    def __init__(self) -> None:
        self._locked = False
        self._waiters: WaitQueue | None = None  # made on the first contended acquire

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock; True once taken, False if not `blocking` or `timeout` expired."""
        timeout = None if timeout == -1 else _check_timeout(blocking, timeout)
        if not self._locked:
            self._locked = True
            return True
        if not blocking:
            return False
        waiters = self._waiters
        if waiters is None:
            waiters = self._waiters = WaitQueue()
        # the releaser hands the lock over: it stays locked, now for us
        return waiters.park(Reason.LOCK, self, timeout) is not TIMED_OUT

    def release(self) -> None:
        """Give the lock to the longest waiter, or unlock it. RuntimeError if unlocked."""
        if not self._locked:
            raise RuntimeError("release unlocked lock")
        waiters = self._waiters
        if not (waiters and waiters.unpark_one(None, Cause.RELEASE)):
            self._locked = False

    def locked(self) -> bool:
        """True if the lock is held."""
        return self._locked

    def _at_fork_reinit(self) -> None:
        self._locked = False
        self._waiters = None

    __enter__ = acquire

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

    # the old names
    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def __repr__(self) -> str:
        state = "locked" if self._locked else "unlocked"
        return f"<{state} {type(self).__module__}.{type(self).__qualname__} object at {id(self):#x}>"


LockType = allocate_lock = allocate = Lock  # the class makes the locks: no call in between


class RLock:
    """A green re-entrant lock, owned by the greenlet that acquired it."""

    __slots__ = ("__weakref__", "_block", "_count", "_owner")

    def __init__(self) -> None:
        self._block = Lock()
        self._owner: Any = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float | None = -1) -> bool:
        """Take the lock (again, if the current greenlet holds it); False if not taken."""
        me = getcurrent()
        if self._owner is me:
            self._count += 1
            return True
        if not self._block.acquire(blocking, timeout):
            return False
        self._owner = me
        self._count = 1
        return True

    def release(self) -> None:
        """Undo one `acquire`; the last one unlocks. RuntimeError unless held by the caller."""
        if self._owner is not getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._owner = None
            self._block.release()

    __enter__ = acquire

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

    def locked(self) -> bool:
        return self._block.locked()

    # what threading.Condition uses to wait with an RLock
    def _is_owned(self) -> bool:
        return self._owner is getcurrent()

    def _release_save(self) -> tuple[int, Any]:
        if self._owner is not getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def _recursion_count(self) -> int:
        return self._count if self._owner is getcurrent() else 0

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        owner = self._owner
        state = "locked" if owner is not None else "unlocked"
        return (
            f"<{state} {type(self).__module__}.{type(self).__qualname__} object"
            f" owner={0 if owner is None else _ident_of(owner)} count={self._count} at {id(self):#x}>"
        )


# ---------------------------------------------------------------- idents


def _ident_of(glet: Any) -> int:
    gid = getattr(glet, "gid", None)
    if gid is None:
        gid = gid_of(glet)
    # 0 is a hub, 1 the root greenlet of an OS thread: both are that thread
    return gid if gid > 1 else _real_get_ident()


def get_ident() -> int:
    """The current greenthread's ident: unique in the process, never reused."""
    return _ident_of(getcurrent())


# ---------------------------------------------------------------- threads

# greenthreads started by start_new_thread -> their sentinel locks (see _set_sentinel)
_running: dict[Any, list[Lock]] = {}


def start_new_thread(function: Callable[..., Any], args: tuple, kwargs: dict | None = None) -> int:
    """Run ``function(*args, **kwargs)`` in a new greenthread; return its ident.

    SystemExit ends it quietly; another exception is printed (as the stdlib does).
    """
    if not callable(function):
        raise TypeError("first arg must be callable")
    if not isinstance(args, tuple):
        raise TypeError("2nd arg must be a tuple")
    if kwargs is not None and not isinstance(kwargs, dict):
        raise TypeError("optional 3rd arg must be a dictionary")
    return gid_of(spawn_n(_run, function, args, kwargs or {}, None))


start_new = start_new_thread


def _run(function: Callable[..., Any], args: tuple, kwargs: dict, handle: _ThreadHandle | None) -> None:
    me = getcurrent()
    _running[me] = [] if handle is None else [handle._done]
    try:
        function(*args, **kwargs)
    except SystemExit:
        pass
    except Exception as e:
        get_hub().report_error(f"thread started by {function!r}", e)
    finally:
        if handle is not None:
            handle._ended = True
            _non_daemon.discard(handle)
        for lock in _running.pop(me):
            if lock.locked():
                lock.release()


def _set_sentinel() -> Lock:
    """A lock released when the current greenthread (started by `start_new_thread`) ends."""
    lock = Lock()
    locks = _running.get(getcurrent())
    if locks is not None:
        locks.append(lock)
    return lock


class _ThreadHandle:
    """A green thread's handle (what ``threading.Thread`` joins from Python 3.13 on).

    `join` parks until the thread's greenthread has ended, or `timeout` seconds.
    """

    __slots__ = ("__weakref__", "_done", "_ended", "ident")

    def __init__(self) -> None:
        self.ident: int | None = None
        self._ended = False
        self._done = Lock()  # held while the thread runs

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (at most `timeout` seconds)."""
        if self.ident is None:
            raise RuntimeError("thread not started")
        if not self._ended and self._done.acquire(True, -1 if timeout is None else max(timeout, 0)):
            self._done.release()

    def is_done(self) -> bool:
        """True once the thread has ended."""
        return self._ended

    def _set_done(self) -> None:
        self._ended = True
        if self._done.locked():
            self._done.release()


_non_daemon: set[_ThreadHandle] = set()  # what `_shutdown` waits for


def start_joinable_thread(
    function: Callable[[], Any], handle: _ThreadHandle | None = None, daemon: bool = True
) -> _ThreadHandle:
    """Run ``function()`` in a new greenthread; return its handle (`handle` if given)."""
    if handle is None:
        handle = _ThreadHandle()
    elif handle.ident is not None:
        raise RuntimeError("thread already started")
    handle._done.acquire()
    if not daemon:
        _non_daemon.add(handle)
    handle.ident = gid_of(spawn_n(_run, function, (), {}, handle))
    return handle


def _shutdown() -> None:
    """Wait for the non-daemon threads: the green ones, then the OS threads."""
    while _non_daemon:
        _non_daemon.pop().join()
    if _real_shutdown is not None:
        _real_shutdown()


def _count() -> int:
    """How many threads run, besides the main one: OS threads plus green ones started here."""
    return _real_count() + len(_running)


# ---------------------------------------------------------------- greenlet-local storage

_local_guard = _stdlib.RLock()  # a real lock: a local may be shared with other OS threads


def _select(self: local) -> None:
    # Make the current greenlet's dict the instance's __dict__ (under _local_guard).
    glet = getcurrent()
    dicts = object.__getattribute__(self, "_gs_dicts")
    d = dicts.get(glet)
    if d is not None:
        object.__setattr__(self, "__dict__", d)
        return
    d = dicts[glet] = {}
    object.__setattr__(self, "__dict__", d)
    init = type(self).__init__
    if init is not object.__init__:  # a subclass's __init__ runs once per greenlet
        args, kwargs = object.__getattribute__(self, "_gs_args")
        init(self, *args, **kwargs)


class local:
    """Greenlet-local storage: each greenlet sees its own attributes.

    As with `threading.local`, a subclass's ``__init__`` runs again (with the same
    arguments) the first time each greenlet touches the object. A greenlet's attributes
    go away with the greenlet.
    """

    __slots__ = ("__dict__", "__weakref__", "_gs_args", "_gs_dicts")

    def __new__(cls, *args: Any, **kwargs: Any) -> local:
        if (args or kwargs) and cls.__init__ is object.__init__:
            raise TypeError("Initialization arguments are not supported")
        self = object.__new__(cls)
        object.__setattr__(self, "_gs_args", (args, kwargs))
        dicts: weakref.WeakKeyDictionary[Any, dict] = weakref.WeakKeyDictionary()
        dicts[getcurrent()] = object.__getattribute__(self, "__dict__")  # __init__ fills it
        object.__setattr__(self, "_gs_dicts", dicts)
        return self

    def __getattribute__(self, name: str) -> Any:
        with _local_guard:
            _select(self)
            return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "__dict__":
            raise AttributeError(f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        with _local_guard:
            _select(self)
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name == "__dict__":
            raise AttributeError(f"{type(self).__name__!r} object attribute '__dict__' is read-only")
        with _local_guard:
            _select(self)
            object.__delattr__(self, name)


_local = local


# ---------------------------------------------------------------- threading.current_thread


def current_thread_function(threading_module: Any) -> Callable[[], Any]:
    """A green ``current_thread()`` for `threading_module` (the stdlib's, or a green copy).

    A greenthread started by ``threading.Thread`` gets its Thread (and the root greenlet
    the main thread). Any other greenthread gets one Thread object of its own, made on
    first call and dropped with the greenlet, instead of the stdlib's `_DummyThread`,
    which would stay in ``threading._active`` forever.
    """
    Thread = threading_module.Thread
    views: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()

    class GreenletThread(Thread):  # type: ignore[misc,valid-type]
        """The Thread of a greenthread not started by ``threading.Thread``."""

        def __init__(self, glet: Any) -> None:
            Thread.__init__(self, name=f"GreenThread-{gid_of(glet)}", daemon=False)
            self._started.set()
            self._ident = _ident_of(glet)
            self._glet = weakref.ref(glet)

        def is_alive(self) -> bool:
            glet = self._glet()
            return glet is not None and not glet.dead

        def join(self, timeout: float | None = None) -> None:
            raise RuntimeError("cannot join a greenthread that was not started by threading.Thread")

    def current_thread() -> Any:
        """The Thread object of the current greenthread."""
        glet = getcurrent()
        thread = threading_module._active.get(_ident_of(glet))
        if thread is None:
            thread = views.get(glet)
            if thread is None:
                thread = views[glet] = GreenletThread(glet)
        return thread

    return current_thread
