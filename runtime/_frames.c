/* runtime._frames: the user's frame, found without making frame objects.

   users_code(depth, internal, prefixes, names) -> str | (code, line) | None

   Walks the calling thread's Python frames from `depth` frames out of the caller to the first one
   whose file is not internal: `internal` caches, per file name, True (a file under one of
   `prefixes`) or False (the user's). Returns that frame's name in `names`, a cache keyed by
   (id(code), line) of (code, name); or, when `names` has none yet, (code, line). This is what
   `runtime.site._users_frame` does in Python; from Python 3.11 on, each frame that walk looks at is
   an object Python makes on demand (~0.2 us each), here the interpreter's own frames are read.

   Two small direct-mapped caches keep what those dicts said, per code object: whether it is
   internal (keyed by `internal` and the code) and the name of a place in it (keyed by `names`, the
   code and the instruction: no line number to compute, no key to build). They hold their keys,
   so an address is not reused while it is cached; `forget()` empties them (when `internal` is
   cleared). Optional: without it (another interpreter, no compiler) `runtime.site` walks in Python. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h> /* offsetof */

#if PY_VERSION_HEX >= 0x030B0000
#  define Py_BUILD_CORE 1
#  include "internal/pycore_frame.h"
#  undef Py_BUILD_CORE
#else
#  include <frameobject.h>
#endif

#define CACHED 512 /* entries in each cache (a power of two) */

typedef struct {
    PyObject *internal; /* the dict that said it */
    PyObject *code;
    int inside;
} Placed;

typedef struct {
    PyObject *names; /* the dict the name is from */
    PyObject *code;
    int lasti;
    PyObject *name;
} Named;

static Placed placed[CACHED];
static Named named[CACHED];

static size_t
slot(const void *a, const void *b, int c)
{
    uintptr_t h = ((uintptr_t)a >> 4) * 0x9E3779B1u ^ ((uintptr_t)b >> 4) ^ (uintptr_t)c * 0x85EBCA6Bu;
    return (size_t)(h ^ (h >> 15)) & (CACHED - 1);
}

static void
forget_all(void)
{
    for (int i = 0; i < CACHED; i++) {
        Py_CLEAR(placed[i].internal);
        Py_CLEAR(placed[i].code);
        Py_CLEAR(named[i].names);
        Py_CLEAR(named[i].code);
        Py_CLEAR(named[i].name);
    }
}

