/* runtime._frames: the user's frame, found without making frame objects.

   users_code(depth, internal, prefixes, names) -> str | (code, line) | None

   Walks the calling thread's Python frames from `depth` frames out of the caller to the first one
   whose file is not internal: `internal` caches, per file name, True (a file under one of
   `prefixes`) or False (the user's). Returns that frame's name in `names`, a cache keyed by
   (id(code), line) of (code, name); or, when `names` has none yet, (code, line). This is what
   `runtime.site._users_frame` does in Python; from Python 3.11 on, each frame that walk looks at is
   an object Python makes on demand (~0.2 us each), here the interpreter's own frames are read.
   Optional: without it (another interpreter, no compiler) `runtime.site` walks in Python. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX >= 0x030B0000
#  define Py_BUILD_CORE 1
#  include "internal/pycore_frame.h"
#  undef Py_BUILD_CORE
#else
#  include <frameobject.h>
#endif

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
    Py_ssize_t n = PyTuple_GET_SIZE(prefixes);
    for (Py_ssize_t i = 0; i < n && !inside; i++) {
        Py_ssize_t match = PyUnicode_Tailmatch(filename, PyTuple_GET_ITEM(prefixes, i), 0, PY_SSIZE_T_MAX, -1);
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

static int
parse(PyObject *const *args, Py_ssize_t nargs, long *depth)
{
    if (nargs != 4 || !PyLong_Check(args[0]) || !PyDict_Check(args[1]) || !PyTuple_Check(args[2])
        || !PyDict_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "users_code(depth: int, internal: dict, prefixes: tuple, names: dict)");
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

static PyObject *
users_code(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    long depth;
    if (parse(args, nargs, &depth) < 0) {
        return NULL;
    }
    /* the caller's frame is depth 0, as for sys._getframe (this C call has no frame of its own) */
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
        int inside = is_internal(code->co_filename, args[1], args[2]);
        if (inside < 0) {
            return NULL;
        }
        if (!inside) {
            return found(code, frame_line(frame), args[3]);
        }
    }
    Py_RETURN_NONE;
}

#else /* Python 3.10: frames are objects already, linked by f_back */

static PyObject *
users_code(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    long depth;
    if (parse(args, nargs, &depth) < 0) {
        return NULL;
    }
    for (PyFrameObject *frame = PyEval_GetFrame(); frame != NULL; frame = frame->f_back) {
        if (depth > 0) {
            depth--;
            continue;
        }
        int inside = is_internal(frame->f_code->co_filename, args[1], args[2]);
        if (inside < 0) {
            return NULL;
        }
        if (!inside) {
            return found(frame->f_code, PyFrame_GetLineNumber(frame), args[3]);
        }
    }
    Py_RETURN_NONE;
}

#endif

static PyMethodDef methods[] = {
    {"users_code", (PyCFunction)(void (*)(void))users_code, METH_FASTCALL,
     "users_code(depth, internal, prefixes, names) -> the name in `names` (or (code, line)) of the first\n"
     "frame, `depth` frames out of the caller, whose file is not under one of `prefixes` (`internal`\n"
     "caches the answer per file), or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime._frames", "The user's frame, found without making frame objects.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__frames(void)
{
    return PyModule_Create(&module);
}
