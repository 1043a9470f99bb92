/* runtime.trace._hooks: the recorder's hottest hooks in C: a greenthread's (switched, blocked, woken) and the
   hub's (before_io_wait, after_io_wait, timers_fired), and the buffer they write.

   Hooks(kinds, codes, capacity, drops, clock, gid_of, where, resource_state)

   `codes`: the kind codes of SWITCH, BLOCK, WAKE, HUB_WAIT, HUB_WAKE and TIMERS, in this order.

   Each hook does what `Recorder._bind`'s closure of the same name does, but into a buffer of its
   own: per kind, its times and greenthread ids as raw int64s and its other fields as references,
   row after row (no int object made per time, none freed at the take). It appends an event's
   row, then its kind to `kinds` (the recorder's bytearray, shared with the hooks in Python), so
   `take` — given the kinds taken — hands out exactly the events those kinds name, oldest first,
   as columns: array("q") for the ints, lists for the rest. A full buffer counts a drop instead.
   With the default clock (time.perf_counter_ns: CLOCK_MONOTONIC on Linux) the time is read directly.
   Optional: without it the closures run (`runtime.trace.recorder`). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "../_gid.h"
#include <limits.h> /* LLONG_MAX */
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>
#endif

enum { SWITCH, BLOCK, WAKE, HUB_WAIT, HUB_WAKE, TIMERS, KINDS }; /* the order of `codes` */

/* each kind's fields, ts first: 'i' an int64 (a time, a greenthread id), 'o' a reference */
static const char *const LAYOUT[KINDS] = {
    "iii",    /* switch: ts, from, to */
    "iioooo", /* block: ts, gid, reason, obj, detail, where */
    "iioio",  /* wake: ts, gid, cause, waker, late */
    "iio",    /* hub_wait: ts, hub, timeout */
    "iio",    /* hub_wake: ts, hub, nready */
    "iioo",   /* timers: ts, hub, count, late */
};
#define MAX_FIELDS 6

/* one kind's events not yet taken: `n` rows of `ni` int64s and of `no` references */
typedef struct {
    long long *ints;
    PyObject **refs;
    Py_ssize_t n, room;
    int ni, no;
} Rows;

typedef struct {
    PyObject_HEAD
    PyObject *kinds;          /* bytearray: one kind code per whole event (the recorder's) */
    Rows rows[KINDS];         /* each kind's events */
    unsigned char codes[KINDS];
    Py_ssize_t capacity;      /* events the buffer holds */
    PyObject *drops;          /* list: one None per event lost */
    PyObject *clock;          /* () -> int ns */
    int monotonic;            /* clock is time.perf_counter_ns, which is CLOCK_MONOTONIC here: read it directly */
    PyObject *gid_of;         /* (greenlet) -> int, for a greenlet the runtime did not make */
    PyObject *where;          /* (skip) -> str | None: the user's line */
    PyObject *resource_state; /* (obj) -> None: a pool's or queue's counters as an event */
    long long due;            /* on_due is called at the first hub wake-up or timers stamped at or after this */
    long long last;           /* the stamp of the latest switch, hub wait or hub wake (0: none yet) */
    long long running;        /* ...and what runs since: a greenthread or a hub (its gid) */
    int polling;              /* that latest was a hub wait: nothing runs */
    PyObject *on_due;         /* () -> None, or NULL */
    int quiet_fd1;            /* 1 + a timerfd that fires once nothing ran for `quiet` ns (0: none): wait_idle's */
    long long quiet;          /* ns (a waiter needs to know no sooner) */
    long long rearm_at;       /* the first event at or after this pushes the timer back (by `quiet`) */
    int late_fd1;             /* 1 + an eventfd the program writes when it runs on `late` ns past `due` (0: none) */
    long long late;           /* ns */
    long long late_at;        /* due + late: the first event at or after this writes late_fd (LLONG_MAX: none) */
    GidSlots gids;            /* the types seen last, and where each keeps `gid` */
} Hooks;

#if PY_VERSION_HEX < 0x030D0000 /* 3.13's names for what older versions call _PyObject_LookupAttr */
static int
PyObject_GetOptionalAttr(PyObject *obj, PyObject *name, PyObject **result)
{
    return _PyObject_LookupAttr(obj, name, result);
}

static int
PyObject_HasAttrWithError(PyObject *obj, PyObject *name)
{
    PyObject *value;
    int found = _PyObject_LookupAttr(obj, name, &value);
    Py_XDECREF(value);
    return found;
}
#endif

