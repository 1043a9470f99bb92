/* runtime.trace._hooks: the recorder's three hottest hooks (switched, blocked, woken) in C.

   Hooks(kinds, switches, blocks, wakes, capacity, drops, clock, gid_of, where, resource_state, codes)

   Each hook does what `Recorder._bind`'s closure of the same name does, on the same buffer: it
   appends an event's values to its kind's list, then its kind to `kinds` (so the agent's thread,
   taking a batch between two hooks, sees whole events only); a full buffer counts a drop instead.
   No Python code runs between the first append and the kind's: the values are computed first.
   With the default clock (time.perf_counter_ns: CLOCK_MONOTONIC on Linux) the time is read directly.
   Optional: without it the closures run (`runtime.trace.recorder`). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_OBJECT_EX */
#include <time.h>

typedef struct {
    PyObject_HEAD
    PyObject *kinds;          /* bytearray: one kind code per whole event */
    PyObject *switches;       /* list: ts, from, to, ... */
    PyObject *blocks;         /* list: ts, gid, reason, obj, detail, where, ... */
    PyObject *wakes;          /* list: ts, gid, cause, waker, late, ... */
    Py_ssize_t capacity;      /* events the buffer holds */
    PyObject *drops;          /* list: one None per event lost */
    PyObject *clock;          /* () -> int ns */
    int monotonic;            /* clock is time.perf_counter_ns, which is CLOCK_MONOTONIC here: read it directly */
    PyObject *gid_of;         /* (greenlet) -> int, for a greenlet the runtime did not make */
    PyObject *where;          /* (skip) -> str | None: the user's line */
    PyObject *resource_state; /* (obj) -> None: a pool's or queue's counters as an event */
    unsigned char codes[3];   /* SWITCH, BLOCK, WAKE */
    PyTypeObject *slot_type;  /* a type whose `gid` is a slot (the runtime's greenthreads), as of */
    unsigned int slot_tag;    /* its version tag (a type changed or new has another), */
    Py_ssize_t slot_offset;   /* at this offset in its objects */
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
static PyObject *resource_kind_name;  /* "resource_kind" */

/* whether `type` keeps `gid` in a slot: if so, where (for gid) */
static void
learn_slot(Hooks *self, PyTypeObject *type)
{
    PyObject *descr = _PyType_Lookup(type, gid_name); /* (borrowed; gives the type a version tag) */
    if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)
        && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX
        && (type->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) && type->tp_version_tag != 0) {
        self->slot_type = type;
        self->slot_tag = type->tp_version_tag;
        self->slot_offset = ((PyMemberDescrObject *)descr)->d_member->offset;
    }
}

/* the greenthread id of `glet`: its gid attribute, read straight from its slot where its type has one
   (learned once per type: a generic attribute lookup is ~200 instructions, most of a switch's hook),
   else gid_of(glet) */
static PyObject *
gid(Hooks *self, PyObject *glet)
{
    PyTypeObject *type = Py_TYPE(glet);
    if (type != self->slot_type || type->tp_version_tag != self->slot_tag) {
        learn_slot(self, type);
    }
    if (type == self->slot_type && type->tp_version_tag == self->slot_tag) {
        PyObject *value = *(PyObject **)((char *)glet + self->slot_offset);
        if (value != NULL) {
            return Py_NewRef(value);
        }
    }
    PyObject *value;
    if (PyObject_GetOptionalAttr(glet, gid_name, &value) < 0) {
        return NULL;
    }
    return value != NULL ? value : PyObject_CallOneArg(self->gid_of, glet);
}

