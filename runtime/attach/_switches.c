/* runtime.attach._switches: the hot paths of the attach switch trace (`runtime.attach.switches`) in C.

   Core(parked=, waits=, yields=, hooks=, causes=, timer=, timeout=, kill=, send=, find_hub=, on_hub=, rules=,
        unknown=, io=, depth=, refine=, exited=, announce=, clock=, announces=False)

   A Core is the function `greenlet.settrace` is given: core(event, (origin, target)) does exactly what
   `SwitchTrace._bind_python`'s `trace` closure does, on the same state (the hub greenlet; the greenthread
   that gave it control: `back`; the timers that woke greenthreads since the hub last polled: `fired`,
   `late_most`), with the same dicts (`parked`, `waits`). In C: a greenthread giving the hub control, the hub
   running a greenthread (its wake, when it was parked; its switch), a greenthread switching straight to
   another, the hub's polls (`hub_waits`, `hub_woke`). In Python, called from here: finding the hub
   (`find_hub`, `on_hub`), a greenthread's end (`exited`: how it ended, who it wakes), one the adapter did
   not see spawned (`announce`). The recorder's hooks are read from `runtime.instrument.hooks` at each
   call, straight from their slots (as long as the type of `hooks` is the one learned: else generically).

   Parks: core.parking(switch) is a hub's `switch` for the adapter to put in its class (eventlet), and
   core.leave a greenlet's `switch_out` (gevent's hub calls it): both test first whether the greenthread
   yields there (a `sleep(0)`: the calling frame's code and offset, or a local of it, read from the
   interpreter's frame: no frame object, no f_locals dict), else park it: Parking.why's walk (`rules`),
   a Parked record, `blocked`. With `announces`, a greenthread that gives the hub control without having
   called `leave` is tested here, from its suspended frame.

   SocketRule.gevent/.eventlet(...) is the rule of a wait on a socket (the adapters' closures, in C).
   local(frame, name[, default]) is frame.f_locals[name] (or .get(name, default)), reading the one local
   where it is a plain one (else asking f_locals: a cell, a free variable, one unbound, 3.13's proxy).
   Parked(glet, reason, obj, deadline) is `switches.Parked` as a C type (its fields read here directly).

   Optional: without it (no compiler, another interpreter, GREENSCOPE_PURE_PYTHON=1) the closures run. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_OBJECT_EX */
#include "../_gid.h"
#include <limits.h>       /* LLONG_MIN */
#include <stddef.h>       /* offsetof */
#include <string.h>       /* memcpy */

#if PY_VERSION_HEX >= 0x030B0000
#  define Py_BUILD_CORE 1
#  include "internal/pycore_code.h"  /* _PyLocals_GetKind, CO_FAST_LOCAL */
#  include "internal/pycore_frame.h" /* _PyInterpreterFrame, struct _frame */
#  undef Py_BUILD_CORE
#else
#  include <frameobject.h>
#endif

/* ------------------------------------------------------------------ names, greenlet */

enum { SWITCHED, BLOCKED, WOKEN, TIMERS_FIRED, BEFORE_IO_WAIT, AFTER_IO_WAIT, HOOKS }; /* the hooks called from C */
static const char *const HOOK_NAMES[HOOKS] = {"switched",     "blocked",        "woken",
                                              "timers_fired", "before_io_wait", "after_io_wait"};
static PyObject *hook_names[HOOKS];

static PyObject *gr_frame_name, *dead_name, *gid_name, *f_locals_name, *throw_name, *switch_name; /* interned */
static PyObject *pendingcnt_name, *self_name, *read_event_name, *write_event_name, *active_name, *fd_name;
static PyObject *read_name, *fileno_name;
static PyObject *zero;                                                             /* 0 */

/* greenlet's C API (the capsule `greenlet._C_API`, its greenlet.h): entry 4 is PyGreenlet_GetCurrent, a
   new reference to the current greenlet; entry 10 (greenlet 3) PyGreenlet_ACTIVE, whether a greenlet has a
   suspended frame (not dead, and started). NULL where the capsule is not there: then greenlet.getcurrent(),
   and a greenlet's gr_frame (None: not active). */
#define GREENLET_GETCURRENT 4
#define GREENLET_ACTIVE 10
static PyObject *(*greenlet_getcurrent)(void);
static int (*greenlet_active)(PyObject *);
static PyObject *getcurrent;

static PyObject *
current(void)
{
    return greenlet_getcurrent != NULL ? greenlet_getcurrent() : PyObject_CallNoArgs(getcurrent);
}

#if PY_VERSION_HEX < 0x030D0000 /* 3.13's name for what older versions call _PyObject_LookupAttr */
static int
PyObject_GetOptionalAttr(PyObject *obj, PyObject *name, PyObject **result)
{
    return _PyObject_LookupAttr(obj, name, result);
}
#endif

/* ------------------------------------------------------------------ one local of a frame */

/* `a` (a name of the code) is `name` (two interned strings are the same or differ) */
static int
same_name(PyObject *a, PyObject *name)
{
    return a == name
           || (!(PyUnicode_CHECK_INTERNED(a) && PyUnicode_CHECK_INTERNED(name))
               && PyUnicode_GET_LENGTH(a) == PyUnicode_GET_LENGTH(name) && PyUnicode_Compare(a, name) == 0);
}

#if PY_VERSION_HEX >= 0x030B0000

typedef _PyInterpreterFrame Frame;

static PyCodeObject *
frame_code(Frame *frame)
{
#  if PY_VERSION_HEX >= 0x030D0000
    PyObject *executable = frame->f_executable;
    return PyCode_Check(executable) ? (PyCodeObject *)executable : NULL;
#  else
    return frame->f_code;
#  endif
}

/* the innermost frame of Python code of this thread (what sys._getframe(1) gives a Python function
   called there), or NULL */
static Frame *
top_frame(PyCodeObject **code)
{
    PyThreadState *tstate = PyThreadState_Get();
#  if PY_VERSION_HEX >= 0x030D0000
    Frame *frame = tstate->current_frame;
#  else
    Frame *frame = tstate->cframe->current_frame;
#  endif
    for (; frame != NULL; frame = frame->previous) {
#  if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
        if (frame->owner == FRAME_OWNED_BY_CSTACK) { /* an entry shim (3.13's check has it) */
            continue;
        }
#  endif
        if (_PyFrame_IsIncomplete(frame) || (*code = frame_code(frame)) == NULL) {
            continue;
        }
        return frame;
    }
    return NULL;
}

/* frame.f_lasti */
static int
frame_offset(Frame *frame)
{
    int lasti = _PyInterpreterFrame_LASTI(frame);
    return lasti < 0 ? -1 : lasti * (int)sizeof(_Py_CODEUNIT);
}

/* 1: `name` is a plain local of `frame` (not a cell, a free or a hidden one), bound: its value in *value
   (a new reference); 0: ask f_locals */
static int
fast_local(Frame *frame, PyCodeObject *code, PyObject *name, PyObject **value)
{
    if (!(code->co_flags & CO_OPTIMIZED)) {
        return 0;
    }
    PyObject *names = code->co_localsplusnames;
    for (int i = 0; i < code->co_nlocalsplus; i++) {
        if (same_name(PyTuple_GET_ITEM(names, i), name)) {
            PyObject *v = frame->localsplus[i];
            if (_PyLocals_GetKind(code->co_localspluskinds, i) != CO_FAST_LOCAL || v == NULL) {
                return 0;
            }
            *value = Py_NewRef(v);
            return 1;
        }
    }
    return 0;
}

/* the frame of a frame object, and its code in *code (NULL: none) */
static Frame *
frame_of(PyFrameObject *object, PyCodeObject **code)
{
    Frame *frame = object->f_frame;
    *code = frame_code(frame);
    return *code != NULL ? frame : NULL;
}

static int
object_fast_local(PyFrameObject *frame, PyObject *name, PyObject **value)
{
    PyCodeObject *code;
    Frame *f = frame_of(frame, &code);
    return f != NULL && fast_local(f, code, name, value);
}

#else /* 3.10: a frame is its object */

typedef PyFrameObject Frame;

static Frame *
top_frame(PyCodeObject **code)
{
    Frame *frame = PyEval_GetFrame();
    if (frame != NULL) {
        *code = frame->f_code;
    }
    return frame;
}

static int
frame_offset(Frame *frame)
{
    return frame->f_lasti < 0 ? -1 : frame->f_lasti * (int)sizeof(_Py_CODEUNIT);
}

/* as above: a local that is an argument made a cell has its slot cleared (f_locals reads the cell) */
static int
fast_local(Frame *frame, PyCodeObject *code, PyObject *name, PyObject **value)
{
    if (!(code->co_flags & CO_OPTIMIZED)) {
        return 0;
    }
    PyObject *names = code->co_varnames;
    for (int i = 0; i < code->co_nlocals; i++) {
        if (same_name(PyTuple_GET_ITEM(names, i), name)) {
            PyObject *v = frame->f_localsplus[i];
            if (v == NULL) {
                return 0;
            }
            *value = Py_NewRef(v);
            return 1;
        }
    }
    return 0;
}

static Frame *
frame_of(PyFrameObject *object, PyCodeObject **code)
{
    *code = object->f_code;
    return object;
}