static PyObject *gid_name;            /* "gid" */
static PyObject *perf_counter_ns;     /* time.perf_counter_ns */
static PyObject *getcurrent;          /* greenlet.getcurrent */
/* greenlet's C API (the capsule `greenlet._C_API`, documented in its greenlet.h): entry 4 is
   PyGreenlet_GetCurrent, a new reference to the current greenlet — a tenth of the cost of calling
   greenlet.getcurrent. NULL where that capsule is not there: then the call. */
#define GREENLET_GETCURRENT 4
static PyObject *(*greenlet_getcurrent)(void);
static PyObject *resource_kind_name;  /* "resource_kind" */
static PyObject *array_type;          /* array.array */

/* the greenthread id of `glet` in *out: its gid attribute, read straight from where its type keeps it
   (runtime/_gid.h), else gid_of(glet). 0, or -1 with an exception (a gid that is no int64: never one the
   runtime gives) */
static int
gid(Hooks *self, PyObject *glet, long long *out)
{
    PyObject *value;
    int found = gid_peek(&self->gids, glet, gid_name, &value);
    if (found < 0) {
        return -1;
    }
    if (found && value != NULL && PyLong_CheckExact(value)) {
        *out = PyLong_AsLongLong(value);
        return *out == -1 && PyErr_Occurred() ? -1 : 0;
    }
    if (found) {
        Py_XINCREF(value);
    }
    else if (PyObject_GetOptionalAttr(glet, gid_name, &value) < 0) {
        return -1;
    }
    if (value == NULL && (value = PyObject_CallOneArg(self->gid_of, glet)) == NULL) {
        return -1;
    }
    *out = PyLong_AsLongLong(value);
    Py_DECREF(value);
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}

/* the time now, in ns, in *stamp: 0, or -1 with an exception (the clock failed, or gave no int) */
static int
now(Hooks *self, long long *stamp)
{
#ifdef __linux__
    struct timespec ts;
    if (self->monotonic && clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
        *stamp = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        return 0;
    }
#endif
    PyObject *value = PyObject_CallNoArgs(self->clock);
    if (value == NULL) {
        return -1;
    }
    *stamp = PyLong_AsLongLong(value);
    Py_DECREF(value);
    return *stamp == -1 && PyErr_Occurred() ? -1 : 0;
}

#ifdef __linux__
static long long
monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* the quiet timer fires `quiet` ns after `stamp` unless pushed back again (every half of it, by an event):
   wait_idle's threads sleep on it while the program runs on, and wake only when it goes quiet (a thread
   woken every few ms costs a busy program far more than the wake itself: ~2 % of the TCP echo benchmark
   at 50 wakes a second, 30 % at 1,000) */
static void
rearm(Hooks *self, long long stamp)
{
    long long quiet = __atomic_load_n(&self->quiet, __ATOMIC_RELAXED), fire = stamp + quiet;
    struct itimerspec at = {{0, 0}, {(time_t)(fire / 1000000000LL), (long)(fire % 1000000000LL)}};
    if (timerfd_settime(self->quiet_fd1 - 1, TFD_TIMER_ABSTIME, &at, NULL) == 0) {
        self->rearm_at = stamp + quiet / 2;
    }
    else {
        __atomic_store_n(&self->quiet, 0, __ATOMIC_RELAXED); /* its waiters look at their times again */
        self->rearm_at = LLONG_MAX;
    }
}
#endif

/* what runs changed at `stamp`: greenthread or hub `gid` (polling 0), or nothing (1: the hub polls). Read
   by wait_idle from another thread, without the GIL. */
static void
ran(Hooks *self, long long stamp, long long gid, int polling)
{
    self->running = gid;
#ifdef __linux__
    if (self->quiet_fd1 && stamp >= self->rearm_at) {
        rearm(self, stamp); /* (before `last` is stored: a waiter that sees it sees the timer pushed back) */
    }
    if (stamp >= self->late_at) { /* busy, but not back in its hub to call on_due: its waiter is told */
        uint64_t one = 1;
        self->late_at = LLONG_MAX;
        if (write(self->late_fd1 - 1, &one, sizeof one) < 0) { /* (full: it was told already) */
        }
    }
#endif
#if defined(__GNUC__)
    __atomic_store_n(&self->polling, polling, __ATOMIC_RELAXED);
    __atomic_store_n(&self->last, stamp, __ATOMIC_RELEASE);
#else
    self->polling = polling;
    self->last = stamp;
#endif
}

/* when on_due is due (LLONG_MAX: never); read by wait_idle from another thread, without the GIL */
static void
set_due(Hooks *self, long long due)
{
#if defined(__GNUC__)
    __atomic_store_n(&self->due, due, __ATOMIC_RELAXED);
#else
    self->due = due;
#endif
#ifdef __linux__
    self->late_at = due == LLONG_MAX || !self->late_fd1 ? LLONG_MAX : due + self->late;
#endif
}