/* 1: `filename` is internal, 0: the user's, -1: an error */
static int
is_internal(PyObject *filename, PyObject *internal, PyObject *prefixes)
{
    PyObject *known = PyDict_GetItemWithError(internal, filename);
    if (known != NULL) {
        return known == Py_True;
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    int inside = 0;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(prefixes); /* a tuple or a list */
    for (Py_ssize_t i = 0; i < n && !inside; i++) {
        Py_ssize_t match = PyUnicode_Tailmatch(filename, PySequence_Fast_GET_ITEM(prefixes, i), 0, PY_SSIZE_T_MAX, -1);
        if (match < 0) {
            return -1;
        }
        inside = match > 0;
    }
    if (PyDict_SetItem(internal, filename, inside ? Py_True : Py_False) < 0) {
        return -1;
    }
    return inside;
}

/* is_internal for `code`'s file, cached per code object */
static int
code_is_internal(PyCodeObject *code, PyObject *internal, PyObject *prefixes)
{
    Placed *e = &placed[slot(internal, code, 0)];
    if (e->code == (PyObject *)code && e->internal == internal) {
        return e->inside;
    }
    int inside = is_internal(code->co_filename, internal, prefixes);
    if (inside >= 0) { /* the entry whole before what it held is released (which may run code) */
        PyObject *old_internal = e->internal, *old_code = e->code;
        e->internal = Py_NewRef(internal);
        e->code = Py_NewRef((PyObject *)code);
        e->inside = inside;
        Py_XDECREF(old_internal);
        Py_XDECREF(old_code);
    }
    return inside;
}

/* the name `names` has for `code` at `line`, or (code, line) for the caller to name */
static PyObject *
found(PyCodeObject *code, int line, PyObject *names)
{
    PyObject *key = Py_BuildValue("(ni)", (Py_ssize_t)(uintptr_t)code, line);
    if (key == NULL) {
        return NULL;
    }
    PyObject *known = PyDict_GetItemWithError(names, key);
    Py_DECREF(key);
    if (known != NULL && PyTuple_Check(known) && PyTuple_GET_SIZE(known) == 2
        && PyTuple_GET_ITEM(known, 0) == (PyObject *)code) {
        return Py_NewRef(PyTuple_GET_ITEM(known, 1));
    }
    if (PyErr_Occurred()) {
        return NULL;
    }
    return Py_BuildValue("(Oi)", (PyObject *)code, line);
}

/* the name kept for `code` at instruction `lasti` of `names`, a new reference; or NULL */
static PyObject *
cached_name(PyObject *names, PyCodeObject *code, int lasti)
{
    Named *e = &named[slot(names, code, lasti)];
    if (e->code == (PyObject *)code && e->lasti == lasti && e->names == names) {
        return Py_NewRef(e->name);
    }
    return NULL;
}

/* `result` (what `found` said), kept when it is a name */
static PyObject *
keep_name(PyObject *names, PyCodeObject *code, int lasti, PyObject *result)
{
    if (result != NULL && PyUnicode_Check(result)) { /* whole before the old is released, as above */
        Named *e = &named[slot(names, code, lasti)];
        PyObject *old_names = e->names, *old_code = e->code, *old_name = e->name;
        e->names = Py_NewRef(names);
        e->code = Py_NewRef((PyObject *)code);
        e->name = Py_NewRef(result);
        e->lasti = lasti;
        Py_XDECREF(old_names);
        Py_XDECREF(old_code);
        Py_XDECREF(old_name);
    }
    return result;
}

#define PREFIXES(o) (PyTuple_Check(o) || PyList_Check(o))

static int
parse(PyObject *const *args, Py_ssize_t nargs, long *depth)
{
    if (nargs != 4 || !PyLong_Check(args[0]) || !PyDict_Check(args[1]) || !PREFIXES(args[2])
        || !PyDict_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "users_code(depth: int, internal: dict, prefixes: tuple | list, names: dict)");
        return -1;
    }
    *depth = PyLong_AsLong(args[0]);
    return *depth == -1 && PyErr_Occurred() ? -1 : 0;
}

#if PY_VERSION_HEX >= 0x030B0000

static _PyInterpreterFrame *
current_frame(void)
{
    PyThreadState *tstate = PyThreadState_Get();
#  if PY_VERSION_HEX >= 0x030D0000
    return tstate->current_frame;
#  else
    return tstate->cframe->current_frame;
#  endif
}

static PyCodeObject *
frame_code(_PyInterpreterFrame *frame)
{
#  if PY_VERSION_HEX >= 0x030D0000
    PyObject *executable = frame->f_executable;
    return PyCode_Check(executable) ? (PyCodeObject *)executable : NULL;
#  else
    return frame->f_code;
#  endif
}

static int
frame_line(_PyInterpreterFrame *frame)
{
#  if PY_VERSION_HEX >= 0x030C0000
    return PyUnstable_InterpreterFrame_GetLine(frame);
#  else
    return PyCode_Addr2Line(frame->f_code, _PyInterpreterFrame_LASTI(frame) * (int)sizeof(_Py_CODEUNIT));
#  endif
}

/* what users_code says; the caller's frame is depth 0, as for sys._getframe (a C call has no frame) */
static PyObject *
walk(long depth, PyObject *internal, PyObject *prefixes, PyObject *names)
{
    for (_PyInterpreterFrame *frame = current_frame(); frame != NULL; frame = frame->previous) {
#  if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
        if (frame->owner == FRAME_OWNED_BY_CSTACK) { /* an entry shim (3.13's check has it) */
            continue;
        }
#  endif
        if (_PyFrame_IsIncomplete(frame)) {
            continue;
        }
        PyCodeObject *code = frame_code(frame);
        if (code == NULL) {
            continue;
        }
        if (depth > 0) {
            depth--;
            continue;
        }
        int inside = code_is_internal(code, internal, prefixes);
        if (inside < 0) {
            return NULL;
        }
        if (!inside) {
            int lasti = _PyInterpreterFrame_LASTI(frame);
            PyObject *name = cached_name(names, code, lasti);
            return name != NULL ? name : keep_name(names, code, lasti, found(code, frame_line(frame), names));
        }
    }
    Py_RETURN_NONE;
}

#else /* Python 3.10: frames are objects already, linked by f_back */