static int
object_fast_local(PyFrameObject *frame, PyObject *name, PyObject **value)
{
    return fast_local(frame, frame->f_code, name, value);
}

#endif

/* frame.f_locals[name], or .get(name, dflt) when dflt is not NULL */
static PyObject *
locals_item(PyObject *frame, PyObject *name, PyObject *dflt)
{
    PyObject *locals = PyObject_GetAttr(frame, f_locals_name);
    if (locals == NULL) {
        return NULL;
    }
    PyObject *value = PyObject_GetItem(locals, name);
    Py_DECREF(locals);
    if (value == NULL && dflt != NULL && PyErr_ExceptionMatches(PyExc_KeyError)) {
        PyErr_Clear();
        value = Py_NewRef(dflt);
    }
    return value;
}

static PyObject *
local(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2 || nargs > 3) {
        PyErr_SetString(PyExc_TypeError, "local(frame, name[, default])");
        return NULL;
    }
    PyObject *frame = args[0], *name = args[1], *value;
    if (PyFrame_Check(frame) && PyUnicode_Check(name) && object_fast_local((PyFrameObject *)frame, name, &value)) {
        return value;
    }
    return locals_item(frame, name, nargs == 3 ? args[2] : NULL);
}

/* ------------------------------------------------------------------ Parked */

typedef struct {
    PyObject_HEAD
    PyObject *cause, *deadline, *glet, *obj, *reason, *waker;
} Parked;

static PyTypeObject ParkedType;

static int
Parked_init(Parked *self, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"glet", "reason", "obj", "deadline", NULL};
    PyObject *glet, *reason, *obj, *deadline;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOO:Parked", kwlist, &glet, &reason, &obj, &deadline)) {
        return -1;
    }
    Py_XSETREF(self->glet, Py_NewRef(glet));
    Py_XSETREF(self->reason, Py_NewRef(reason));
    Py_XSETREF(self->obj, Py_NewRef(obj));
    Py_XSETREF(self->deadline, Py_NewRef(deadline));
    Py_XSETREF(self->cause, Py_NewRef(Py_None));
    Py_XSETREF(self->waker, Py_NewRef(Py_None));
    return 0;
}

static int
Parked_traverse(Parked *self, visitproc visit, void *arg)
{
    Py_VISIT(self->cause);
    Py_VISIT(self->deadline);
    Py_VISIT(self->glet);
    Py_VISIT(self->obj);
    Py_VISIT(self->reason);
    Py_VISIT(self->waker);
    return 0;
}

static int
Parked_clear(Parked *self)
{
    Py_CLEAR(self->cause);
    Py_CLEAR(self->deadline);
    Py_CLEAR(self->glet);
    Py_CLEAR(self->obj);
    Py_CLEAR(self->reason);
    Py_CLEAR(self->waker);
    return 0;
}

static void
Parked_dealloc(Parked *self)
{
    PyObject_GC_UnTrack(self);
    Py_TRASHCAN_BEGIN(self, Parked_dealloc)
    Parked_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

/* Parked(glet, reason, obj, deadline), made here (no argument tuple to parse) */
static PyObject *
new_parked(PyObject *glet, PyObject *reason, PyObject *obj, PyObject *deadline)
{
    Parked *self = PyObject_GC_New(Parked, &ParkedType);
    if (self == NULL) {
        return NULL;
    }
    self->glet = Py_NewRef(glet);
    self->reason = Py_NewRef(reason);
    self->obj = Py_NewRef(obj);
    self->deadline = Py_NewRef(deadline);
    self->cause = Py_NewRef(Py_None);
    self->waker = Py_NewRef(Py_None);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyMemberDef Parked_members[] = {
    {"cause", T_OBJECT_EX, offsetof(Parked, cause), 0, "what woke it (set by whoever signalled it), or None"},
    {"deadline", T_OBJECT_EX, offsetof(Parked, deadline), 0, "when its timer runs out (ns), or 0"},
    {"glet", T_OBJECT_EX, offsetof(Parked, glet), 0, "the parked greenthread"},
    {"obj", T_OBJECT_EX, offsetof(Parked, obj), 0, "what it waits on, or None"},
    {"reason", T_OBJECT_EX, offsetof(Parked, reason), 0, "why it waits"},
    {"waker", T_OBJECT_EX, offsetof(Parked, waker), 0, "who signalled it, or None"},
    {NULL},
};

static PyTypeObject ParkedType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime.attach._switches.Parked",
    .tp_basicsize = sizeof(Parked),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Parked(glet, reason, obj, deadline): a parked greenthread: why, since when its timer runs out "
              "(ns, or 0), who signalled it.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Parked_init,
    .tp_traverse = (traverseproc)Parked_traverse,
    .tp_clear = (inquiry)Parked_clear,
    .tp_dealloc = (destructor)Parked_dealloc,
    .tp_members = Parked_members,
};

/* ------------------------------------------------------------------ Core */

#define YIELD_CODES 16 /* codes whose yields entry is kept (a power of two) */
#define RULE_CODES 16  /* codes whose rules entry is kept (a power of two) */

/* rules[id(code)] as last read: `found`, the (rule, final) pair, or None for none */
typedef struct {
    PyObject *code, *found;
} RuleEntry;
#define OFFSETS 8       /* the most offsets an entry keeps in C */

enum { NEVER, AT_OFFSETS, IN_SET, UNLESS_LOCAL }; /* what an entry says */

/* what `yields` says of one code object (code NULL: an empty entry), read at the first frame of it: NEVER (not
   a code where it yields), AT_OFFSETS (the frozenset's offsets, here), IN_SET (a frozenset of other things:
   ask it), UNLESS_LOCAL (at: the name of a local). A yield tested reads only this: not `at` (a cache miss a
   sleep(0), once greenlet has copied the stacks) */
typedef struct {
    PyObject *code;
    PyObject *at;
    int kind, n;
    long offsets[OFFSETS];
} Yielding;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *parked;   /* dict: greenlet -> Parked */
    PyObject *waits;    /* dict: object -> [Parked], in order */
    PyObject *yields;   /* dict: id(code) -> frozenset of offsets | the name of a local (Parking.yields) */
    PyObject *hooks;    /* runtime.instrument.hooks */
    PyObject *causes;   /* dict: reason -> the cause of a wake nobody signalled */
    PyObject *timer, *timeout, *kill, *send; /* Cause.TIMER, .TIMEOUT, .KILL, .SEND */
    PyObject *find_hub; /* () -> the hub greenlet or None */
    PyObject *on_hub;   /* (hub) -> None */
    PyObject *rules;    /* dict: id(code) -> (rule, final) (Parking.rules) */
    PyObject *unknown;  /* (UNKNOWN, None, None): a park no rule explains */
    PyObject *io;       /* frozenset: the reasons whose detail is an fd, not a timeout */
    int depth, refine;  /* frames looked at for a first rule, and further out for a refining one */
    PyObject *exited;   /* (greenlet, threw) -> None */
    PyObject *announce; /* (greenlet, parent) -> None */
    PyObject *clock;    /* () -> int ns */
    PyObject *hub;      /* this thread's hub greenlet (NULL: None) */
    PyObject *back;     /* the greenthread that gave the hub control, its switch not reported yet (NULL: None) */
    Py_ssize_t fired;   /* timers that woke greenthreads since the hub last polled */
    PyObject *late_most; /* ...the latest's lateness (an int) */
    unsigned long thread; /* the thread traced (its get_ident()) */
    int announces;        /* greenthreads call `leave` on their way to the hub (gevent's switch_out): one that
                             does not is tested in the trace, from its suspended frame */
    PyObject *leaving;    /* the greenlet that called `leave` last (its switch to the hub not traced yet) */
    /* where hooks' type keeps each hook: a slot at offsets[i] (0: ask the generic way), as of its version tag */
    PyTypeObject *hooks_type;
    unsigned int hooks_tag;
    Py_ssize_t offsets[HOOKS];
    Yielding yielding[YIELD_CODES]; /* what `yields` said, per code (forget() empties it) */
    RuleEntry rule_codes[RULE_CODES]; /* what `rules` said, per code (forget() empties it) */
    GidSlots gids;                  /* the greenlet types seen last, and where each keeps `gid` */
} Core;

static PyTypeObject CoreType;

/* a Core the garbage collector cleared (at exit, say) traces nothing */
#define CLEARED(core) ((core)->parked == NULL)