/* after an event stamped `stamp`: on_due, if it is due (once: it sets the next time itself) */
static PyObject *
call_due(Hooks *self, long long stamp)
{
    if (stamp < self->due || self->on_due == NULL) {
        Py_RETURN_NONE;
    }
    set_due(self, LLONG_MAX);
    PyObject *callee = self->on_due;
    self->on_due = NULL;
    PyObject *done = PyObject_CallNoArgs(callee);
    Py_DECREF(callee);
    return done;
}

/* 1 when the buffer has room; else a drop counted: 0 (-1 on an error) */
static int
room(Hooks *self)
{
    if (PyByteArray_GET_SIZE(self->kinds) < self->capacity) {
        return 1;
    }
    return PyList_Append(self->drops, Py_None) < 0 ? -1 : 0;
}

/* an event that cannot be recorded (its gid or the clock's time is no int64: never so in the runtime): counted
   as lost, the error cleared (a hook never raises into the hub for its event) */
static PyObject *
lost(Hooks *self)
{
    PyErr_Clear();
    return PyList_Append(self->drops, Py_None) < 0 ? NULL : Py_NewRef(Py_None);
}

/* one row of `kind`: its ints, then its references (new ones, taken over: all released on a failure), then the
   kind in `kinds`. All or nothing (out of memory: nothing is appended, -1). */
static int
put(Hooks *self, int kind, const long long *ints, PyObject **refs)
{
    Rows *rows = &self->rows[kind];
    if (rows->n == rows->room) {
        Py_ssize_t room = rows->room < 64 ? 64 : rows->room * 2;
        long long *more_ints = PyMem_Realloc(rows->ints, sizeof(long long) * rows->ni * room);
        if (more_ints != NULL) {
            rows->ints = more_ints;
        }
        PyObject **more_refs = rows->no && more_ints != NULL ? PyMem_Realloc(rows->refs, sizeof(PyObject *) * rows->no * room) : NULL;
        if (more_refs != NULL) {
            rows->refs = more_refs;
        }
        if (more_ints == NULL || (rows->no && more_refs == NULL)) {
            for (int i = 0; i < rows->no; i++) {
                Py_DECREF(refs[i]);
            }
            PyErr_NoMemory();
            return -1;
        }
        rows->room = room;
    }
    Py_ssize_t size = PyByteArray_GET_SIZE(self->kinds);
    if (PyByteArray_Resize(self->kinds, size + 1) < 0) {
        for (int i = 0; i < rows->no; i++) {
            Py_DECREF(refs[i]);
        }
        return -1;
    }
    long long *row = rows->ints + rows->n * rows->ni; /* (a few values: no memcpy call) */
    for (int i = 0; i < rows->ni; i++) {
        row[i] = ints[i];
    }
    PyObject **row_refs = rows->refs + rows->n * rows->no;
    for (int i = 0; i < rows->no; i++) {
        row_refs[i] = refs[i];
    }
    rows->n++;
    PyByteArray_AS_STRING(self->kinds)[size] = (char)self->codes[kind];
    return 0;
}

/* a pool's or a queue's counters as an event */
static int
resource_state(Hooks *self, PyObject *obj)
{
    PyObject *done = PyObject_CallOneArg(self->resource_state, obj);
    Py_XDECREF(done);
    return done == NULL ? -1 : 0;
}

/* 1 if obj is a pool or a queue (it has resource_kind), 0 if not, -1 on an error; an fd (an int) is not */
static int
is_resource(PyObject *obj)
{
    return obj == Py_None || PyLong_CheckExact(obj) ? 0 : PyObject_HasAttrWithError(obj, resource_kind_name);
}

/* obj's counters as an event if it is a pool or a queue */
static int
resource(Hooks *self, PyObject *obj)
{
    int has = is_resource(obj);
    return has <= 0 ? has : resource_state(self, obj);
}

static PyObject *
switched(Hooks *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "switched(prev, nxt)");
        return NULL;
    }
    int ok = room(self);
    if (ok <= 0) {
        return ok < 0 ? NULL : Py_NewRef(Py_None);
    }
    long long v[3];
    if (now(self, &v[0]) < 0 || gid(self, args[0], &v[1]) < 0 || gid(self, args[1], &v[2]) < 0) {
        return lost(self);
    }
    if (put(self, SWITCH, v, NULL) < 0) {
        return NULL;
    }
    ran(self, v[0], v[2], 0);
    Py_RETURN_NONE;
}

