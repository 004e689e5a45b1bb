/*
 * logmagic.encode._speedups: the field loop of the GELF fast path, in C.
 *
 * copy_plain(d, fields, names) does what logmagic.encode._plain.copy_plain_py does: copy
 * every field into the GELF dict ``d`` under its cached GELF name, as long as every value is
 * a plain value (exactly str, int, bool, None, or a finite float) and every name is in
 * ``names``. It returns True when all fields were copied, False as soon as one needs the
 * encoder's careful path; ``d`` may then hold some of the fields, which the caller discards.
 *
 * It never runs Python code: keys must be exactly str (their hash and comparison are C), and
 * values are only looked at by type, so nothing can change ``fields`` while it is read. It
 * never raises for bad data: anything it does not know answers False.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>

static int
is_plain(PyObject *v)
{
    return PyUnicode_CheckExact(v) || PyLong_CheckExact(v) || PyBool_Check(v) || v == Py_None ||
           (PyFloat_CheckExact(v) && isfinite(PyFloat_AS_DOUBLE(v)));
}

static PyObject *
copy_plain(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "copy_plain(d, fields, names) takes exactly 3 arguments");
        return NULL;
    }
    PyObject *d = args[0], *fields = args[1], *names = args[2];
    if (!PyDict_CheckExact(d) || !PyDict_CheckExact(fields) || !PyDict_CheckExact(names)) {
        Py_RETURN_FALSE;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(fields, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || !is_plain(value)) {
            Py_RETURN_FALSE;
        }
        PyObject *name = PyDict_GetItemWithError(names, key); /* borrowed */
        if (name == NULL) {
            PyErr_Clear(); /* a name not cached yet, or a secret one: no error is possible here */
            Py_RETURN_FALSE;
        }
        if (PyDict_SetItem(d, name, value) < 0) {
            PyErr_Clear(); /* out of memory: the careful path will say what it can */
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

static PyMethodDef speedups_methods[] = {
    {"copy_plain", (PyCFunction)(void (*)(void))copy_plain, METH_FASTCALL,
     "copy_plain(d, fields, names) -> bool: copy plain fields into a GELF dict under cached names."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "logmagic.encode._speedups",
    "The GELF fast path's field loop in C (optional; logmagic.encode._plain falls back to Python).",
    -1,
    speedups_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&speedups_module);
}