/* learn where the type of `hooks` keeps each hook (its __slots__) */
static void
learn_hooks(Core *self)
{
    PyTypeObject *type = Py_TYPE(self->hooks);
    int generic = type->tp_getattro == PyObject_GenericGetAttr;
    for (int i = 0; i < HOOKS; i++) {
        PyObject *descr = generic ? _PyType_Lookup(type, hook_names[i]) : NULL; /* (borrowed; tags the type) */
        int slot = descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)
                   && (((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX
                       || ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT);
        self->offsets[i] = slot ? ((PyMemberDescrObject *)descr)->d_member->offset : 0;
    }
    if (!(type->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) || type->tp_version_tag == 0) {
        for (int i = 0; i < HOOKS; i++) { /* an untagged type: no knowing whether it changed */
            self->offsets[i] = 0;
        }
    }
    Py_INCREF(type);
    Py_XSETREF(self->hooks_type, type);
    self->hooks_tag = type->tp_version_tag;
}

/* hooks.<which>, a new reference (NULL: an error) */
static PyObject *
hook(Core *self, int which)
{
    PyTypeObject *type = Py_TYPE(self->hooks);
    if (type != self->hooks_type || type->tp_version_tag != self->hooks_tag) {
        learn_hooks(self);
    }
    Py_ssize_t offset = self->offsets[which];
    if (offset > 0) {
        PyObject *h = *(PyObject **)((char *)self->hooks + offset);
        if (h != NULL) {
            return Py_NewRef(h);
        }
    }
    return PyObject_GetAttr(self->hooks, hook_names[which]);
}

/* h = hooks.<which>; if h is not None: h(*args). 0, or -1 with an exception */
static int
call_hook(Core *self, int which, PyObject *const *args, size_t nargs)
{
    PyObject *h = hook(self, which);
    if (h == NULL) {
        return -1;
    }
    PyObject *result = h == Py_None ? Py_NewRef(Py_None) : PyObject_Vectorcall(h, args, nargs, NULL);
    Py_DECREF(h);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* func(*args), its result dropped: 0, or -1 with an exception */
static int
call(PyObject *func, PyObject *const *args, size_t nargs)
{
    PyObject *result = PyObject_Vectorcall(func, args, nargs, NULL);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* dict.pop(key, None) in *out (a new reference, or NULL): 0, or -1 with an exception */
static int
pop(PyObject *dict, PyObject *key, PyObject **out)
{
    *out = NULL;
    if (PyDict_GET_SIZE(dict) == 0) {
        return 0;
    }
#if PY_VERSION_HEX >= 0x030D0000
    return PyDict_Pop(dict, key, out) < 0 ? -1 : 0;
#else
    PyObject *value = _PyDict_Pop(dict, key, Py_None);
    if (value == NULL) {
        return -1;
    }
    if (value == Py_None) {
        Py_DECREF(value);
        return 0;
    }
    *out = value;
    return 0;
#endif
}

/* max(0, now - deadline), a new reference */
static PyObject *
lateness(PyObject *now, PyObject *deadline)
{
    long long n, d, late;
    int overflow = 1;
    if (PyLong_CheckExact(now) && PyLong_CheckExact(deadline)) {
        n = PyLong_AsLongLongAndOverflow(now, &overflow);
        if (!overflow) {
            d = PyLong_AsLongLongAndOverflow(deadline, &overflow);
        }
        if (!overflow && (d >= 0 ? n >= LLONG_MIN + d : n <= LLONG_MAX + d)) { /* n - d does not overflow */
            late = n - d;
            return PyLong_FromLongLong(late > 0 ? late : 0);
        }
    }
    PyObject *diff = PyNumber_Subtract(now, deadline);
    if (diff == NULL) {
        return NULL;
    }
    int positive = PyObject_RichCompareBool(diff, zero, Py_GT);
    if (positive <= 0) {
        Py_DECREF(diff);
        return positive < 0 ? NULL : Py_NewRef(zero);
    }
    return diff;
}

/* what yields[id(code)] says, kept in core->yielding; NULL with an exception */
static Yielding *
yielding(Core *core, PyCodeObject *code)
{
    uintptr_t h = ((uintptr_t)code >> 4) * 0x9E3779B1u;
    Yielding *e = &core->yielding[(h ^ (h >> 15)) & (YIELD_CODES - 1)];
    if (e->code == (PyObject *)code) {
        return e;
    }
    PyObject *key = PyLong_FromVoidPtr(code);
    PyObject *at = key == NULL ? NULL : PyDict_GetItemWithError(core->yields, key);
    Py_XDECREF(key);
    if (at == NULL && PyErr_Occurred()) {
        return NULL;
    }
    int kind = at == NULL ? NEVER : Py_IS_TYPE(at, &PyFrozenSet_Type) ? AT_OFFSETS : UNLESS_LOCAL, n = 0;
    long offsets[OFFSETS];
    if (kind == AT_OFFSETS) {
        PyObject *items = PySequence_List(at);
        if (items == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items) && kind == AT_OFFSETS; i++) {
            PyObject *item = PyList_GET_ITEM(items, i);
            int overflow = 1;
            long offset = n < OFFSETS && PyLong_CheckExact(item) ? PyLong_AsLongAndOverflow(item, &overflow) : 0;
            if (overflow) { /* too many, or not an offset: ask the set */
                kind = IN_SET;
            }
            else {
                offsets[n++] = offset;
            }
        }
        Py_DECREF(items);
    }
    /* the entry whole before what it held is released */
    PyObject *old_code = e->code, *old_at = e->at;
    e->code = Py_NewRef((PyObject *)code);
    e->at = Py_XNewRef(at);
    e->kind = kind;
    e->n = kind == AT_OFFSETS ? n : 0;
    memcpy(e->offsets, offsets, sizeof(long) * e->n);
    Py_XDECREF(old_code);
    Py_XDECREF(old_at);
    return e;
}

static void
forget_yields(Core *core)
{
    for (int i = 0; i < YIELD_CODES; i++) {
        Yielding *e = &core->yielding[i];
        PyObject *code = e->code, *at = e->at;
        e->code = e->at = NULL;
        e->kind = NEVER;
        e->n = 0;
        Py_XDECREF(code);
        Py_XDECREF(at);
    }
    for (int i = 0; i < RULE_CODES; i++) {
        RuleEntry *e = &core->rule_codes[i];
        PyObject *code = e->code, *found = e->found;
        e->code = e->found = NULL;
        Py_XDECREF(code);
        Py_XDECREF(found);
    }
}

/* value <= 0, or -1 with an exception */
static int
at_most_zero(PyObject *value)
{
    if (PyLong_CheckExact(value)) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(value, &overflow);
        return overflow ? overflow < 0 : v <= 0;
    }
    if (PyFloat_CheckExact(value)) {
        return PyFloat_AS_DOUBLE(value) <= 0.0;
    }
    return PyObject_RichCompareBool(value, zero, Py_LE);
}

/* whether the frame that calls the hub's switch yields there (a sleep(0)): by its code and offset, or a local
   of it <= 0. 1 or 0; an error that is not an Exception: -1 (any other: it does not yield, the rules will say) */
static int
yields_here(Core *core, Frame *frame, PyCodeObject *code, PyObject *object)
{
    int yielded = -1;
    Yielding *e = yielding(core, code);
    if (e != NULL && e->kind == NEVER) {
        return 0;
    }
    if (e != NULL && e->kind == AT_OFFSETS) {
        long offset = frame_offset(frame);
        for (int i = 0; i < e->n; i++) {
            if (e->offsets[i] == offset) {
                return 1;
            }
        }
        return 0;
    }
    PyObject *at = e == NULL ? NULL : Py_NewRef(e->at);
    if (at != NULL && e->kind == IN_SET) {
        PyObject *offset = PyLong_FromLong(frame_offset(frame));
        yielded = offset == NULL ? -1 : PySet_Contains(at, offset);
        Py_XDECREF(offset);
    }
    else if (at != NULL) {
        PyObject *value = NULL;
        if (!PyUnicode_Check(at) || !fast_local(frame, code, at, &value)) { /* ask f_locals */
            if (object == NULL && (object = (PyObject *)PyEval_GetFrame()) == NULL && !PyErr_Occurred()) {
                PyErr_SetString(PyExc_SystemError, "no frame object");
            }
            value = object == NULL ? NULL : locals_item(object, at, NULL);
        }
        yielded = value == NULL ? -1 : at_most_zero(value);
        Py_XDECREF(value);
    }
    Py_XDECREF(at);
    if (yielded < 0 && PyErr_ExceptionMatches(PyExc_Exception)) { /* not the frame expected */
        PyErr_Clear();
        yielded = 0;
    }
    return yielded;
}

/* rules.get(id(code)) (borrowed), NULL: none (or an error); kept per code (a dict lookup by an int made from
   the address is ~300 instructions, a fifth of a park) until forget() */
static PyObject *
rule_for(Core *core, PyCodeObject *code)
{
    uintptr_t h = (uintptr_t)code >> 4;
    RuleEntry *e = &core->rule_codes[(h ^ (h >> 15)) & (RULE_CODES - 1)];
    if (e->code != (PyObject *)code) {
        PyObject *key = PyLong_FromVoidPtr(code);
        PyObject *found = key == NULL ? NULL : PyDict_GetItemWithError(core->rules, key);
        Py_XDECREF(key);
        if (found == NULL && PyErr_Occurred()) {
            return NULL;
        }
        Py_XSETREF(e->found, Py_NewRef(found != NULL ? found : Py_None));
        Py_XSETREF(e->code, Py_NewRef((PyObject *)code)); /* (held: no other code at its address meanwhile) */
    }
    return e->found != Py_None ? e->found : NULL;
}

/* rules.get(id(frame.f_code)) (borrowed), NULL: none (or an error) */
static PyObject *
rule_of(Core *core, PyObject *frame)
{
    PyCodeObject *code = PyFrame_GetCode((PyFrameObject *)frame);
    PyObject *found = rule_for(core, code);
    Py_DECREF(code);
    return found;
}

/* rule, final = found: 0, or -1 with an exception */
static int
unpack_rule(PyObject *found, PyObject **rule, int *final)
{
    if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 2) {
        PyErr_SetString(PyExc_TypeError, "Parking.rules: (rule, final) pairs");
        return -1;
    }
    *rule = PyTuple_GET_ITEM(found, 0);
    *final = PyObject_IsTrue(PyTuple_GET_ITEM(found, 1));
    return *final < 0 ? -1 : 0;
}