static PyObject *
blocked(Hooks *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "blocked(glet, reason, obj, detail)");
        return NULL;
    }
    PyObject *obj = args[2];
    int ok = room(self);
    if (ok <= 0) {
        return ok < 0 ? NULL : Py_NewRef(Py_None);
    }
    int pooled = is_resource(obj);
    if (pooled < 0) {
        return NULL;
    }
    /* where(0): the hook is C, so the caller of `where` is the one that blocks (the hub's park) */
    PyObject *zero = PyLong_FromLong(0);
    PyObject *at = zero == NULL ? NULL : PyObject_CallOneArg(self->where, zero);
    Py_XDECREF(zero);
    if (at == NULL) {
        return NULL;
    }
    long long v[2];
    if (now(self, &v[0]) < 0 || gid(self, args[0], &v[1]) < 0) {
        Py_DECREF(at);
        return lost(self);
    }
    PyObject *id = pooled ? PyLong_FromVoidPtr(obj) : Py_NewRef(Py_None);
    if (id == NULL) {
        Py_DECREF(at);
        return NULL;
    }
    PyObject *refs[4] = {Py_NewRef(args[1]), id, Py_NewRef(args[3]), at};
    /* a pool or a queue, known already: its counters without asking again */
    if (put(self, BLOCK, v, refs) < 0 || (pooled && resource_state(self, obj) < 0)) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
