/* Where a greenlet keeps its `gid`, found without the generic attribute lookup (~200 instructions, most of
   a switch's hook): included by runtime.trace._hooks (which reads the id) and runtime.attach._switches
   (which asks whether a greenlet has one yet).

   Per type, as of its version tag (a type changed, or a new one at the same address, has another): with the
   generic getattr, a slot at `offset` (a __slots__ member), else — no class attribute `gid` — the instance
   dict at `dict_offset` (eventlet's greenthreads, gevent's hub, a main greenlet; a managed dict, 3.11's, has
   no fixed offset); else (both 0) the generic way. A few types are kept: a switch goes between two. */

#ifndef GREENSCOPE_GID_H
#define GREENSCOPE_GID_H

#include <Python.h>
#include <structmember.h> /* PyMemberDescrObject, T_OBJECT_EX */

#define GID_TYPES 4 /* a hub's greenlet, a greenthread, spawn_n's or the main one, a foreign one */

typedef struct {
    PyTypeObject *type; /* (borrowed: only compared, with its tag) */
    unsigned int tag;
    Py_ssize_t offset;
    Py_ssize_t dict_offset;
} GidSlot;

typedef struct {
    GidSlot slots[GID_TYPES]; /* the types seen last */
    int next;                 /* the entry the next type learned replaces */
} GidSlots;

/* the entry saying where `type` keeps `name` ("gid", interned), learned now if it is not known (NULL: a
   type without a version tag, which is not cached) */
static GidSlot *
gid_slot(GidSlots *cache, PyTypeObject *type, PyObject *name)
{
    for (GidSlot *slot = cache->slots; slot < cache->slots + GID_TYPES; slot++) {
        if (slot->type == type && slot->tag == type->tp_version_tag) {
            return slot;
        }
    }
    PyObject *descr = _PyType_Lookup(type, name); /* (borrowed; gives the type a version tag) */
    if (!(type->tp_flags & Py_TPFLAGS_VALID_VERSION_TAG) || type->tp_version_tag == 0) {
        return NULL;
    }
    GidSlot *slot = &cache->slots[cache->next];
    cache->next = (cache->next + 1) % GID_TYPES;
    int generic = type->tp_getattro == PyObject_GenericGetAttr;
    slot->type = type;
    slot->tag = type->tp_version_tag;
    slot->offset = generic && descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)
                           && ((PyMemberDescrObject *)descr)->d_member->type == T_OBJECT_EX
                       ? ((PyMemberDescrObject *)descr)->d_member->offset
                       : 0;
    slot->dict_offset = generic && descr == NULL && type->tp_dictoffset > 0 ? type->tp_dictoffset : 0;
    return slot;
}

/* `glet`'s `name` where its type's entry says: 1 with *value borrowed (NULL: it has none, for certain), 0 where
   only the generic lookup can tell, -1 with an exception */
static int
gid_peek(GidSlots *cache, PyObject *glet, PyObject *name, PyObject **value)
{
    GidSlot *slot = gid_slot(cache, Py_TYPE(glet), name);
    if (slot != NULL && slot->offset != 0) {
        *value = *(PyObject **)((char *)glet + slot->offset);
        return 1;
    }
    if (slot != NULL && slot->dict_offset != 0) { /* its dict's item, a fifth of the generic lookup */
        PyObject *dict = *(PyObject **)((char *)glet + slot->dict_offset);
        *value = dict != NULL ? PyDict_GetItemWithError(dict, name) : NULL;
        return *value == NULL && PyErr_Occurred() ? -1 : 1;
    }
    return 0;
}

#endif
