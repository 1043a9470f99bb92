/* runtime._queue: the common cases of a queue's put and get, without a Python frame.

   Base: the base type of `runtime.queue.LightQueue`. It keeps the queue's state in slots (queue, _put,
   _get, _getters, _putters, maxsize, unfinished_tasks: set by LightQueue.__init__) and has `put` and
   `get`. What needs no wait is done here as LightQueue's Python methods do it: a put with getters
   waiting (count the task, `_getters.unpark_one(item, Cause.PUT)`) or with room (count the task,
   the storage's `_put(item)`: any storage, a deque, a list, a heap); a get with an item there (the
   storage's `_get()`, then `_take_from_putters(Cause.GET)` if putters wait); each followed by
   `hooks.resource_changed(queue)` when an instrument set it. The rest (a channel's get from a
   putter's hands, a wait, Full, Empty, arguments by keyword) is the Python method's, called with the
   same arguments.

   bind(waitqueue, hooks, cause, put, get): the WaitQueue type, the instrument hooks, the Cause class,
   and the Python put and get. Instances of exactly that type, and `hooks`, keep `waiting` and
   `resource_changed` in __slots__: read straight from there (a slot's place in its object never
   changes).

   Optional: without it (another interpreter, no compiler, GREENSCOPE_PURE_PYTHON=1) the Python
   methods are put and get (`runtime.queue`). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h> /* T_OBJECT_EX, T_PYSSIZET */
#include <string.h>

typedef struct {
    PyObject_HEAD
    PyObject *queue;            /* the storage */
    PyObject *put;              /* its _put(item) */
    PyObject *get;              /* its _get() */
    PyObject *getters;          /* WaitQueue */
    PyObject *putters;          /* WaitQueue */
    PyObject *maxsize;          /* None (unbounded) or an int >= 0 */
    Py_ssize_t unfinished_tasks;
} Base;

static PyTypeObject *waitqueue_type; /* runtime.waitqueue.WaitQueue (NULL: not bound yet) */
static Py_ssize_t waiting_offset;    /* where its instances keep `waiting` (0: ask getattr) */
static PyObject *hooks;              /* runtime.instrument.hooks */
static Py_ssize_t changed_offset;    /* where it keeps `resource_changed` (0: ask getattr) */
static PyObject *put_in_python;      /* LightQueue's put and get in Python: (self, ...) */
static PyObject *get_in_python;
static PyObject *cause_put;          /* Cause.PUT, Cause.GET */
static PyObject *cause_get;
static PyObject *zero;               /* 0: what `waiting` is when nobody waits */
static PyObject *waiting_name;       /* "waiting" */
static PyObject *changed_name;       /* "resource_changed" */
static PyObject *unpark_name;        /* "unpark_one" */
static PyObject *take_name;          /* "_take_from_putters" */