woken(Hooks *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "woken(glet, cause, waker, obj, late)");
        return NULL;
    }
    int ok = room(self);
    if (ok <= 0) {
        return ok < 0 ? NULL : Py_NewRef(Py_None);
    }
    long long v[3];
    if (now(self, &v[0]) < 0 || gid(self, args[0], &v[1]) < 0 || gid(self, args[2], &v[2]) < 0) {
        return lost(self);
    }
    PyObject *refs[2] = {Py_NewRef(args[1]), Py_NewRef(args[4])};
    if (put(self, WAKE, v, refs) < 0 || resource(self, args[3]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
call_at(Hooks *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "call_at(due, callee)");
        return NULL;
    }
    long long due = LLONG_MAX;
    if (args[0] != Py_None && (due = PyLong_AsLongLong(args[0])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *callee = args[0] == Py_None || args[1] == Py_None ? NULL : Py_NewRef(args[1]);
    set_due(self, callee == NULL ? LLONG_MAX : due);
    Py_XSETREF(self->on_due, callee);
    Py_RETURN_NONE;
}

#ifdef __linux__
/* wait_idle(fds, still, late) -> int: without the GIL, until
     1  one of `fds` is readable,
     2  what runs (a greenthread or the hub, not a poll) has run `still` ns with no switch (0: not watched),
     3  on_due is `late` ns overdue: the program has not come by for it (0: not watched).
   For the agent's and the stall monitor's threads: a program that keeps switching never hands them the GIL
   (each time another thread takes it from a busy program, the program pays for the hand-over), and while
   the program keeps switching they are not even woken: they sleep on the quiet timer, which its events keep
   pushing back, and look at their times once it has been quiet a while (a poll, a long run); a program that
   keeps switching past due + late without coming back to its hub (where on_due is called) says so on the late
   eventfd. */
#define WAIT_FDS 8
#define WAIT_MS_MAX 3600000 /* one poll at most (then it looks again) */
#define QUIET_MS_MAX 1000   /* one sleep on the quiet timer at most (were it not pushed back: a look a second) */

/* the quiet timer, set to fire after at most `quiet` ns of quiet from now (the first waiter makes it); 0, or -1
   with an exception */
static int
watch_quiet(Hooks *self, long long quiet)
{
    if (!self->quiet_fd1) {
        int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        if (fd < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        self->quiet_fd1 = fd + 1;
    }
    long long had = __atomic_load_n(&self->quiet, __ATOMIC_RELAXED);
    if (had == 0 || quiet < had) {
        __atomic_store_n(&self->quiet, quiet, __ATOMIC_RELAXED);
        rearm(self, monotonic_ns()); /* (with the GIL: no event meanwhile) */
    }
    return 0;
}

/* the late eventfd, written by the program when it runs on `late` ns past the due time (the first waiter makes
   it); 0, or -1 with an exception */
static int
watch_late(Hooks *self, long long late)
{
    if (!self->late_fd1) {
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        self->late_fd1 = fd + 1;
    }
    self->late = late;
    set_due(self, self->due); /* (late_at anew) */
    return 0;
}

static PyObject *
wait_idle(Hooks *self, PyObject *const *args, Py_ssize_t nargs)
{
    struct pollfd fds[WAIT_FDS + 2];
    long long still, late;
    Py_ssize_t nfds;
    if (nargs != 3 || !PyTuple_Check(args[0]) || (nfds = PyTuple_GET_SIZE(args[0])) > WAIT_FDS) {
        PyErr_SetString(PyExc_TypeError, "wait_idle(fds: tuple of at most 8, still_ns, late_ns)");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nfds; i++) {
        fds[i].fd = PyObject_AsFileDescriptor(PyTuple_GET_ITEM(args[0], i));
        fds[i].events = POLLIN;
        if (fds[i].fd < 0) {
            return NULL;
        }
    }
    if (((still = PyLong_AsLongLong(args[1])) == -1 || (late = PyLong_AsLongLong(args[2])) == -1) && PyErr_Occurred()) {
        return NULL;
    }
    if (!self->monotonic || still < 0 || late < 0) {
        PyErr_SetString(PyExc_ValueError, "wait_idle: on the default clock, with times >= 0 ns");
        return NULL;
    }
    if ((still || late) && watch_quiet(self, still && late ? (still < late ? still : late) : still + late) < 0) {
        return NULL;
    }
    if (late && watch_late(self, late) < 0) {
        return NULL;
    }
    int quiet_fd = self->quiet_fd1 - 1, late_fd = late ? self->late_fd1 - 1 : -1;
    int why = 0;
    Py_BEGIN_ALLOW_THREADS
    while (why == 0) {
        long long last = __atomic_load_n(&self->last, __ATOMIC_ACQUIRE);
        int polling = __atomic_load_n(&self->polling, __ATOMIC_RELAXED);
        long long due = __atomic_load_n(&self->due, __ATOMIC_RELAXED);
        long long quiet = __atomic_load_n(&self->quiet, __ATOMIC_RELAXED);
        long long now = monotonic_ns();
        long long next = now + WAIT_MS_MAX * 1000000LL;
        if (still) {
            if (last != 0 && !polling) {
                if (now - last >= still) {
                    why = 2;
                    break;
                }
                next = last + still < next ? last + still : next;
            }
            else {
                next = now + still < next ? now + still : next; /* a run may start any time */
            }
        }
        if (late) {
            if (due != LLONG_MAX && now - due >= late) {
                why = 3;
                break;
            }
            long long then = due != LLONG_MAX ? due + late : now + late; /* (not set now: look again later) */
            next = then < next ? then : next;
        }
        int timeout = (int)((next - now + 999999) / 1000000), watched = (int)nfds, late_i = -1, quiet_i = -1;
        if (late_fd >= 0) {
            fds[late_i = watched++] = (struct pollfd){late_fd, POLLIN, 0};
        }
        if ((still || late) && quiet && last != 0 && now - last < quiet / 2) { /* it runs on: on the timer its events push back */
            fds[quiet_i = watched++] = (struct pollfd){quiet_fd, POLLIN, 0};
            timeout = QUIET_MS_MAX;
        }
        int ready = poll(fds, (nfds_t)watched, timeout), ours = 0;
        if (ready < 0) {
            why = errno == EINTR ? 0 : 1; /* (a signal: look again) */
            continue;
        }
        if (late_i >= 0 && fds[late_i].revents) {
            uint64_t told;
            ours += 1;
            if (read(late_fd, &told, sizeof told) < 0) { /* (another waiter read it) */
            }
        }
        ours += quiet_i >= 0 && fds[quiet_i].revents;
        why = ready > ours;
    }
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(why);
}
#endif

/* a hub's event: the time, the hub (the current greenlet), then its `refs` (new references, taken over) */
static PyObject *
hub_event(Hooks *self, int kind, PyObject **refs, int n)
{
    int ok = room(self);
    PyObject *current = ok <= 0 ? NULL : greenlet_getcurrent ? greenlet_getcurrent() : PyObject_CallNoArgs(getcurrent);
    long long v[2];
    if (current == NULL || now(self, &v[0]) < 0 || gid(self, current, &v[1]) < 0) {
        for (int i = 0; i < n; i++) {
            Py_DECREF(refs[i]);
        }
        if (current == NULL) { /* no room (a drop counted), or an error */
            return ok == 0 ? Py_NewRef(Py_None) : NULL;
        }
        Py_DECREF(current);
        return lost(self);
    }
    Py_DECREF(current);
    if (put(self, kind, v, refs) < 0) {
        return NULL;
    }
    if (kind != TIMERS) {
        ran(self, v[0], v[1], kind == HUB_WAIT);
    }
    /* on_due: where the time it takes is the hub's (not a poll's wait, not a greenthread's run) */
    return kind == HUB_WAIT ? Py_NewRef(Py_None) : call_due(self, v[0]);
}

static PyObject *
before_io_wait(Hooks *self, PyObject *timeout)
{
    PyObject *refs[1] = {Py_NewRef(timeout)};
    return hub_event(self, HUB_WAIT, refs, 1);
}

static PyObject *
after_io_wait(Hooks *self, PyObject *nready)
{
    PyObject *refs[1] = {Py_NewRef(nready)};
    return hub_event(self, HUB_WAKE, refs, 1);
}

static PyObject *
timers_fired(Hooks *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "timers_fired(n, late)");
        return NULL;
    }
    PyObject *refs[2] = {Py_NewRef(args[0]), Py_NewRef(args[1])};
    return hub_event(self, TIMERS, refs, 2);
}

/* after a burst, the memory back: a buffer an eighth full gives back half its room (never below 8K rows) */
static void
shrink(Rows *rows)
{
    if (rows->room <= (1 << 13) || rows->n > rows->room / 8) {
        return;
    }
    Py_ssize_t room = rows->room / 2;
    long long *ints = PyMem_Realloc(rows->ints, sizeof(long long) * rows->ni * room);
    PyObject **refs = rows->no && ints != NULL ? PyMem_Realloc(rows->refs, sizeof(PyObject *) * rows->no * room) : NULL;
    if (ints != NULL) {
        rows->ints = ints;
    }
    if (refs != NULL) {
        rows->refs = refs;
    }
    if (ints != NULL && (refs != NULL || !rows->no)) {
        rows->room = room;
    }
}

/* `n` events of `rows` as columns, ts first (int fields as array("q"), the others as lists); the rows stay */
static PyObject *
columns_of(Rows *rows, const char *layout, Py_ssize_t n)
{
    Py_ssize_t width = (Py_ssize_t)strlen(layout);
    PyObject *columns = PyList_New(width);
    for (Py_ssize_t f = 0, i = 0, o = 0; columns != NULL && f < width; f++) {
        PyObject *column;
        if (layout[f] == 'i') {
            PyObject *raw = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(long long));
            if (raw != NULL) {
                long long *out = (long long *)PyBytes_AS_STRING(raw);
                for (Py_ssize_t r = 0; r < n; r++) {
                    out[r] = rows->ints[r * rows->ni + i];
                }
            }
            column = raw == NULL ? NULL : PyObject_CallFunction(array_type, "sO", "q", raw);
            Py_XDECREF(raw);
            i++;
        }
        else {
            column = PyList_New(n);
            for (Py_ssize_t r = 0; column != NULL && r < n; r++) {
                PyList_SET_ITEM(column, r, Py_NewRef(rows->refs[r * rows->no + o]));
            }
            o++;
        }
        if (column == NULL) {
            Py_CLEAR(columns);
        }
        else {
            PyList_SET_ITEM(columns, f, column);
        }
    }
    return columns;
}

