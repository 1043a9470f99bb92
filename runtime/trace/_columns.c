/* runtime.trace._columns: a column of an events frame coded by dictionary, in C.

   dictionary(values: list) -> (table: list, ids: bytes) | None

   Each distinct value once in `table` (in order of first appearance), and for each value its
   index in `table`, as little-endian unsigned integers of 1, 2 or 4 bytes (the fewest that hold
   len(table) - 1). Only for columns of str, int and None (exact types: a bool or a float would
   be equal to an int as a key and come back as the int), and only where it pays: None when a
   value is of another type, or when more than half the values are distinct. This is what
   `runtime.trace.codec._dictionary_in_python` does, at a few ns a value instead of ~50.
   Optional: without it (another interpreter, no compiler) the codec codes in Python. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

static int
codable(PyObject *value)
{
    return value == Py_None || PyUnicode_CheckExact(value) || PyLong_CheckExact(value);
}

static PyObject *
dictionary(PyObject *module, PyObject *values)
{
    if (!PyList_Check(values)) {
        PyErr_SetString(PyExc_TypeError, "dictionary(values: list)");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(values);
    PyObject *index = PyDict_New(); /* value -> its id */
    PyObject *table = PyList_New(0);
    Py_ssize_t *ids = PyMem_Malloc(sizeof(Py_ssize_t) * (n ? n : 1));
    PyObject *result = NULL;
    if (index == NULL || table == NULL || ids == NULL) {
        if (ids == NULL) {
            PyErr_NoMemory();
        }
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = PyList_GET_ITEM(values, i);
        if (!codable(value)) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        PyObject *known = PyDict_GetItemWithError(index, value);
        if (known != NULL) {
            ids[i] = PyLong_AsSsize_t(known);
            continue;
        }
        if (PyErr_Occurred()) {
            goto done;
        }
        Py_ssize_t id = PyList_GET_SIZE(table);
        if (2 * (id + 1) > n) { /* more than half distinct: a JSON list is as good */
            result = Py_NewRef(Py_None);
            goto done;
        }
        PyObject *number = PyLong_FromSsize_t(id);
        int failed = number == NULL || PyDict_SetItem(index, value, number) < 0 || PyList_Append(table, value) < 0;
        Py_XDECREF(number);
        if (failed) {
            goto done;
        }
        ids[i] = id;
    }
    Py_ssize_t distinct = PyList_GET_SIZE(table);
    int width = distinct <= 0x100 ? 1 : distinct <= 0x10000 ? 2 : 4;
    PyObject *packed = PyBytes_FromStringAndSize(NULL, n * width);
    if (packed == NULL) {
        goto done;
    }
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(packed);
    for (Py_ssize_t i = 0; i < n; i++) {
        size_t id = (size_t)ids[i];
        for (int b = 0; b < width; b++) {
            *out++ = (unsigned char)(id >> (8 * b));
        }
    }
    result = PyTuple_Pack(2, table, packed);
    Py_DECREF(packed);
done:
    PyMem_Free(ids);
    Py_XDECREF(index);
    Py_XDECREF(table);
    return result;
}

static PyMethodDef methods[] = {
    {"dictionary", dictionary, METH_O,
     "dictionary(values: list) -> (table, ids) | None: the column coded by dictionary (each distinct\n"
     "value once, then each value's index in little-endian unsigned ints of 1, 2 or 4 bytes); None for\n"
     "a value other than a str, an int or None, or when more than half the values are distinct."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime.trace._columns", "A column of an events frame coded by dictionary, in C.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__columns(void)
{
    return PyModule_Create(&module);
}