/* frame.f_back, a new reference (None: NULL) */
static PyObject *
back_of(PyObject *frame)
{
    return (PyObject *)PyFrame_GetBack((PyFrameObject *)frame);
}

/* Parking.why(frame): why the greenthread whose innermost frame of Python code is `frame` (None: it has none)
   parks, or None if it yields. A new reference, NULL with an exception */
static PyObject *
why(Core *core, PyObject *frame)
{
    PyObject *found = NULL;
    Py_INCREF(frame);
    for (int i = 0; i < core->depth; i++) {
        if (frame == Py_None || !PyFrame_Check(frame)) {
            Py_DECREF(frame);
            return Py_NewRef(core->unknown);
        }
        found = rule_of(core, frame);
        if (found != NULL || PyErr_Occurred()) {
            break;
        }
        PyObject *back = back_of(frame);
        Py_SETREF(frame, back != NULL ? back : Py_NewRef(Py_None));
    }
    if (found == NULL) {
        Py_DECREF(frame);
        return PyErr_Occurred() ? NULL : Py_NewRef(core->unknown);
    }
    PyObject *rule;
    int final;
    Py_INCREF(found);
    if (unpack_rule(found, &rule, &final) < 0) {
        Py_DECREF(found);
        Py_DECREF(frame);
        return NULL;
    }
    PyObject *args[] = {frame};
    PyObject *result = PyObject_Vectorcall(rule, args, 1, NULL);
    Py_DECREF(found);
    if (result == NULL || final || result == Py_None) {
        Py_DECREF(frame);
        return result;
    }
    PyObject *outer = back_of(frame); /* a rule further out may refine it (a pool's spawn around a semaphore's) */
    Py_DECREF(frame);
    for (int i = 0; i < core->refine && outer != NULL; i++) {
        found = rule_of(core, outer);
        if (found == NULL && PyErr_Occurred()) {
            break;
        }
        if (found != NULL) {
            int outer_final = 0;
            Py_INCREF(found);
            if (PyTuple_Check(found) && PyTuple_GET_SIZE(found) == 2) { /* found[1] */
                outer_final = PyObject_IsTrue(PyTuple_GET_ITEM(found, 1));
            }
            else {
                PyErr_SetString(PyExc_TypeError, "Parking.rules: (rule, final) pairs");
                outer_final = -1;
            }
            if (outer_final != 0) {
                PyObject *refined = NULL;
                if (outer_final > 0) {
                    PyObject *outer_args[] = {outer};
                    refined = PyObject_Vectorcall(PyTuple_GET_ITEM(found, 0), outer_args, 1, NULL);
                }
                Py_DECREF(found);
                Py_DECREF(outer);
                Py_DECREF(result);
                return refined;
            }
            Py_DECREF(found);
        }
        PyObject *back = back_of(outer);
        Py_SETREF(outer, back);
    }
    Py_XDECREF(outer);
    if (PyErr_Occurred()) {
        Py_DECREF(result);
        return NULL;
    }
    return result;
}

/* the exception a rule raised (an Exception) as why: (UNKNOWN, None, "Type: message"); NULL with an exception */
static PyObject *
misread(Core *core)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) {
        PyException_SetTraceback(value, tb);
    }
    Py_XDECREF(type);
    Py_XDECREF(tb);
    PyObject *exc = value;
#endif
    if (exc == NULL) {
        return NULL;
    }
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(exc), "__name__");
    PyObject *detail = name == NULL ? NULL : PyUnicode_FromFormat("%U: %S", name, exc);
    Py_XDECREF(name);
    Py_DECREF(exc);
    if (detail == NULL) {
        return NULL;
    }
    PyObject *found = PyTuple_Pack(3, PyTuple_GET_ITEM(core->unknown, 0), Py_None, detail);
    Py_DECREF(detail);
    return found;
}

/* `found` (any iterable) as exactly 3 items, a new tuple; NULL with the exception unpacking raises */
static PyObject *
three(PyObject *found)
{
    if (PyTuple_CheckExact(found) && PyTuple_GET_SIZE(found) == 3) {
        return Py_NewRef(found);
    }
    PyObject *it = PyObject_GetIter(found);
    if (it == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Format(PyExc_TypeError, "cannot unpack non-iterable %.200s object", Py_TYPE(found)->tp_name);
        }
        return NULL;
    }
    PyObject *items = PySequence_List(it);
    Py_DECREF(it);
    if (items == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(items);
    PyObject *result = NULL;
    if (n < 3) {
        PyErr_Format(PyExc_ValueError, "not enough values to unpack (expected 3, got %zd)", n);
    }
    else if (n > 3) {
        PyErr_SetString(PyExc_ValueError, "too many values to unpack (expected 3)");
    }
    else {
        result = PyList_AsTuple(items);
    }
    Py_DECREF(items);
    return result;
}

/* the deadline of a park for `detail` seconds: clock() + int(detail * 1e9), a new reference */
static PyObject *
deadline_in(Core *core, PyObject *detail)
{
    PyObject *ns = PyFloat_FromDouble(1e9), *scaled = NULL, *whole = NULL, *now = NULL, *deadline = NULL;
    if (ns != NULL && (now = PyObject_CallNoArgs(core->clock)) != NULL
        && (scaled = PyNumber_Multiply(detail, ns)) != NULL && (whole = PyNumber_Long(scaled)) != NULL) {
        deadline = PyNumber_Add(now, whole);
    }
    Py_XDECREF(ns);
    Py_XDECREF(now);
    Py_XDECREF(scaled);
    Py_XDECREF(whole);
    return deadline;
}

/* `glet` parks for `reason`, on `obj`, with `detail`: who waits on what, and `blocked`, called here (from the
   greenthread itself: the recorder reads its frames). 0, or -1 with an exception */
static int
park_as(Core *core, PyObject *glet, PyObject *reason, PyObject *obj, PyObject *detail)
{
    PyObject *deadline = Py_NewRef(zero), *p = NULL;
    int r = -1;
    if (PyFloat_CheckExact(detail) || PyLong_CheckExact(detail)) {
        int io = PySet_Contains(core->io, reason);
        if (io < 0) {
            goto done;
        }
        if (!io) {
            Py_SETREF(deadline, deadline_in(core, detail));
            if (deadline == NULL) {
                goto done;
            }
        }
    }
    else if (detail != Py_None && !PyUnicode_CheckExact(detail)) {
        detail = Py_None; /* a library variable that held a timeout holds something else by now */
    }
    p = new_parked(glet, reason, obj, deadline);
    if (p == NULL || PyDict_SetItem(core->parked, glet, p) < 0) {
        goto done;
    }
    if (obj != Py_None) {
        PyObject *empty = PyList_New(0);
        PyObject *waiting = empty == NULL ? NULL : PyDict_SetDefault(core->waits, obj, empty); /* (borrowed) */
        Py_XDECREF(empty);
        if (waiting == NULL || PyList_Append(waiting, p) < 0) {
            goto done;
        }
    }
    PyObject *args[] = {glet, reason, obj, detail};
    r = call_hook(core, BLOCKED, args, 4);
done:
    Py_XDECREF(p);
    Py_XDECREF(deadline);
    return r;
}

/* `glet` parks, suspended in `frame` (None: no Python frame): why (the rules), then `park_as`. 0, or -1 with an
   exception */
static int
park(Core *core, PyObject *glet, PyObject *frame)
{
    PyObject *found = why(core, frame);
    if (found == NULL) { /* a rule that misread a library's frame must not stop the program */
        if (!PyErr_ExceptionMatches(PyExc_Exception) || (found = misread(core)) == NULL) {
            return -1;
        }
    }
    if (found == Py_None) { /* it yields: ready again at once */
        Py_DECREF(found);
        return 0;
    }
    PyObject *got = three(found);
    Py_DECREF(found);
    if (got == NULL) {
        return -1;
    }
    int r = park_as(core, glet, PyTuple_GET_ITEM(got, 0), PyTuple_GET_ITEM(got, 1), PyTuple_GET_ITEM(got, 2));
    Py_DECREF(got);
    return r;
}

static PyTypeObject SocketRuleType;
static int socket_why(PyObject *rule, PyObject *object, Frame *frame, PyCodeObject *code, PyObject **reason,
                      PyObject **name);

/* the most frequent park of a server, a socket's wait, read from the interpreter's frame (`frame`, running
   `code`) where its rule is a SocketRule: no frame object made, no rule called through Python, no tuple
   (~1,000 instructions of a park's ~5,000). 1: parked; 0: not such a park (or its frame says too little
   there: the rules say, from the frame object); -1 with an exception */