/* where instances of `type` keep the slot `name` (0: not a slot) */
static Py_ssize_t
slot_offset(PyObject *type, PyObject *name)
{
    PyObject *descr = PyObject_GetAttr(type, name); /* a slot's member descriptor, read on its class */
    if (descr == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_ssize_t offset = Py_IS_TYPE(descr, &PyMemberDescr_Type)
                                && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX
                            ? ((PyMemberDescrObject *)descr)->d_member->offset
                            : 0;
    Py_DECREF(descr);
    return offset;
}

/* 1: greenthreads wait on the WaitQueue `wq`, 0: none, -1: an error */
static int
has_waiters(PyObject *wq)
{
    if (Py_IS_TYPE(wq, waitqueue_type) && waiting_offset != 0) {
        PyObject *n = *(PyObject **)((char *)wq + waiting_offset);
        if (n == zero) {
            return 0;
        }
        if (n != NULL) {
            return PyObject_IsTrue(n);
        }
    }
    PyObject *n = PyObject_GetAttr(wq, waiting_name);
    if (n == NULL) {
        return -1;
    }
    int waiting = PyObject_IsTrue(n);
    Py_DECREF(n);
    return waiting;
}

/* hooks.resource_changed(self) if an instrument set it; -1: an error (the hook's) */
static int
report_change(PyObject *self)
{
    PyObject *hook = changed_offset != 0 ? *(PyObject **)((char *)hooks + changed_offset) : NULL;
    if (hook != NULL) {
        Py_INCREF(hook);
    }
    else if ((hook = PyObject_GetAttr(hooks, changed_name)) == NULL) {
        return -1;
    }
    PyObject *result = hook == Py_None ? Py_NewRef(Py_None) : PyObject_CallOneArg(hook, self);
    Py_DECREF(hook);
    if (result == NULL) {
        return -1;
    }
    Py_DECREF(result);
    return 0;
}

/* 1: the queue has room for an item, 0: it is full, -1: an error; -2: a maxsize this does not know
   (not an int or past Py_ssize_t: the Python method decides) */
static int
has_room(Base *self)
{
    if (self->maxsize == Py_None) {
        return 1;
    }
    if (!PyLong_CheckExact(self->maxsize)) {
        return -2;
    }
    Py_ssize_t maxsize = PyLong_AsSsize_t(self->maxsize);
    if (maxsize == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -2;
    }
    Py_ssize_t size = PyObject_Size(self->queue);
    return size < 0 ? -1 : size < maxsize;
}

/* the storage's `func(arg)` (`func()` for a NULL `arg`): a builtin method of one argument (deque.append)
   or none (deque.popleft) straight through its C function, saving the generic call's dispatch */
static PyObject *
call_storage(PyObject *func, PyObject *arg)
{
    if (PyCFunction_CheckExact(func)) {
        int flags = PyCFunction_GET_FLAGS(func);
        if (flags == (arg != NULL ? METH_O : METH_NOARGS)) {
            return PyCFunction_GET_FUNCTION(func)(PyCFunction_GET_SELF(func), arg);
        }
    }
    return arg != NULL ? PyObject_CallOneArg(func, arg) : PyObject_CallNoArgs(func);
}

/* func(self, *args, **kwargs) */
static PyObject *
call_python(PyObject *func, PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    if (func == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "runtime._queue.bind() was not called");
        return NULL;
    }
    Py_ssize_t total = nargs + (kwnames != NULL ? PyTuple_GET_SIZE(kwnames) : 0);
    PyObject *small[8];
    PyObject **all = total < 8 ? small : PyMem_New(PyObject *, total + 1);
    if (all == NULL) {
        return PyErr_NoMemory();
    }
    all[0] = self;
    memcpy(all + 1, args, total * sizeof(PyObject *));
    PyObject *result = PyObject_Vectorcall(func, all, nargs + 1, kwnames);
    if (all != small) {
        PyMem_Free(all);
    }
    return result;
}

