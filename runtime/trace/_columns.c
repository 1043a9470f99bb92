/* runtime.trace._columns: the columns of an events frame coded by dictionary and narrowed, in C.

   dictionary(values: list) -> (table: list, ids: bytes) | None
   narrow(raw: bytes) -> bytes
   widen(blob: bytes, count: int) -> bytes

   Each distinct value once in `table` (in order of first appearance), and for each value its
   index in `table`, as little-endian unsigned integers of 1, 2 or 4 bytes (the fewest that hold
   len(table) - 1). Only for columns of str, int and None (exact types: a bool or a float would
   be equal to an int as a key and come back as the int), and only where it pays: None when a
   value is of another type, or when more than half the values are distinct. This is what
   `runtime.trace.codec._dictionary_in_python` does, at a few ns a value instead of ~50.

   `narrow` codes a column of little-endian int64s as an "n" column (docs/protocol.md): a mode, a width
   and a base, then each value as an unsigned int of that width — in steps (each value minus the one
   before: a column that never goes down, as times do) or as offsets from the smallest — in byte planes
   (every value's lowest byte, then every value's next one...: the high planes, nearly all zeros, cost
   zlib next to nothing); `widen` reads one back (native int64s; also the interleaved little-endian
   layout of agents from before the planes), refusing a value past int64. What `_narrow_in_python` and
   `_widen_in_python` do, at a ns a value instead of ~100. Optional: without it (another interpreter, no
   compiler) the codec codes in Python. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

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

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define LITTLE 1
#else
#define LITTLE 0
#endif

static long long
int64_at(const unsigned char *p)
{
    uint64_t v = 0;
    if (LITTLE) {
        memcpy(&v, p, 8);
    }
    else {
        for (int b = 7; b >= 0; b--) {
            v = v << 8 | p[b];
        }
    }
    return (long long)v;
}

/* `d` as `width` little-endian bytes at `o` */
static inline void
put_unsigned(unsigned char *o, uint64_t d, int width)
{
    if (LITTLE) {
        switch (width) { /* (fixed sizes: one store each) */
        case 1: *o = (unsigned char)d; return;
        case 2: { uint16_t v = (uint16_t)d; memcpy(o, &v, 2); return; }
        case 4: { uint32_t v = (uint32_t)d; memcpy(o, &v, 4); return; }
        default: memcpy(o, &d, 8); return;
        }
    }
    for (int b = 0; b < width; b++) {
        o[b] = (unsigned char)(d >> (8 * b));
    }
}

static inline uint64_t
unsigned_at(const unsigned char *p, int width)
{
    if (LITTLE) {
        switch (width) {
        case 1: return *p;
        case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
        case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
        default: { uint64_t v; memcpy(&v, p, 8); return v; }
        }
    }
    uint64_t d = 0;
    for (int b = width - 1; b >= 0; b--) {
        d = d << 8 | p[b];
    }
    return d;
}