static int
park_on_socket(Core *core, PyObject *glet, Frame *frame, PyCodeObject *code)
{
    PyObject *found = rule_for(core, code), *reason = NULL, *name = NULL;
    if (found == NULL || !PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2
        || !Py_IS_TYPE(PyTuple_GET_ITEM(found, 0), &SocketRuleType) || PyTuple_GET_ITEM(found, 1) != Py_True) {
        return PyErr_Occurred() ? -1 : 0;
    }
    int r = socket_why(PyTuple_GET_ITEM(found, 0), NULL, frame, code, &reason, &name);
    if (r < 0 && PyErr_ExceptionMatches(PyExc_Exception)) { /* the rules say it, from the frame object */
        PyErr_Clear();
        r = 0;
    }
    if (r <= 0) {
        return r;
    }
    glet = glet != NULL ? Py_NewRef(glet) : current();
    r = glet == NULL ? -1 : park_as(core, glet, reason, Py_None, name) < 0 ? -1 : 1;
    Py_XDECREF(glet);
    Py_DECREF(name);
    return r;
}

/* `glet` (NULL: the current greenlet) calls its hub's switch from `frame` (NULL: from no Python frame at all),
   or did and is suspended there (its frame object: `object`; NULL: the thread's top frame): it parks there unless
   it yields: park(greenlet, frame object or None). 0, or -1 with an exception */
static int
park_unless_yields(Core *core, PyObject *glet, Frame *frame, PyCodeObject *code, PyObject *object)
{
    if (frame != NULL) {
        int yielded = yields_here(core, frame, code, object);
        if (yielded != 0) {
            return yielded < 0 ? -1 : 0;
        }
        int parked = park_on_socket(core, glet, frame, code);
        if (parked != 0) {
            return parked < 0 ? -1 : 0;
        }
        if (object == NULL && (object = (PyObject *)PyEval_GetFrame()) == NULL && PyErr_Occurred()) {
            return -1;
        }
    }
    glet = glet != NULL ? Py_NewRef(glet) : current();
    if (glet == NULL) {
        return -1;
    }
    Py_XINCREF(object);
    int r = park(core, glet, object != NULL ? object : Py_None);
    Py_XDECREF(object);
    Py_DECREF(glet);
    return r;
}

/* the same for the current greenlet, calling its hub's switch from the thread's top frame */
static int
park_here_unless_yields(Core *core)
{
    PyCodeObject *code = NULL;
    Frame *frame = top_frame(&code);
    return park_unless_yields(core, NULL, frame, code, NULL);
}

/* the wake of `glet`, parked as `p`, by a switch from `by` (`threw`: a throw): who woke it and why, its timer's
   lateness (counted for the hub's next poll), reported to `woken`. 0, or -1 with an exception */
static int
wake(Core *self, PyObject *glet, PyObject *p_obj, int threw, PyObject *by)
{
    if (!Py_IS_TYPE(p_obj, &ParkedType) && !PyObject_TypeCheck(p_obj, &ParkedType)) {
        PyErr_Format(PyExc_TypeError, "parked: a Parked, not %.100s", Py_TYPE(p_obj)->tp_name);
        return -1;
    }
    Parked *p = (Parked *)p_obj;
    PyObject *obj = NULL, *cause = NULL, *waker = NULL, *late = NULL, *deadline = NULL;
    int result = -1;
    if (p->obj == NULL || p->waker == NULL || p->cause == NULL || p->reason == NULL || p->deadline == NULL) {
        PyErr_SetString(PyExc_AttributeError, "a Parked whose fields were deleted");
        return -1;
    }
    obj = Py_NewRef(p->obj);
    if (obj != Py_None) {
        PyObject *waiting = PyDict_GetItemWithError(self->waits, obj); /* waits[obj] */
        if (waiting == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_SetObject(PyExc_KeyError, obj);
            }
            goto done;
        }
        if (!PyList_Check(waiting)) {
            PyErr_Format(PyExc_TypeError, "waits: lists of Parked, not %.100s", Py_TYPE(waiting)->tp_name);
            goto done;
        }
        Py_INCREF(waiting);
        Py_ssize_t n = PyList_GET_SIZE(waiting), i = 0;
        while (i < n && PyList_GET_ITEM(waiting, i) != p_obj) { /* list.remove(p): a Parked equals only itself */
            i++;
        }
        if (i == n) {
            PyErr_SetString(PyExc_ValueError, "list.remove(x): x not in list");
            i = -1;
        }
        else if (PyList_SetSlice(waiting, i, i + 1, NULL) < 0) {
            i = -1;
        }
        n = PyList_GET_SIZE(waiting);
        Py_DECREF(waiting);
        if (i < 0 || (n == 0 && PyDict_DelItem(self->waits, obj) < 0)) {
            goto done;
        }
    }
    if (p->waker != Py_None) {
        cause = Py_NewRef(p->cause);
        waker = Py_NewRef(p->waker);
    }
    else if (threw) {
        cause = Py_NewRef(by == self->hub ? self->timeout : self->kill);
        waker = Py_NewRef(by);
    }
    else {
        cause = PyDict_GetItemWithError(self->causes, p->reason);
        if (cause == NULL && PyErr_Occurred()) {
            goto done;
        }
        cause = Py_NewRef(cause != NULL ? cause : self->send);
        waker = Py_NewRef(by);
    }
    deadline = Py_NewRef(p->deadline);
    int timed = PyObject_IsTrue(deadline);
    if (timed > 0) {
        timed = PyObject_RichCompareBool(cause, self->timer, Py_EQ);
        if (timed == 0) {
            timed = PyObject_RichCompareBool(cause, self->timeout, Py_EQ);
        }
    }
    if (timed < 0) {
        goto done;
    }
    if (timed) { /* the timer fired that late: reported from the hub when it next polls */
        PyObject *now = PyObject_CallNoArgs(self->clock);
        late = now == NULL ? NULL : lateness(now, deadline);
        Py_XDECREF(now);
        if (late == NULL) {
            goto done;
        }
        self->fired++;
        int later = PyObject_RichCompareBool(late, self->late_most, Py_GT);
        if (later < 0) {
            goto done;
        }
        if (later) {
            Py_SETREF(self->late_most, Py_NewRef(late));
        }
    }
    else {
        late = Py_NewRef(zero);
    }
    PyObject *args[] = {glet, cause, waker, obj, late};
    result = call_hook(self, WOKEN, args, 5);
done:
    Py_XDECREF(obj);
    Py_XDECREF(cause);
    Py_XDECREF(waker);
    Py_XDECREF(late);
    Py_XDECREF(deadline);
    return result;
}

/* `glet` switched away dead: its wake if it was parked, then how it ended (`exited`, in Python) */
static int
ended(Core *self, PyObject *glet, int threw)
{
    PyObject *p;
    if (pop(self->parked, glet, &p) < 0) {
        return -1;
    }
    if (p != NULL) {
        int r = wake(self, glet, p, threw, glet);
        Py_DECREF(p);
        if (r < 0) {
            return -1;
        }
    }
    PyObject *args[] = {glet, threw ? Py_True : Py_False};
    return call(self->exited, args, 2);
}

/* event == "throw" (greenlet's events are interned: the same objects as ours) */
static int
is_throw(PyObject *event)
{
    return event == throw_name
           || (event != switch_name && PyUnicode_CheckExact(event) && PyUnicode_Compare(event, throw_name) == 0);
}

/* back = value (NULL: None), the old one released after */
static void
set_back(Core *self, PyObject *value)
{
    Py_XINCREF(value);
    Py_XSETREF(self->back, value);
}

/* hasattr(glet, "gid"): 1, 0, or -1 with an exception. From where its type keeps it (runtime/_gid.h: a
   generic lookup is a third of the trace's cost, and the recorder gives every greenthread it sees an id) */
static int
has_gid(Core *self, PyObject *glet)
{
    PyObject *gid;
    int found = gid_peek(&self->gids, glet, gid_name, &gid);
    if (found != 0) {
        return found < 0 ? -1 : gid != NULL;
    }
    int r = PyObject_GetOptionalAttr(glet, gid_name, &gid);
    Py_XDECREF(gid);
    return r;
}

static int trace(Core *self, PyObject *event, PyObject *origin, PyObject *target);

/* a switch between two greenlets, neither of them the hub known: the hub found now (then the switch is
   traced again), else one greenthread switching straight to another */
static int
elsewhere(Core *self, PyObject *event, PyObject *origin, PyObject *target)
{
    PyObject *found = PyObject_CallNoArgs(self->find_hub);
    if (found == NULL) {
        return -1;
    }
    if (found != Py_None && found != self->hub && (found == origin || found == target)) {
        int r = PyObject_SetAttr(found, gid_name, zero); /* what the recorder calls the main thread's hub */
        if (r == 0) {
            Py_XSETREF(self->hub, Py_NewRef(found));
            PyObject *args[] = {found};
            r = call(self->on_hub, args, 1);
        }
        Py_DECREF(found);
        return r < 0 ? -1 : trace(self, event, origin, target);
    }
    Py_DECREF(found);
    int threw = is_throw(event);
    PyObject *dead = PyObject_GetAttr(origin, dead_name);
    int is_dead = dead == NULL ? -1 : PyObject_IsTrue(dead);
    Py_XDECREF(dead);
    if (is_dead < 0 || (is_dead && ended(self, origin, threw) < 0)) {
        return -1;
    }
    PyObject *p;
    if (pop(self->parked, target, &p) < 0) {
        return -1;
    }
    if (p != NULL) {
        int r = wake(self, target, p, threw, origin);
        Py_DECREF(p);
        if (r < 0) {
            return -1;
        }
    }
    PyObject *args[] = {origin, target};
    return call_hook(self, SWITCHED, args, 2);
}