static PyObject *
walk(long depth, PyObject *internal, PyObject *prefixes, PyObject *names)
{
    for (PyFrameObject *frame = PyEval_GetFrame(); frame != NULL; frame = frame->f_back) {
        if (depth > 0) {
            depth--;
            continue;
        }
        PyCodeObject *code = frame->f_code;
        int inside = code_is_internal(code, internal, prefixes);
        if (inside < 0) {
            return NULL;
        }
        if (!inside) {
            PyObject *name = cached_name(names, code, frame->f_lasti);
            return name != NULL ? name
                                : keep_name(names, code, frame->f_lasti, found(code, PyFrame_GetLineNumber(frame), names));
        }
    }
    Py_RETURN_NONE;
}

#endif

static PyObject *
users_code(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    long depth;
    return parse(args, nargs, &depth) < 0 ? NULL : walk(depth, args[1], args[2], args[3]);
}

/* Locator(internal, prefixes, names, namer): `runtime.site.code_location` as an object, so that a hook in C
   calls it without a Python frame: locator(skip=0) walks from `skip` frames out of its caller, like
   users_code, and what is not named yet it names with namer(code, line). `prefixes` is read at each
   call (a list may grow). */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *internal, *prefixes, *names, *namer;
} Locator;

static PyObject *
Locator_call(Locator *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    long depth = 0;
    if (kwnames != NULL || nargs > 1 || (nargs == 1 && !PyLong_Check(args[0]))) {
        PyErr_SetString(PyExc_TypeError, "code_location(skip: int = 0)");
        return NULL;
    }
    if (nargs == 1 && (depth = PyLong_AsLong(args[0])) == -1 && PyErr_Occurred()) {
        return NULL;
    }
    PyObject *found = walk(depth, self->internal, self->prefixes, self->names);
    if (found == NULL || !PyTuple_Check(found)) {
        return found;
    }
    PyObject *name = PyObject_Call(self->namer, found, NULL);
    Py_DECREF(found);
    return name;
}

static PyObject *
Locator_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *internal, *prefixes, *names, *namer;
    if (!PyArg_ParseTuple(args, "O!OO!O:Locator", &PyDict_Type, &internal, &prefixes, &PyDict_Type, &names, &namer)) {
        return NULL;
    }
    if (!PREFIXES(prefixes)) {
        PyErr_SetString(PyExc_TypeError, "Locator: prefixes is a tuple or a list");
        return NULL;
    }
    Locator *self = (Locator *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->vectorcall = (vectorcallfunc)Locator_call;
        self->internal = Py_NewRef(internal);
        self->prefixes = Py_NewRef(prefixes);
        self->names = Py_NewRef(names);
        self->namer = Py_NewRef(namer);
    }
    return (PyObject *)self;
}

static int
Locator_traverse(Locator *self, visitproc visit, void *arg)
{
    Py_VISIT(self->internal);
    Py_VISIT(self->prefixes);
    Py_VISIT(self->names);
    Py_VISIT(self->namer);
    return 0;
}

static int
Locator_clear(Locator *self)
{
    Py_CLEAR(self->internal);
    Py_CLEAR(self->prefixes);
    Py_CLEAR(self->names);
    Py_CLEAR(self->namer);
    return 0;
}

static void
Locator_dealloc(Locator *self)
{
    PyObject_GC_UnTrack(self);
    Locator_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject LocatorType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime._frames.Locator",
    .tp_basicsize = sizeof(Locator),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "code_location(skip=0) -> str | None, without a Python frame of its own.",
    .tp_vectorcall_offset = offsetof(Locator, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_new = Locator_new,
    .tp_traverse = (traverseproc)Locator_traverse,
    .tp_clear = (inquiry)Locator_clear,
    .tp_dealloc = (destructor)Locator_dealloc,
};

static PyObject *
forget(PyObject *module, PyObject *unused)
{
    forget_all();
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"users_code", (PyCFunction)(void (*)(void))users_code, METH_FASTCALL,
     "users_code(depth, internal, prefixes, names) -> the name in `names` (or (code, line)) of the first\n"
     "frame, `depth` frames out of the caller, whose file is not under one of `prefixes` (`internal`\n"
     "caches the answer per file), or None."},
    {"forget", (PyCFunction)forget, METH_NOARGS, "forget(): empty the caches (`internal` was cleared)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime._frames", "The user's frame, found without making frame objects.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__frames(void)
{
    if (PyType_Ready(&LocatorType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddObjectRef(m, "Locator", (PyObject *)&LocatorType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