static PyObject *
Base_put(Base *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* put(item, block=True, timeout=None): neither block nor timeout matters when there is room */
    if (kwnames == NULL && nargs >= 1 && nargs <= 3 && hooks != NULL && self->queue != NULL && self->put != NULL
        && self->getters != NULL && self->maxsize != NULL) {
        int waiting = has_waiters(self->getters);
        if (waiting < 0) {
            return NULL;
        }
        int room = waiting ? 0 : has_room(self);
        if (room == -1) {
            return NULL;
        }
        if (waiting || room == 1) {
            self->unfinished_tasks++;
            PyObject *result;
            if (waiting) { /* a getter waits only on an empty queue: the item goes to its hands */
                PyObject *call[3] = {Py_NewRef(self->getters), args[0], cause_put};
                result = PyObject_VectorcallMethod(unpark_name, call, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
                Py_DECREF(call[0]);
            }
            else {
                PyObject *put = Py_NewRef(self->put); /* (the call may replace it) */
                result = call_storage(put, args[0]);
                Py_DECREF(put);
            }
            if (result == NULL) {
                return NULL;
            }
            Py_DECREF(result);
            if (report_change((PyObject *)self) < 0) {
                return NULL;
            }
            Py_RETURN_NONE;
        }
    }
    return call_python(put_in_python, (PyObject *)self, args, nargs, kwnames);
}

static PyObject *
Base_get(Base *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* get(block=True, timeout=None): neither matters when an item is there */
    if (kwnames == NULL && nargs <= 2 && hooks != NULL && self->queue != NULL && self->get != NULL
        && self->putters != NULL) {
        int ready = PyObject_IsTrue(self->queue);
        if (ready < 0) {
            return NULL;
        }
        if (ready) {
            PyObject *get = Py_NewRef(self->get);
            PyObject *item = call_storage(get, NULL);
            Py_DECREF(get);
            if (item == NULL) {
                return NULL;
            }
            int waiting = has_waiters(self->putters);
            if (waiting > 0) { /* room now: the waiting putters' items come in */
                PyObject *call[2] = {(PyObject *)self, cause_get};
                PyObject *none = PyObject_VectorcallMethod(take_name, call, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
                Py_XDECREF(none);
                waiting = none == NULL ? -1 : 0;
            }
            if (waiting < 0 || report_change((PyObject *)self) < 0) {
                Py_DECREF(item);
                return NULL;
            }
            return item;
        }
    }
    return call_python(get_in_python, (PyObject *)self, args, nargs, kwnames);
}

static int
Base_traverse(Base *self, visitproc visit, void *arg)
{
    Py_VISIT(self->queue);
    Py_VISIT(self->put);
    Py_VISIT(self->get);
    Py_VISIT(self->getters);
    Py_VISIT(self->putters);
    Py_VISIT(self->maxsize);
    return 0;
}

static int
Base_clear(Base *self)
{
    Py_CLEAR(self->queue);
    Py_CLEAR(self->put);
    Py_CLEAR(self->get);
    Py_CLEAR(self->getters);
    Py_CLEAR(self->putters);
    Py_CLEAR(self->maxsize);
    return 0;
}

static void
Base_dealloc(Base *self)
{
    PyObject_GC_UnTrack(self);
    Base_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Base_methods[] = {
    {"put", (PyCFunction)(void (*)(void))Base_put, METH_FASTCALL | METH_KEYWORDS,
     "put($self, /, item, block=True, timeout=None)\n--\n\n"
     "Put `item` in; wait (up to `timeout`) while the queue is full, unless not `block`.\n\n"
     "Raises `Full` if it could not."},
    {"get", (PyCFunction)(void (*)(void))Base_get, METH_FASTCALL | METH_KEYWORDS,
     "get($self, /, block=True, timeout=None)\n--\n\n"
     "Take the next item; wait (up to `timeout`) while empty, unless not `block`.\n\n"
     "Raises `Empty` if there was none."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Base_members[] = {
    {"queue", T_OBJECT_EX, offsetof(Base, queue), 0, "the items"},
    {"_put", T_OBJECT_EX, offsetof(Base, put), 0, NULL},
    {"_get", T_OBJECT_EX, offsetof(Base, get), 0, NULL},
    {"_getters", T_OBJECT_EX, offsetof(Base, getters), 0, NULL},
    {"_putters", T_OBJECT_EX, offsetof(Base, putters), 0, NULL},
    {"maxsize", T_OBJECT_EX, offsetof(Base, maxsize), 0, "None (unbounded) or the most items it holds"},
    {"unfinished_tasks", T_PYSSIZET, offsetof(Base, unfinished_tasks), 0,
     "items accepted minus task_done() calls"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject BaseType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "runtime._queue.Base",
    .tp_basicsize = sizeof(Base),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "LightQueue's state in slots, and its put and get: the common cases in C, the rest in Python.",
    .tp_new = PyType_GenericNew,
    .tp_traverse = (traverseproc)Base_traverse,
    .tp_clear = (inquiry)Base_clear,
    .tp_dealloc = (destructor)Base_dealloc,
    .tp_methods = Base_methods,
    .tp_members = Base_members,
};

static PyObject *
bind(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5 || !PyType_Check(args[0]) || !PyCallable_Check(args[3]) || !PyCallable_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "bind(waitqueue_type, hooks, cause, put, get)");
        return NULL;
    }
    PyObject *put = PyObject_GetAttrString(args[2], "PUT");
    PyObject *get = put != NULL ? PyObject_GetAttrString(args[2], "GET") : NULL;
    if (get == NULL) {
        Py_XDECREF(put);
        return NULL;
    }
    Py_XSETREF(cause_put, put);
    Py_XSETREF(cause_get, get);
    Py_XSETREF(waitqueue_type, (PyTypeObject *)Py_NewRef(args[0]));
    waiting_offset = slot_offset(args[0], waiting_name);
    Py_XSETREF(hooks, Py_NewRef(args[1]));
    changed_offset = slot_offset((PyObject *)Py_TYPE(args[1]), changed_name);
    Py_XSETREF(put_in_python, Py_NewRef(args[3]));
    Py_XSETREF(get_in_python, Py_NewRef(args[4]));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", (PyCFunction)(void (*)(void))bind, METH_FASTCALL,
     "bind(waitqueue_type, hooks, cause, put, get): the WaitQueue type, the instrument hooks, the Cause\n"
     "class, and the Python put(self, item, block, timeout) and get(self, block, timeout) that do what\n"
     "Base's do not."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime._queue", "The common cases of a queue's put and get in C.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__queue(void)
{
    zero = PyLong_FromLong(0);
    waiting_name = PyUnicode_InternFromString("waiting");
    changed_name = PyUnicode_InternFromString("resource_changed");
    unpark_name = PyUnicode_InternFromString("unpark_one");
    take_name = PyUnicode_InternFromString("_take_from_putters");
    if (zero == NULL || waiting_name == NULL || changed_name == NULL || unpark_name == NULL || take_name == NULL
        || PyType_Ready(&BaseType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddObjectRef(m, "Base", (PyObject *)&BaseType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