/* what the trace closure does for a switch from `origin` to `target`: 0, or -1 with an exception */
static int
trace(Core *self, PyObject *event, PyObject *origin, PyObject *target)
{
    PyObject *hub = self->hub;
    if (hub != NULL && target == hub) { /* a greenthread gives the hub control: parked, yielded or ended */
        int announced = origin == self->leaving, r = 0;
        Py_CLEAR(self->leaving);
        if (!announced) { /* (one that said why is alive: it parks) */
            PyObject *frame = NULL; /* its suspended frame, read only where needed (materialized: ~350 instructions) */
            int active = greenlet_active != NULL && !self->announces ? greenlet_active(origin) : -1;
            if (active < 0 && (frame = PyObject_GetAttr(origin, gr_frame_name)) == NULL) {
                return -1;
            }
            if (active == 0 || frame == Py_None) { /* it ended */
                r = ended(self, origin, is_throw(event));
            }
            else if (self->announces) { /* it did not say why: its frame will */
                PyCodeObject *code = NULL;
                Frame *f = PyFrame_Check(frame) ? frame_of((PyFrameObject *)frame, &code) : NULL;
                r = park_unless_yields(self, origin, f, code, f != NULL ? frame : NULL);
            }
            Py_XDECREF(frame);
        }
        if (r < 0) {
            return -1;
        }
        set_back(self, origin);
        return 0;
    }
    if (hub != NULL && origin == hub) { /* the hub runs a greenthread */
        int r = 0;
        Py_INCREF(hub);
        if (PyDict_GET_SIZE(self->parked)) {
            PyObject *p;
            r = pop(self->parked, target, &p);
            if (p != NULL) {
                r = wake(self, target, p, is_throw(event), hub);
                Py_DECREF(p);
            }
        }
        if (r == 0) { /* announced (the recorder gave it an id) or not */
            r = has_gid(self, target);
            if (r == 0) {
                PyObject *args[] = {target, hub};
                r = call(self->announce, args, 2);
            }
            else if (r > 0) {
                r = 0;
            }
        }
        if (r == 0) {
            PyObject *args[] = {self->back != NULL ? self->back : hub, target};
            Py_XINCREF(self->back);
            PyObject *back = self->back;
            r = call_hook(self, SWITCHED, args, 2);
            Py_XDECREF(back);
            if (r == 0) {
                set_back(self, NULL);
            }
        }
        Py_DECREF(hub);
        return r;
    }
    return elsewhere(self, event, origin, target);
}

/* core(event, (origin, target)): greenlet's trace */
static PyObject *
Core_call(Core *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    PyObject *pair = nargs == 2 ? args[1] : NULL;
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames)) || pair == NULL || !PyTuple_Check(pair)
        || PyTuple_GET_SIZE(pair) != 2) {
        PyErr_SetString(PyExc_TypeError, "trace(event, (origin, target))");
        return NULL;
    }
    if (CLEARED(self)) {
        Py_RETURN_NONE;
    }
    PyObject *origin = Py_NewRef(PyTuple_GET_ITEM(pair, 0)), *target = Py_NewRef(PyTuple_GET_ITEM(pair, 1));
    int r = trace(self, args[0], origin, target);
    Py_DECREF(origin);
    Py_DECREF(target);
    return r < 0 ? NULL : Py_NewRef(Py_None);
}

/* hub_waits(timeout): the hub waits on its poller for at most `timeout` seconds (it has had control since
   the last greenthread gave it back: that switch is reported now, and the timers it fired) */
static PyObject *
Core_hub_waits(Core *self, PyObject *timeout)
{
    if (CLEARED(self)) {
        Py_RETURN_NONE;
    }
    if (self->back != NULL) {
        PyObject *back = Py_NewRef(self->back);
        PyObject *args[] = {back, self->hub != NULL ? self->hub : Py_None};
        int r = call_hook(self, SWITCHED, args, 2);
        Py_DECREF(back);
        if (r < 0) {
            return NULL;
        }
        set_back(self, NULL);
    }
    if (self->fired) {
        PyObject *fired = PyLong_FromSsize_t(self->fired), *late = Py_NewRef(self->late_most);
        PyObject *args[] = {fired, late};
        int r = fired == NULL ? -1 : call_hook(self, TIMERS_FIRED, args, 2);
        Py_XDECREF(fired);
        Py_DECREF(late);
        if (r < 0) {
            return NULL;
        }
        self->fired = 0;
        Py_SETREF(self->late_most, Py_NewRef(zero));
    }
    PyObject *args[] = {timeout};
    return call_hook(self, BEFORE_IO_WAIT, args, 1) < 0 ? NULL : Py_NewRef(Py_None);
}

/* hub_woke(nready): the hub's poller wait returned */
static PyObject *
Core_hub_woke(Core *self, PyObject *nready)
{
    if (CLEARED(self)) {
        Py_RETURN_NONE;
    }
    PyObject *args[] = {nready};
    return call_hook(self, AFTER_IO_WAIT, args, 1) < 0 ? NULL : Py_NewRef(Py_None);
}

static PyObject *ParkingSwitch_new(Core *core, PyObject *switch_);

/* hub_woke_pending(loop): hub_woke(loop.pendingcnt) (gevent's check watcher) */
static PyObject *
Core_hub_woke_pending(Core *self, PyObject *loop)
{
    if (CLEARED(self)) {
        Py_RETURN_NONE;
    }
    PyObject *nready = PyObject_GetAttr(loop, pendingcnt_name);
    if (nready == NULL) {
        return NULL;
    }
    PyObject *args[] = {nready};
    int r = call_hook(self, AFTER_IO_WAIT, args, 1);
    Py_DECREF(nready);
    return r < 0 ? NULL : Py_NewRef(Py_None);
}

/* leave(): the current greenthread gives its hub control (gevent's switch_out, called from the hub's switch):
   it parks, unless it yields */
static PyObject *
Core_leave(Core *self, PyObject *unused)
{
    if (PyThread_get_thread_ident() != self->thread || CLEARED(self)) {
        Py_RETURN_NONE;
    }
    PyCodeObject *code = NULL;
    Frame *frame = top_frame(&code);
    if (park_unless_yields(self, NULL, frame, code, NULL) < 0) {
        return NULL;
    }
    PyObject *glet = current(); /* it said why: its next switch, to the hub, is not tested again */
    if (glet == NULL) {
        return NULL;
    }
    Py_XSETREF(self->leaving, glet);
    Py_RETURN_NONE;
}

static void forget_yields(Core *core);

static PyObject *
Core_forget(Core *self, PyObject *unused)
{
    forget_yields(self);
    Py_RETURN_NONE;
}

static PyObject *
Core_parking(Core *self, PyObject *switch_)
{
    return ParkingSwitch_new(self, switch_);
}

static PyMethodDef Core_methods[] = {
    {"hub_waits", (PyCFunction)Core_hub_waits, METH_O,
     "hub_waits(timeout): the hub waits on its poller (the switch back to it and the timers it fired are "
     "reported first)."},
    {"hub_woke", (PyCFunction)Core_hub_woke, METH_O, "hub_woke(nready): the hub's poller wait returned."},
    {"hub_woke_pending", (PyCFunction)Core_hub_woke_pending, METH_O,
     "hub_woke_pending(loop): hub_woke(loop.pendingcnt)."},
    {"leave", (PyCFunction)Core_leave, METH_NOARGS,
     "leave(): the current greenthread gives its hub control (gevent's switch_out): it parks, unless it yields."},
    {"forget", (PyCFunction)Core_forget, METH_NOARGS, "forget(): `yields` changed (what was read of it is dropped)."},
    {"parking", (PyCFunction)Core_parking, METH_O,
     "parking(switch) -> the hub's `switch`, seeing first whether the greenthread calling it parks, and why."},
    {NULL},
};

static PyMemberDef Core_members[] = {
    {"hub", T_OBJECT, offsetof(Core, hub), READONLY, "this thread's hub greenlet, once found (else None)"},
    {"back", T_OBJECT, offsetof(Core, back), READONLY, "the greenthread that gave the hub control, not reported yet"},
    {"fired", T_PYSSIZET, offsetof(Core, fired), READONLY, "timers that woke greenthreads since the hub last polled"},
    {"late_most", T_OBJECT, offsetof(Core, late_most), READONLY, "the latest of those timers' lateness (ns)"},
    {"thread", T_ULONG, offsetof(Core, thread), 0, "the thread traced (its get_ident())"},
    {NULL},
};