/* the first `n` rows out of `rows`, their references moved to `released` (released by the caller: a release
   may run code that records) */
static void
drop_rows(Rows *rows, Py_ssize_t n, PyObject **released)
{
    if (rows->no) {
        memcpy(released, rows->refs, sizeof(PyObject *) * (size_t)(n * rows->no));
    }
    rows->n -= n;
    memmove(rows->ints, rows->ints + n * rows->ni, sizeof(long long) * rows->ni * rows->n);
    if (rows->no) {
        memmove(rows->refs, rows->refs + n * rows->no, sizeof(PyObject *) * rows->no * rows->n);
    }
    shrink(rows);
}

/* each kind's columns for the events named by `kinds` (its first n rows, for the n times its code is there):
   {code: [ts, field, ...]}, int fields as array("q"), the others as lists; those rows leave the buffer. All or
   nothing: on an error (too many named, no memory) every row stays. */
static PyObject *
take(Hooks *self, PyObject *kinds)
{
    Py_buffer view;
    if (PyObject_GetBuffer(kinds, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_ssize_t count[256] = {0};
    for (Py_ssize_t i = 0; i < view.len; i++) {
        count[((unsigned char *)view.buf)[i]]++;
    }
    PyBuffer_Release(&view);
    Py_ssize_t n[KINDS];
    for (int kind = 0; kind < KINDS; kind++) {
        n[kind] = count[self->codes[kind]];
        if (n[kind] > self->rows[kind].n) {
            return PyErr_Format(PyExc_ValueError, "take: %zd events of kind %d named, %zd recorded", n[kind],
                                self->codes[kind], self->rows[kind].n);
        }
    }
    Py_ssize_t refs = 0;
    for (int kind = 0; kind < KINDS; kind++) {
        refs += n[kind] * self->rows[kind].no;
    }
    PyObject *taken = PyDict_New();
    PyObject **released = PyMem_Malloc(sizeof(PyObject *) * (size_t)(refs ? refs : 1));
    if (released == NULL) {
        Py_CLEAR(taken);
        return PyErr_NoMemory();
    }
    for (int kind = 0; taken != NULL && kind < KINDS; kind++) {
        if (n[kind] == 0) {
            continue;
        }
        PyObject *columns = columns_of(&self->rows[kind], LAYOUT[kind], n[kind]);
        PyObject *code = PyLong_FromLong(self->codes[kind]);
        if (columns == NULL || code == NULL || PyDict_SetItem(taken, code, columns) < 0) {
            Py_CLEAR(taken);
        }
        Py_XDECREF(columns);
        Py_XDECREF(code);
    }
    PyObject **next = released;
    for (int kind = 0; taken != NULL && kind < KINDS; kind++) { /* (nothing here can fail) */
        if (n[kind]) {
            drop_rows(&self->rows[kind], n[kind], next);
            next += n[kind] * self->rows[kind].no;
        }
    }
    for (PyObject **ref = released; ref < next; ref++) {
        Py_DECREF(*ref);
    }
    PyMem_Free(released);
    return taken;
}

/* (since, gid) of what runs as the events tell: a greenthread or a hub (gid), or nothing (None: the hub
   polls); None before any such event */
static PyObject *
running(Hooks *self, PyObject *unused)
{
    if (self->last == 0) {
        Py_RETURN_NONE;
    }
    return self->polling ? Py_BuildValue("(LO)", self->last, Py_None) : Py_BuildValue("(LL)", self->last, self->running);
}

/* the rows' references released, their memory freed */
static void
rows_clear(Rows *rows)
{
    for (Py_ssize_t r = 0; r < rows->n * rows->no; r++) {
        Py_DECREF(rows->refs[r]);
    }
    PyMem_Free(rows->ints);
    PyMem_Free(rows->refs);
    rows->ints = NULL;
    rows->refs = NULL;
    rows->n = rows->room = 0;
}

static int
Hooks_init(Hooks *self, PyObject *args, PyObject *kwargs)
{
    PyObject *kinds, *codes, *drops, *clock, *gid_of, *where, *resource_state;
    Py_ssize_t capacity;
    if (!PyArg_ParseTuple(args, "O!O!nO!OOOO:Hooks", &PyByteArray_Type, &kinds, &PyTuple_Type, &codes, &capacity,
                          &PyList_Type, &drops, &clock, &gid_of, &where, &resource_state)) {
        return -1;
    }
    if (PyTuple_GET_SIZE(codes) != KINDS) {
        PyErr_SetString(PyExc_ValueError, "codes: one each for SWITCH, BLOCK, WAKE, HUB_WAIT, HUB_WAKE, TIMERS");
        return -1;
    }
    for (int i = 0; i < KINDS; i++) {
        long code = PyLong_AsLong(PyTuple_GET_ITEM(codes, i));
        if (code < 0 || code > 255) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "each of codes is a byte");
            }
            return -1;
        }
        self->codes[i] = (unsigned char)code;
    }
    for (int i = 0; i < KINDS; i++) {
        Rows *rows = &self->rows[i];
        rows_clear(rows);
        rows->ni = rows->no = 0;
        for (const char *f = LAYOUT[i]; *f; f++) {
            *(*f == 'i' ? &rows->ni : &rows->no) += 1;
        }
    }
    Py_XSETREF(self->kinds, Py_NewRef(kinds));
    Py_XSETREF(self->drops, Py_NewRef(drops));
    Py_XSETREF(self->clock, Py_NewRef(clock));
    Py_XSETREF(self->gid_of, Py_NewRef(gid_of));
    Py_XSETREF(self->where, Py_NewRef(where));
    Py_XSETREF(self->resource_state, Py_NewRef(resource_state));
    self->capacity = capacity;
    self->monotonic = clock == perf_counter_ns;
    self->due = LLONG_MAX;
