/* runtime._sockio: a green socket's recv and recv_into that say "it would block" with None.

   The C socket's methods say it with BlockingIOError: an exception built on every wait, its message
   decoded from strerror() in the locale (about 4,000 instructions, more than the rest of the wait's way
   to the hub). These call recv() on the fd as the C socket's methods do (the same argument checks, a
   retry after EINTR once the signal handlers ran, OSError on an error), and return None where those
   raise BlockingIOError.

   Optional: without it (another interpreter, no compiler, GREENSCOPE_PURE_PYTHON=1) the green socket
   calls the C socket's methods and catches BlockingIOError (`runtime.green.socket`). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

/* recv() on `fd` into `buf`, retried after EINTR: the count, -1 with an exception set, or -2: it would block */
static Py_ssize_t
recv_once(int fd, char *buf, Py_ssize_t len, int flags)
{
    for (;;) {
        Py_ssize_t n = recv(fd, buf, (size_t)len, flags);
        if (n >= 0) {
            return n;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return -2;
        }
        if (errno != EINTR) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        if (PyErr_CheckSignals() < 0) {
            return -1;
        }
    }
}

/* fd, size and flags from `fd`, `size` and `flags`, the arguments of recv or recv_into: 0, or -1 and an exception */
static int
parse(PyObject *fd_arg, PyObject *size_arg, PyObject *flags_arg, int *fd, Py_ssize_t *size, int *flags)
{
    long f = PyLong_AsLong(fd_arg);
    if (f == -1 && PyErr_Occurred()) {
        return -1;
    }
    *size = PyLong_AsSsize_t(size_arg);
    if (*size == -1 && PyErr_Occurred()) {
        return -1;
    }
    long fl = PyLong_AsLong(flags_arg);
    if (fl == -1 && PyErr_Occurred()) {
        return -1;
    }
    *fd = (int)f;
    *flags = (int)fl;
    return 0;
}

static PyObject *
sockio_recv(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    int fd, flags;
    Py_ssize_t size;
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError, "recv() takes 3 arguments (%zd given)", nargs);
        return NULL;
    }
    if (parse(args[0], args[1], args[2], &fd, &size, &flags) < 0) {
        return NULL;
    }
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "negative buffersize in recv");
        return NULL;
    }
    if (size == 0) { /* as the C socket: no call, even with nothing to read */
        return PyBytes_FromStringAndSize(NULL, 0);
    }
    PyObject *bytes = PyBytes_FromStringAndSize(NULL, size);
    if (bytes == NULL) {
        return NULL;
    }
    Py_ssize_t n = recv_once(fd, PyBytes_AS_STRING(bytes), size, flags);
    if (n < 0) {
        Py_DECREF(bytes);
        if (n == -1) {
            return NULL;
        }
        Py_RETURN_NONE;
    }
    if (n != size) {
        _PyBytes_Resize(&bytes, n);
    }
    return bytes;
}

static PyObject *
sockio_recv_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    int fd, flags;
    Py_ssize_t size;
    if (nargs != 4) {
        PyErr_Format(PyExc_TypeError, "recv_into() takes 4 arguments (%zd given)", nargs);
        return NULL;
    }
    if (parse(args[0], args[2], args[3], &fd, &size, &flags) < 0) {
        return NULL;
    }
    Py_buffer view;
    if (!PyArg_Parse(args[1], "w*", &view)) { /* the C socket's check and TypeError */
        return NULL;
    }
    PyObject *result = NULL;
    if (size < 0) {
        PyErr_SetString(PyExc_ValueError, "negative buffersize in recv_into");
    }
    else if (view.len < size) {
        PyErr_SetString(PyExc_ValueError, "buffer too small for requested bytes");
    }
    else {
        Py_ssize_t n = recv_once(fd, view.buf, size == 0 ? view.len : size, flags);
        result = n >= 0 ? PyLong_FromSsize_t(n) : n == -2 ? Py_NewRef(Py_None) : NULL;
    }
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"recv", (PyCFunction)(void (*)(void))sockio_recv, METH_FASTCALL,
     "recv(fd, bufsize, flags): the bytes the C socket's recv(bufsize, flags) gives, or None where it\n"
     "raises BlockingIOError."},
    {"recv_into", (PyCFunction)(void (*)(void))sockio_recv_into, METH_FASTCALL,
     "recv_into(fd, buffer, nbytes, flags): the count the C socket's recv_into(buffer, nbytes, flags)\n"
     "gives, or None where it raises BlockingIOError."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime._sockio", "A green socket's recv and recv_into: None when it would block.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__sockio(void)
{
    return PyModule_Create(&module);
}