static PyObject *
Core_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"parked", "waits", "yields", "hooks", "causes", "timer", "timeout", "kill", "send",
                             "find_hub", "on_hub", "rules", "unknown", "io", "depth", "refine", "exited", "announce", "clock",
                             "announces", NULL};
    PyObject *parked, *waits, *yields, *hooks, *causes, *timer, *timeout, *kill, *send, *find_hub, *on_hub, *rules,
        *unknown, *io, *exited, *announce, *clock;
    int depth, refine, announces = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O!OO!OOOOOOO!O!O!iiOOO|p:Core", kwlist, &PyDict_Type, &parked,
                                     &PyDict_Type, &waits, &PyDict_Type, &yields, &hooks, &PyDict_Type, &causes, &timer,
                                     &timeout, &kill, &send, &find_hub, &on_hub, &PyDict_Type, &rules, &PyTuple_Type,
                                     &unknown, &PyFrozenSet_Type, &io, &depth, &refine, &exited, &announce, &clock,
                                     &announces)) {
        return NULL;
    }
    Core *self = (Core *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = (vectorcallfunc)Core_call;
    self->parked = Py_NewRef(parked);
    self->waits = Py_NewRef(waits);
    self->yields = Py_NewRef(yields);
    self->hooks = Py_NewRef(hooks);
    self->causes = Py_NewRef(causes);
    self->timer = Py_NewRef(timer);
    self->timeout = Py_NewRef(timeout);
    self->kill = Py_NewRef(kill);
    self->send = Py_NewRef(send);
    self->find_hub = Py_NewRef(find_hub);
    self->on_hub = Py_NewRef(on_hub);
    self->rules = Py_NewRef(rules);
    self->unknown = Py_NewRef(unknown);
    self->io = Py_NewRef(io);
    self->depth = depth;
    self->refine = refine;
    self->exited = Py_NewRef(exited);
    self->announce = Py_NewRef(announce);
    self->clock = Py_NewRef(clock);
    self->late_most = Py_NewRef(zero);
    self->announces = announces;
    learn_hooks(self);
    return (PyObject *)self;
}

static int
Core_traverse(Core *self, visitproc visit, void *arg)
{
    Py_VISIT(self->parked);
    Py_VISIT(self->waits);
    Py_VISIT(self->yields);
    Py_VISIT(self->hooks);
    Py_VISIT(self->causes);
    Py_VISIT(self->timer);
    Py_VISIT(self->timeout);
    Py_VISIT(self->kill);
    Py_VISIT(self->send);
    Py_VISIT(self->find_hub);
    Py_VISIT(self->on_hub);
    Py_VISIT(self->rules);
    Py_VISIT(self->unknown);
    Py_VISIT(self->io);
    Py_VISIT(self->exited);
    Py_VISIT(self->announce);
    Py_VISIT(self->clock);
    Py_VISIT(self->hub);
    Py_VISIT(self->back);
    Py_VISIT(self->late_most);
    Py_VISIT(self->leaving);
    Py_VISIT(self->hooks_type);
    for (int i = 0; i < YIELD_CODES; i++) {
        Py_VISIT(self->yielding[i].at);
    }
    for (int i = 0; i < RULE_CODES; i++) {
        Py_VISIT(self->rule_codes[i].found);
    }
    return 0;
}

static int
Core_clear(Core *self)
{
    Py_CLEAR(self->parked);
    Py_CLEAR(self->waits);
    Py_CLEAR(self->yields);
    Py_CLEAR(self->hooks);
    Py_CLEAR(self->causes);
    Py_CLEAR(self->timer);
    Py_CLEAR(self->timeout);
    Py_CLEAR(self->kill);
    Py_CLEAR(self->send);
    Py_CLEAR(self->find_hub);
    Py_CLEAR(self->on_hub);
    Py_CLEAR(self->rules);
    Py_CLEAR(self->unknown);
    Py_CLEAR(self->io);
    Py_CLEAR(self->exited);
    Py_CLEAR(self->announce);
    Py_CLEAR(self->clock);
    Py_CLEAR(self->hub);
    Py_CLEAR(self->back);
    Py_CLEAR(self->late_most);
    Py_CLEAR(self->leaving);
    Py_CLEAR(self->hooks_type);
    forget_yields(self);
    return 0;
}

static void
Core_dealloc(Core *self)
{
    PyObject_GC_UnTrack(self);
    Core_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime.attach._switches.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "The switch trace of one adapter: core(event, (origin, target)), for greenlet.settrace.",
    .tp_vectorcall_offset = offsetof(Core, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = Core_new,
    .tp_traverse = (traverseproc)Core_traverse,
    .tp_clear = (inquiry)Core_clear,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
    .tp_members = Core_members,
};

/* ------------------------------------------------------------------ ParkingSwitch: the hub's switch */

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Core *core;
    PyObject *switch_; /* the library's */
} ParkingSwitch;

static PyTypeObject ParkingSwitchType;


static PyObject *
ParkingSwitch_call(ParkingSwitch *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Core *core = self->core;
    if (core == NULL || self->switch_ == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "a hub's switch cleared by the garbage collector");
        return NULL;
    }
    if (PyThread_get_thread_ident() == core->thread && !CLEARED(core) && park_here_unless_yields(core) < 0) {
        return NULL;
    }
    return PyObject_Vectorcall(self->switch_, args, nargsf, kwnames);
}

/* a method: hub.switch is bound to the hub (and LOAD_METHOD calls it unbound: Py_TPFLAGS_METHOD_DESCRIPTOR) */
static PyObject *
ParkingSwitch_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None) {
        return Py_NewRef(self);
    }
    return PyMethod_New(self, obj);
}

static PyObject *
ParkingSwitch_new(Core *core, PyObject *switch_)
{
    ParkingSwitch *self = PyObject_GC_New(ParkingSwitch, &ParkingSwitchType);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = (vectorcallfunc)ParkingSwitch_call;
    self->core = (Core *)Py_NewRef((PyObject *)core);
    self->switch_ = Py_NewRef(switch_);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
ParkingSwitch_traverse(ParkingSwitch *self, visitproc visit, void *arg)
{
    Py_VISIT(self->core);
    Py_VISIT(self->switch_);
    return 0;
}

static int
ParkingSwitch_clear(ParkingSwitch *self)
{
    Py_CLEAR(self->core);
    Py_CLEAR(self->switch_);
    return 0;
}

static void
ParkingSwitch_dealloc(ParkingSwitch *self)
{
    PyObject_GC_UnTrack(self);
    ParkingSwitch_clear(self);
    PyObject_GC_Del(self);
}

static PyObject *
ParkingSwitch_wrapped(ParkingSwitch *self, void *closure)
{
    return Py_NewRef(self->switch_);
}

static PyGetSetDef ParkingSwitch_getset[] = {
    {"__wrapped__", (getter)ParkingSwitch_wrapped, NULL, "the library's switch", NULL},
    {NULL},
};

static PyTypeObject ParkingSwitchType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime.attach._switches.ParkingSwitch",
    .tp_basicsize = sizeof(ParkingSwitch),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_doc = "The hub's switch (Core.parking(switch)): a greenthread calling it parks, or yields.",
    .tp_vectorcall_offset = offsetof(ParkingSwitch, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_descr_get = ParkingSwitch_get,
    .tp_traverse = (traverseproc)ParkingSwitch_traverse,
    .tp_clear = (inquiry)ParkingSwitch_clear,
    .tp_dealloc = (destructor)ParkingSwitch_dealloc,
    .tp_getset = ParkingSwitch_getset,
};

/* ------------------------------------------------------------------ SocketRule: a wait on a socket, in C */

enum { GEVENT_SOCKET, EVENTLET_TRAMPOLINE };

/* SocketRule.gevent(peers, peer, io_read, io_write) / SocketRule.eventlet(...): the rule of a greenthread waiting on a
   socket (`runtime.attach.gevent`'s and `.eventlet`'s `wait` and `trampoline` closures, which it does exactly), the
   most frequent park of a server: (io_read or io_write, None, the peer's name) from `peers` (id(socket) -> (weak
   reference, name)), else peer(socket, fd, reading) */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    int kind;
    PyObject *peers, *peer, *io_read, *io_write;
} SocketRule;

static PyTypeObject SocketRuleType;

/* frame's local `name`, a new reference (what frame.f_locals[name] gives) */
static PyObject *
local_of(PyObject *frame, PyObject *name)
{
    PyObject *value;
    if (PyFrame_Check(frame) && object_fast_local((PyFrameObject *)frame, name, &value)) {
        return value;
    }
    return locals_item(frame, name, NULL);
}

/* peers.get(id(sock)): its name where the weak reference there is to `sock` (borrowed), else NULL (or an error) */
static PyObject *
known_peer(SocketRule *self, PyObject *sock)
{
    PyObject *key = PyLong_FromVoidPtr(sock);
    PyObject *known = key == NULL ? NULL : PyDict_GetItemWithError(self->peers, key);
    Py_XDECREF(key);
    if (known == NULL || !PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 2) {
        return NULL;
    }
    PyObject *ref = PyObject_CallNoArgs(PyTuple_GET_ITEM(known, 0));
    if (ref == NULL) {
        return NULL;
    }
    Py_DECREF(ref); /* (compared only) */
    return ref == sock ? PyTuple_GET_ITEM(known, 1) : NULL;
}

/* local `name` of the frame object `object`, or where it is NULL of the interpreter's `frame` running `code`:
   a new reference; NULL with an exception, or (from `frame`) without one for a local it does not hold plainly */