#ifdef __linux__
    self->late_at = LLONG_MAX;
#endif
    self->last = 0;
    self->running = 0;
    self->polling = 0;
    Py_CLEAR(self->on_due);
    return 0;
}

/* (the rows' references are not visited: times and ids are ints, the rest strs, ints, floats or None as the
   hooks' callers pass them, which hold nothing; all are released at the take) */
static int
Hooks_traverse(Hooks *self, visitproc visit, void *arg)
{
    Py_VISIT(self->kinds);
    Py_VISIT(self->drops);
    Py_VISIT(self->clock);
    Py_VISIT(self->gid_of);
    Py_VISIT(self->where);
    Py_VISIT(self->resource_state);
    Py_VISIT(self->on_due);
    return 0;
}

static int
Hooks_clear(Hooks *self)
{
    Py_CLEAR(self->kinds);
    for (int i = 0; i < KINDS; i++) {
        rows_clear(&self->rows[i]);
    }
    Py_CLEAR(self->drops);
    Py_CLEAR(self->clock);
    Py_CLEAR(self->gid_of);
    Py_CLEAR(self->where);
    Py_CLEAR(self->resource_state);
    Py_CLEAR(self->on_due);
    return 0;
}

static void
Hooks_dealloc(Hooks *self)
{
    PyObject_GC_UnTrack(self);
    Hooks_clear(self);
#ifdef __linux__
    if (self->quiet_fd1) {
        close(self->quiet_fd1 - 1);
    }
    if (self->late_fd1) {
        close(self->late_fd1 - 1);
    }
#endif
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Hooks_methods[] = {
    {"switched", (PyCFunction)(void (*)(void))switched, METH_FASTCALL, "switched(prev, nxt): a switch event."},
    {"blocked", (PyCFunction)(void (*)(void))blocked, METH_FASTCALL,
     "blocked(glet, reason, obj, detail): a block event, at the user's line."},
    {"woken", (PyCFunction)(void (*)(void))woken, METH_FASTCALL, "woken(glet, cause, waker, obj, late): a wake event."},
    {"take", (PyCFunction)take, METH_O,
     "take(kinds) -> {code: columns}: the events `kinds` names (a bytes-like of kind codes), oldest first, out of "
     "the buffer: per kind its columns, ts first (int64 fields as array('q'), the others as lists)."},
    {"running", (PyCFunction)running, METH_NOARGS,
     "running() -> (since, gid) | None: what runs as the events tell (gid None: the hub polls); None before any."},
    {"call_at", (PyCFunction)(void (*)(void))call_at, METH_FASTCALL,
     "call_at(due, callee): callee() at the first hub wake-up or timers event stamped at or after due (ns), once; "
     "None: never."},
#ifdef __linux__
    {"wait_idle", (PyCFunction)(void (*)(void))wait_idle, METH_FASTCALL,
     "wait_idle(fds, still_ns, late_ns) -> int: without the GIL, until an fd is readable (1), what runs has "
     "run still_ns with no switch (2), or the due call is late_ns overdue (3). "
     "On the default clock only."},
#endif
    {"before_io_wait", (PyCFunction)before_io_wait, METH_O, "before_io_wait(timeout): the hub waits on its poller."},
    {"after_io_wait", (PyCFunction)after_io_wait, METH_O, "after_io_wait(nready): the hub's poller returned."},
    {"timers_fired", (PyCFunction)(void (*)(void))timers_fired, METH_FASTCALL,
     "timers_fired(n, late): the hub fired n timers, the latest `late` ns after its deadline."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject HooksType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime.trace._hooks.Hooks",
    .tp_basicsize = sizeof(Hooks),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The recorder's hottest hooks (a greenthread's and the hub's), on its buffer.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Hooks_init,
    .tp_traverse = (traverseproc)Hooks_traverse,
    .tp_clear = (inquiry)Hooks_clear,
    .tp_dealloc = (destructor)Hooks_dealloc,
    .tp_methods = Hooks_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime.trace._hooks", "The recorder's hottest hooks in C.", -1, NULL,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__hooks(void)
{
    PyObject *time = PyImport_ImportModule("time");
    perf_counter_ns = time == NULL ? NULL : PyObject_GetAttrString(time, "perf_counter_ns");
    Py_XDECREF(time);
    PyObject *greenlet = perf_counter_ns == NULL ? NULL : PyImport_ImportModule("greenlet");
    getcurrent = greenlet == NULL ? NULL : PyObject_GetAttrString(greenlet, "getcurrent");
    Py_XDECREF(greenlet);
    void **api = getcurrent == NULL ? NULL : PyCapsule_Import("greenlet._C_API", 0);
    if (api != NULL) {
        greenlet_getcurrent = (PyObject * (*)(void)) api[GREENLET_GETCURRENT];
    }
    else if (getcurrent != NULL) {
        PyErr_Clear(); /* (no capsule: the call) */
    }
    PyObject *array = getcurrent == NULL ? NULL : PyImport_ImportModule("array");
    array_type = array == NULL ? NULL : PyObject_GetAttrString(array, "array");
    Py_XDECREF(array);
    if (array_type == NULL) {
        return NULL;
    }
    gid_name = PyUnicode_InternFromString("gid");
    resource_kind_name = PyUnicode_InternFromString("resource_kind");
    if (gid_name == NULL || resource_kind_name == NULL || PyType_Ready(&HooksType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddObjectRef(m, "Hooks", (PyObject *)&HooksType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