static PyObject *
narrow(PyObject *module, PyObject *arg)
{
    Py_buffer raw;
    if (PyObject_GetBuffer(arg, &raw, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (raw.len % 8) {
        PyBuffer_Release(&raw);
        PyErr_SetString(PyExc_ValueError, "narrow(raw): little-endian int64s");
        return NULL;
    }
    const unsigned char *in = raw.buf;
    Py_ssize_t n = raw.len / 8;
    long long first = n ? int64_at(in) : 0, low = first, high = first, prev = first;
    uint64_t step = 0; /* the largest step, while they never go down */
    int steps = 1;
    for (Py_ssize_t i = 1; i < n; i++) {
        long long v = int64_at(in + 8 * i);
        steps &= v >= prev;
        uint64_t d = (uint64_t)v - (uint64_t)prev;
        step = steps && d > step ? d : step;
        low = v < low ? v : low;
        high = v > high ? v : high;
        prev = v;
    }
    uint64_t top = steps ? step : (uint64_t)high - (uint64_t)low;
    long long base = steps ? first : low;
    int width = top <= 0xff ? 1 : top <= 0xffff ? 2 : top <= 0xffffffffu ? 4 : 8;
    PyObject *out = PyBytes_FromStringAndSize(NULL, 10 + n * width);
    if (out != NULL) {
        unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
        o[0] = steps ? 'S' : 'O';
        o[1] = (unsigned char)width;
        put_unsigned(o + 2, (uint64_t)base, 8);
        o += 10;
        uint64_t before = (uint64_t)base;
        for (Py_ssize_t i = 0; i < n; i++) { /* in byte planes: every value's lowest byte, then the next... */
            uint64_t v = (uint64_t)int64_at(in + 8 * i), d = v - before;
            for (int b = 0; b < width; b++, d >>= 8) {
                o[b * n + i] = (unsigned char)d;
            }
            before = steps ? v : before;
        }
    }
    PyBuffer_Release(&raw);
    return out;
}

/* base + d, in *out: 0, or 1 past int64 */
static int
plus(long long base, uint64_t d, long long *out)
{
    if (d <= (uint64_t)LLONG_MAX) {
        return __builtin_add_overflow(base, (long long)d, out);
    }
    if (base >= 0) { /* d >= 2**63 */
        return 1;
    }
    return __builtin_add_overflow(base - LLONG_MIN, (long long)(d - (uint64_t)LLONG_MAX - 1), out);
}

static PyObject *
widen(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer blob;
    Py_ssize_t n;
    if (nargs != 2 || (n = PyLong_AsSsize_t(args[1])) < 0) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_TypeError, "widen(blob, count >= 0)");
        }
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &blob, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    const unsigned char *in = blob.buf;
    int width = blob.len >= 10 ? in[1] : 0;
    if (blob.len < 10 || (in[0] != 'S' && in[0] != 'O' && in[0] != 's' && in[0] != 'o')
        || (width != 1 && width != 2 && width != 4 && width != 8) || (blob.len - 10) / width != n
        || (blob.len - 10) % width) {
        PyBuffer_Release(&blob);
        PyErr_SetString(PyExc_ValueError, "a damaged narrowed column");
        return NULL;
    }
    int steps = in[0] == 's' || in[0] == 'S', planes = in[0] == 'S' || in[0] == 'O';
    long long base = int64_at(in + 2);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 8);
    if (out != NULL) {
        long long *o = (long long *)PyBytes_AS_STRING(out);
        const unsigned char *p = in + 10;
        for (Py_ssize_t i = 0; i < n; i++) {
            uint64_t d = 0;
            if (planes) {
                for (int b = width - 1; b >= 0; b--) {
                    d = d << 8 | p[b * n + i];
                }
            }
            else {
                d = unsigned_at(p + i * width, width);
            }
            if (plus(base, d, &o[i])) {
                Py_CLEAR(out);
                PyErr_SetString(PyExc_ValueError, "a narrowed column with a value past int64");
                break;
            }
            base = steps ? o[i] : base;
        }
    }
    PyBuffer_Release(&blob);
    return out;
}

static PyMethodDef methods[] = {
    {"narrow", narrow, METH_O,
     "narrow(raw: bytes) -> bytes: little-endian int64s as an \"n\" column (mode, width, base, then each\n"
     "value in steps or as an offset, as unsigned ints of 1, 2, 4 or 8 bytes, in byte planes: lowest first)."},
    {"widen", (PyCFunction)(void (*)(void))widen, METH_FASTCALL,
     "widen(blob: bytes, count: int) -> bytes: an \"n\" column's `count` values as native int64s;\n"
     "ValueError for a damaged column or a value past int64."},
    {"dictionary", dictionary, METH_O,
     "dictionary(values: list) -> (table, ids) | None: the column coded by dictionary (each distinct\n"
     "value once, then each value's index in little-endian unsigned ints of 1, 2 or 4 bytes); None for\n"
     "a value other than a str, an int or None, or when more than half the values are distinct."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "runtime.trace._columns", "Columns of an events frame coded by dictionary and narrowed, in C.", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__columns(void)
{
    return PyModule_Create(&module);
}