static PyObject *
rule_local(PyObject *object, Frame *frame, PyCodeObject *code, PyObject *name)
{
    PyObject *value;
    if (object != NULL) {
        return local_of(object, name);
    }
    return fast_local(frame, code, name, &value) ? value : NULL;
}

/* what a SocketRule says of a park in the frame object `object` (NULL: in the interpreter's `frame` running
   `code`): 1 with *reason (borrowed: io_read or io_write) and *name (a new reference: the peer); 0 where
   `frame` holds too little; -1 with an exception */
static int
socket_why(PyObject *rule, PyObject *object, Frame *frame, PyCodeObject *code, PyObject **reason, PyObject **name)
{
    SocketRule *self = (SocketRule *)rule;
    PyObject *sock = NULL, *reading = NULL, *watcher = NULL, *fd = NULL;
    int truth, r = -1;
    *name = NULL;
    if (self->kind == GEVENT_SOCKET) { /* a socket's method waiting on its read or write watcher (the started one) */
        if ((sock = rule_local(object, frame, code, self_name)) == NULL
            || (watcher = PyObject_GetAttr(sock, read_event_name)) == NULL
            || (reading = PyObject_GetAttr(watcher, active_name)) == NULL || (truth = PyObject_IsTrue(reading)) < 0) {
            goto done;
        }
        if (!truth) {
            Py_SETREF(watcher, PyObject_GetAttr(sock, write_event_name));
            if (watcher == NULL) {
                goto done;
            }
        }
    }
    else { /* eventlet's trampoline(fd, read=...) */
        PyObject *read = rule_local(object, frame, code, read_name);
        truth = read == NULL ? -1 : PyObject_IsTrue(read);
        Py_XDECREF(read);
        if (truth < 0 || (sock = rule_local(object, frame, code, fd_name)) == NULL) {
            goto done;
        }
        reading = Py_NewRef(truth ? Py_True : Py_False);
    }
    *name = known_peer(self, sock);
    if (*name != NULL) {
        Py_INCREF(*name);
    }
    else if (!PyErr_Occurred()) {
        fd = self->kind == GEVENT_SOCKET ? PyObject_GetAttr(watcher, fd_name) : rule_local(object, frame, code, fileno_name);
        if (fd != NULL) {
            PyObject *peer_args[] = {sock, fd, reading};
            *name = PyObject_Vectorcall(self->peer, peer_args, 3, NULL);
        }
    }
    if (*name != NULL) {
        *reason = truth ? self->io_read : self->io_write;
        r = 1;
    }
done:
    if (r < 0 && object == NULL && !PyErr_Occurred()) {
        r = 0; /* a local the interpreter's frame does not hold plainly: the frame object will say */
    }
    Py_XDECREF(sock);
    Py_XDECREF(reading);
    Py_XDECREF(watcher);
    Py_XDECREF(fd);
    return r;
}

static PyObject *
SocketRule_call(SocketRule *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    if (PyVectorcall_NARGS(nargsf) != 1 || (kwnames != NULL && PyTuple_GET_SIZE(kwnames))) {
        PyErr_SetString(PyExc_TypeError, "rule(frame)");
        return NULL;
    }
    PyObject *reason, *name;
    if (socket_why((PyObject *)self, args[0], NULL, NULL, &reason, &name) < 0) {
        return NULL;
    }
    PyObject *result = PyTuple_Pack(3, reason, Py_None, name);
    Py_DECREF(name);
    return result;
}

static PyObject *
socket_rule(PyTypeObject *type, PyObject *args, int kind)
{
    PyObject *peers, *peer, *io_read, *io_write;
    if (!PyArg_ParseTuple(args, "O!OOO", &PyDict_Type, &peers, &peer, &io_read, &io_write)) {
        return NULL;
    }
    SocketRule *self = PyObject_GC_New(SocketRule, &SocketRuleType);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = (vectorcallfunc)SocketRule_call;
    self->kind = kind;
    self->peers = Py_NewRef(peers);
    self->peer = Py_NewRef(peer);
    self->io_read = Py_NewRef(io_read);
    self->io_write = Py_NewRef(io_write);
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static PyObject *
SocketRule_gevent(PyObject *type, PyObject *args)
{
    return socket_rule((PyTypeObject *)type, args, GEVENT_SOCKET);
}

static PyObject *
SocketRule_eventlet(PyObject *type, PyObject *args)
{
    return socket_rule((PyTypeObject *)type, args, EVENTLET_TRAMPOLINE);
}

static int
SocketRule_traverse(SocketRule *self, visitproc visit, void *arg)
{
    Py_VISIT(self->peers);
    Py_VISIT(self->peer);
    Py_VISIT(self->io_read);
    Py_VISIT(self->io_write);
    return 0;
}

static int
SocketRule_clear(SocketRule *self)
{
    Py_CLEAR(self->peers);
    Py_CLEAR(self->peer);
    Py_CLEAR(self->io_read);
    Py_CLEAR(self->io_write);
    return 0;
}

static void
SocketRule_dealloc(SocketRule *self)
{
    PyObject_GC_UnTrack(self);
    SocketRule_clear(self);
    PyObject_GC_Del(self);
}

static PyMethodDef SocketRule_methods[] = {
    {"gevent", (PyCFunction)SocketRule_gevent, METH_VARARGS | METH_CLASS,
     "gevent(peers, peer, io_read, io_write): the rule of a gevent socket's method waiting on its watcher."},
    {"eventlet", (PyCFunction)SocketRule_eventlet, METH_VARARGS | METH_CLASS,
     "eventlet(peers, peer, io_read, io_write): the rule of eventlet's trampoline(fd, read=...)."},
    {NULL},
};

static PyTypeObject SocketRuleType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime.attach._switches.SocketRule",
    .tp_basicsize = sizeof(SocketRule),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "rule(frame) -> (io_read | io_write, None, the peer): a wait on a socket (SocketRule.gevent, .eventlet).",
    .tp_vectorcall_offset = offsetof(SocketRule, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_traverse = (traverseproc)SocketRule_traverse,
    .tp_clear = (inquiry)SocketRule_clear,
    .tp_dealloc = (destructor)SocketRule_dealloc,
    .tp_methods = SocketRule_methods,
};

/* ------------------------------------------------------------------ the module */

static PyMethodDef methods[] = {
    {"local", (PyCFunction)(void (*)(void))local, METH_FASTCALL,
     "local(frame, name[, default]) -> frame.f_locals[name] (or .get(name, default)), without building f_locals\n"
     "where `name` is a plain local of the frame."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime.attach._switches", "The attach switch trace's hot paths in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__switches(void)
{
    PyObject *greenlet = PyImport_ImportModule("greenlet");
    getcurrent = greenlet == NULL ? NULL : PyObject_GetAttrString(greenlet, "getcurrent");
    Py_XDECREF(greenlet);
    if (getcurrent == NULL) {
        return NULL;
    }
    void **api = PyCapsule_Import("greenlet._C_API", 0);
    if (api != NULL) {
        greenlet_getcurrent = (PyObject * (*)(void)) api[GREENLET_GETCURRENT];
        greenlet_active = (int (*)(PyObject *))api[GREENLET_ACTIVE];
    }
    else {
        PyErr_Clear(); /* (no capsule: the call) */
    }
    for (int i = 0; i < HOOKS; i++) {
        if ((hook_names[i] = PyUnicode_InternFromString(HOOK_NAMES[i])) == NULL) {
            return NULL;
        }
    }
    gr_frame_name = PyUnicode_InternFromString("gr_frame");
    dead_name = PyUnicode_InternFromString("dead");
    gid_name = PyUnicode_InternFromString("gid");
    f_locals_name = PyUnicode_InternFromString("f_locals");
    throw_name = PyUnicode_InternFromString("throw");
    pendingcnt_name = PyUnicode_InternFromString("pendingcnt");
    switch_name = PyUnicode_InternFromString("switch");
    self_name = PyUnicode_InternFromString("self");
    read_event_name = PyUnicode_InternFromString("_read_event");
    write_event_name = PyUnicode_InternFromString("_write_event");
    active_name = PyUnicode_InternFromString("active");
    fd_name = PyUnicode_InternFromString("fd");
    read_name = PyUnicode_InternFromString("read");
    fileno_name = PyUnicode_InternFromString("fileno");
    zero = PyLong_FromLong(0);
    if (gr_frame_name == NULL || dead_name == NULL || gid_name == NULL || f_locals_name == NULL || throw_name == NULL
        || pendingcnt_name == NULL || switch_name == NULL || self_name == NULL || read_event_name == NULL
        || write_event_name == NULL || active_name == NULL || fd_name == NULL || read_name == NULL
        || fileno_name == NULL || zero == NULL || PyType_Ready(&ParkedType) < 0 || PyType_Ready(&CoreType) < 0
        || PyType_Ready(&ParkingSwitchType) < 0 || PyType_Ready(&SocketRuleType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m != NULL
        && (PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0
            || PyModule_AddObjectRef(m, "Parked", (PyObject *)&ParkedType) < 0
            || PyModule_AddObjectRef(m, "ParkingSwitch", (PyObject *)&ParkingSwitchType) < 0
            || PyModule_AddObjectRef(m, "SocketRule", (PyObject *)&SocketRuleType) < 0)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