/* the time now, in ns */
static PyObject *
now(Hooks *self)
{
#ifdef __linux__
    struct timespec ts;
    if (self->monotonic && clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
        return PyLong_FromLongLong((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    }
#endif
    return PyObject_CallNoArgs(self->clock);
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

/* the values, then the kind: `n` new references in `values`, all released. All or nothing: a failed
   append (out of memory) takes back the values already appended, so the columns stay whole events. */
static int
put(Hooks *self, PyObject *list, PyObject **values, int n, unsigned char kind)
{
    Py_ssize_t before = PyList_GET_SIZE(list);
    int status = 0;
    for (int i = 0; i < n; i++) {
        if (status == 0 && PyList_Append(list, values[i]) < 0) {
            status = -1;
        }
        Py_DECREF(values[i]);
    }
    Py_ssize_t size = PyByteArray_GET_SIZE(self->kinds);
    if (status == 0 && PyByteArray_Resize(self->kinds, size + 1) == 0) {
        PyByteArray_AS_STRING(self->kinds)[size] = (char)kind;
        return 0;
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *error = PyErr_GetRaisedException();
    PyList_SetSlice(list, before, PY_SSIZE_T_MAX, NULL);
    PyErr_SetRaisedException(error);
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyList_SetSlice(list, before, PY_SSIZE_T_MAX, NULL);
    PyErr_Restore(type, value, traceback);
#endif
    return -1;
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
    PyObject *v[3] = {now(self), NULL, NULL};
    if (v[0] != NULL && (v[1] = gid(self, args[0])) != NULL && (v[2] = gid(self, args[1])) != NULL) {
        return put(self, self->switches, v, 3, self->codes[0]) < 0 ? NULL : Py_NewRef(Py_None);
    }
    Py_XDECREF(v[0]);
    Py_XDECREF(v[1]);
    return NULL;
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
    PyObject *v[6] = {now(self), NULL, Py_NewRef(args[1]), NULL, Py_NewRef(args[3]), at};
    if (v[0] != NULL && (v[1] = gid(self, args[0])) != NULL) {
        v[3] = pooled ? PyLong_FromVoidPtr(obj) : Py_NewRef(Py_None);
    }
    if (v[3] == NULL) {
        for (int i = 0; i < 6; i++) {
            Py_XDECREF(v[i]);
        }
        return NULL;
    }
    /* a pool or a queue, known already: its counters without asking again */
    if (put(self, self->blocks, v, 6, self->codes[1]) < 0 || (pooled && resource_state(self, obj) < 0)) {
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
    PyObject *v[5] = {now(self), NULL, Py_NewRef(args[1]), NULL, Py_NewRef(args[4])};
    if (v[0] == NULL || (v[1] = gid(self, args[0])) == NULL || (v[3] = gid(self, args[2])) == NULL) {
        for (int i = 0; i < 5; i++) {
            Py_XDECREF(v[i]);
        }
        return NULL;
    }
    if (put(self, self->wakes, v, 5, self->codes[2]) < 0 || resource(self, args[3]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static int
Hooks_init(Hooks *self, PyObject *args, PyObject *kwargs)
{
    PyObject *codes;
    if (!PyArg_ParseTuple(args, "O!O!O!O!nO!OOOOO!:Hooks", &PyByteArray_Type, &self->kinds, &PyList_Type,
                          &self->switches, &PyList_Type, &self->blocks, &PyList_Type, &self->wakes, &self->capacity,
                          &PyList_Type, &self->drops, &self->clock, &self->gid_of, &self->where,
                          &self->resource_state, &PyTuple_Type, &codes)) {
        return -1;
    }
    if (PyTuple_GET_SIZE(codes) != 3) {
        PyErr_SetString(PyExc_ValueError, "codes: (SWITCH, BLOCK, WAKE)");
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        long code = PyLong_AsLong(PyTuple_GET_ITEM(codes, i));
        if (code < 0 || code > 255) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_ValueError, "a kind code is a byte");
            }
            return -1;
        }
        self->codes[i] = (unsigned char)code;
    }
    self->monotonic = self->clock == perf_counter_ns;
    Py_INCREF(self->kinds);
    Py_INCREF(self->switches);
    Py_INCREF(self->blocks);
    Py_INCREF(self->wakes);
    Py_INCREF(self->drops);
    Py_INCREF(self->clock);
    Py_INCREF(self->gid_of);
    Py_INCREF(self->where);
    Py_INCREF(self->resource_state);
    return 0;
}

static int
Hooks_traverse(Hooks *self, visitproc visit, void *arg)
{
    Py_VISIT(self->kinds);
    Py_VISIT(self->switches);
    Py_VISIT(self->blocks);
    Py_VISIT(self->wakes);
    Py_VISIT(self->drops);
    Py_VISIT(self->clock);
    Py_VISIT(self->gid_of);
    Py_VISIT(self->where);
    Py_VISIT(self->resource_state);
    return 0;
}

static int
Hooks_clear(Hooks *self)
{
    Py_CLEAR(self->kinds);
    Py_CLEAR(self->switches);
    Py_CLEAR(self->blocks);
    Py_CLEAR(self->wakes);
    Py_CLEAR(self->drops);
    Py_CLEAR(self->clock);
    Py_CLEAR(self->gid_of);
    Py_CLEAR(self->where);
    Py_CLEAR(self->resource_state);
    return 0;
}

static void
Hooks_dealloc(Hooks *self)
{
    PyObject_GC_UnTrack(self);
    Hooks_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Hooks_methods[] = {
    {"switched", (PyCFunction)(void (*)(void))switched, METH_FASTCALL, "switched(prev, nxt): a switch event."},
    {"blocked", (PyCFunction)(void (*)(void))blocked, METH_FASTCALL,
     "blocked(glet, reason, obj, detail): a block event, at the user's line."},
    {"woken", (PyCFunction)(void (*)(void))woken, METH_FASTCALL, "woken(glet, cause, waker, obj, late): a wake event."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject HooksType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime.trace._hooks.Hooks",
    .tp_basicsize = sizeof(Hooks),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The recorder's switched, blocked and woken hooks, on its buffer.",
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
    if (perf_counter_ns == NULL) {
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
