/*
 * logmagic.encode._speedups: the log call's hot steps in C, each the twin of a Python function
 * of logmagic.encode._plain (the tests compare each pair over generated input):
 *
 *  - plain_gelf_dict and plain_gelf_line: a plain record's GELF dict, and its line;
 *  - write_counted: the direct path's write, counted when whole;
 *  - plain_size, keep_plain and trim_kept: the flight recorder's test for fields it may keep
 *    as they are, its append of a kept record, and its caps.
 *
 * plain_gelf_dict(host, msg, ts, level, facility, fields, names, txn, empty) does what
 * logmagic.encode._plain.plain_gelf_dict_py does: build the GELF dict of a record whose fields
 * are all plain values (exactly str, int, bool, None, or a finite float) under names cached in
 * ``names``, and add ``txn`` as the txnId unless the fields hold one (``txn`` may be a
 * logmagic.txn.Scope, a (txnId, context fields) tuple: its fields are added after the txnId,
 * each unless the record already has that name). It returns None as soon
 * as anything needs the encoder's careful path: a value or name like the above, text with
 * '=' or '@' in it (a URL or query string for the redactor), more than MAX_FIELDS fields (the
 * careful path caps them), a message that is not exactly str, a timestamp that is not a
 * finite float.
 *
 * It never runs Python code while it reads ``fields``: keys must be exactly str (their hash and
 * comparison are C), values are only looked at by type, and the one allocation that may start
 * the garbage collector (the new dict) comes before the loop. It never raises for bad data.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <limits.h>
#include <unistd.h>

/* logmagic._safe.MAX_FIELDS and MAX_STRING; tests/encode/test_plain.py checks that they agree. */
#define MAX_FIELDS 1000
#define MAX_STRING (32 * 1024)
/* logmagic.encode._plain.FIELD_SIZE: what a plain field costs besides its name's and text's length. */
#define FIELD_SIZE 64

/* time.time, known by identity: keep_plain reads the same clock itself. */
static PyObject *time_time;
static PyObject *s_version, *s_host, *s_short_message, *s_timestamp, *s_level, *s_facility, *s_1_1, *s_txnId,
    *s_append, *s_popleft, *s_option_kw;

/* Text the redactor must look at: '=' or '@' in it (logmagic.redact.needs_scrub). */
static int
needs_scrub(PyObject *s)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(s) < 0) {
        PyErr_Clear();
        return 1; /* the careful path copes */
    }
#endif
    Py_ssize_t n = PyUnicode_GET_LENGTH(s);
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (kind == PyUnicode_1BYTE_KIND) { /* memchr: the C library's word-at-a-time search */
        return memchr(data, '=', (size_t)n) != NULL || memchr(data, '@', (size_t)n) != NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (c == '=' || c == '@') {
            return 1;
        }
    }
    return 0;
}

static int
is_plain(PyObject *v)
{
    if (PyUnicode_CheckExact(v)) {
        return !needs_scrub(v);
    }
    return PyLong_CheckExact(v) || PyBool_Check(v) || v == Py_None ||
           (PyFloat_CheckExact(v) && isfinite(PyFloat_AS_DOUBLE(v)));
}

/* Empty or whitespace only, as ``not msg or msg.isspace()``. */
static int
is_blank(PyObject *msg)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(msg);
    int kind = PyUnicode_KIND(msg);
    const void *data = PyUnicode_DATA(msg);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i))) {
            return 0;
        }
    }
    return 1;
}

/* The GELF dict of plain_gelf_dict's 9 arguments, or None (a new reference either way). */
static PyObject *
make_gelf_dict(PyObject *const *args)
{
    PyObject *host = args[0], *msg = args[1], *ts = args[2], *level = args[3], *facility = args[4];
    PyObject *fields = args[5], *names = args[6], *txn = args[7], *empty = args[8];
    if (!PyUnicode_CheckExact(msg) || !PyFloat_CheckExact(ts) || !PyDict_CheckExact(fields) ||
        !PyDict_CheckExact(names) || PyDict_GET_SIZE(fields) > MAX_FIELDS) {
        Py_RETURN_NONE;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(msg) < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
#endif
    /* int(ts * 1000) / 1000: truncate toward zero, then one correctly rounded division, as
     * Python does for integers of this size. Adding 0.0 turns -0.0 into 0.0, as int() does. */
    double ms = PyFloat_AS_DOUBLE(ts) * 1000.0;
    if (!isfinite(ms)) {
        Py_RETURN_NONE;
    }
    PyObject *d = PyDict_New();
    if (d == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    PyObject *stamp = PyFloat_FromDouble((trunc(ms) + 0.0) / 1000.0);
    if (stamp == NULL) {
        goto fail;
    }
    int bad = PyDict_SetItem(d, s_version, s_1_1) < 0 || PyDict_SetItem(d, s_host, host) < 0 ||
              PyDict_SetItem(d, s_short_message, is_blank(msg) ? empty : msg) < 0 ||
              PyDict_SetItem(d, s_timestamp, stamp) < 0 || PyDict_SetItem(d, s_level, level) < 0 ||
              PyDict_SetItem(d, s_facility, facility) < 0;
    Py_DECREF(stamp);
    if (bad) {
        goto fail;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value, *name;
    while (PyDict_Next(fields, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || !is_plain(value)) {
            goto careful;
        }
        name = PyDict_GetItemWithError(names, key); /* borrowed; NULL: not cached, or secret */
        if (name == NULL || PyDict_SetItem(d, name, value) < 0) {
            goto fail;
        }
    }
    PyObject *scope_fields = NULL;
    if (PyTuple_Check(txn)) { /* a logmagic.txn.Scope: (txn_id, context fields, recorder) */
        if (PyTuple_GET_SIZE(txn) < 2 || !PyDict_CheckExact(PyTuple_GET_ITEM(txn, 1))) {
            goto careful;
        }
        scope_fields = PyTuple_GET_ITEM(txn, 1);
        txn = PyTuple_GET_ITEM(txn, 0);
        if (PyDict_GET_SIZE(fields) + PyDict_GET_SIZE(scope_fields) > MAX_FIELDS) {
            goto careful;
        }
    }
    int txn_added = 0;
    if (txn != Py_None) {
        /* Every key of ``fields`` is exactly str by now, so this lookup runs no Python code. */
        if (PyDict_GetItemWithError(fields, s_txnId) == NULL) {
            if (PyErr_Occurred()) {
                goto fail;
            }
            if (!PyUnicode_CheckExact(txn) || needs_scrub(txn)) {
                goto careful;
            }
            name = PyDict_GetItemWithError(names, s_txnId);
            if (name == NULL || PyDict_SetItem(d, name, txn) < 0) {
                goto fail;
            }
            txn_added = 1;
        }
    }
    if (scope_fields != NULL) { /* context fields, where neither the record nor its txnId has the name */
        pos = 0;
        while (PyDict_Next(scope_fields, &pos, &key, &value)) {
            if (!PyUnicode_CheckExact(key)) {
                goto careful;
            }
            int has = PyDict_Contains(fields, key);
            if (has < 0) {
                goto fail;
            }
            if (has || (txn_added && PyUnicode_Compare(key, s_txnId) == 0)) {
                continue;
            }
            if (!is_plain(value)) {
                goto careful;
            }
            name = PyDict_GetItemWithError(names, key);
            if (name == NULL || PyDict_SetItem(d, name, value) < 0) {
                goto fail;
            }
        }
    }
    return d;
fail:
    PyErr_Clear(); /* out of memory, or a name not cached: the careful path copes */
careful:
    Py_DECREF(d);
    Py_RETURN_NONE;
}

/* The estimated size of ``fields`` when every one is a plain value under a name cached in
 * ``names`` (the redaction stage would leave them as they are), else -1. Never raises. */
static Py_ssize_t
fields_size(PyObject *fields, PyObject *names)
{
    if (!PyDict_CheckExact(fields) || !PyDict_CheckExact(names) || PyDict_GET_SIZE(fields) > MAX_FIELDS) {
        return -1;
    }
    Py_ssize_t pos = 0, size = 0;
    PyObject *key, *value;
    while (PyDict_Next(fields, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || !is_plain(value)) {
            return -1;
        }
        if (PyDict_GetItemWithError(names, key) == NULL) {
            PyErr_Clear();
            return -1;
        }
        size += FIELD_SIZE + PyUnicode_GET_LENGTH(key);
        if (PyUnicode_CheckExact(value)) {
            size += PyUnicode_GET_LENGTH(value);
        }
    }
    return size;
}

/* plain_size(fields, names): logmagic.encode._plain.plain_size_py. */
static PyObject *
plain_size(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "plain_size(fields, names) takes exactly 2 arguments");
        return NULL;
    }
    return PyLong_FromSsize_t(fields_size(args[0], args[1]));
}

/*
 * keep_plain(entries, fields, names, spec, msg, scope, base, now): what
 * logmagic.encode._plain.keep_plain_py does. When the fields are plain (``fields_size``),
 * append the flight recorder's entry (spec, msg, fields, now(), None, scope, size) to
 * ``entries`` and return its size (``base`` + the message's length + the fields'); else
 * return -1 and append nothing. Raises what ``now()`` or ``entries.append`` raise.
 */
static PyObject *
keep_plain(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError,
                        "keep_plain(entries, fields, names, spec, msg, scope, base, now) takes exactly 8 arguments");
        return NULL;
    }
    PyObject *msg = args[4];
    Py_ssize_t size = fields_size(args[1], args[2]);
    if (size < 0 || !PyUnicode_CheckExact(msg)) {
        return PyLong_FromLong(-1);
    }
    Py_ssize_t base = PyLong_AsSsize_t(args[6]);
    if (base == -1 && PyErr_Occurred()) {
        return NULL;
    }
    size += base + PyUnicode_GET_LENGTH(msg);
    PyObject *ts;
    struct timespec now;
    if (args[7] == time_time && clock_gettime(CLOCK_REALTIME, &now) == 0) {
        /* time.time() itself, without the call: the same clock and the same rounding (nanoseconds
         * as a C double, divided by 1e9). Any other clock (a test's frozen time) is called. */
        ts = PyFloat_FromDouble((double)((long long)now.tv_sec * 1000000000LL + now.tv_nsec) / 1e9);
    }
    else {
        ts = PyObject_CallNoArgs(args[7]);
    }
    if (ts == NULL) {
        return NULL;
    }
    PyObject *n = PyLong_FromSsize_t(size);
    if (n == NULL) {
        Py_DECREF(ts);
        return NULL;
    }
    PyObject *entry = PyTuple_Pack(7, args[3], msg, args[1], ts, Py_None, args[5], n);
    Py_DECREF(ts);
    if (entry == NULL) {
        Py_DECREF(n);
        return NULL;
    }
    PyObject *done = PyObject_CallMethodOneArg(args[0], s_append, entry);
    Py_DECREF(entry);
    if (done == NULL) {
        Py_DECREF(n);
        return NULL;
    }
    Py_DECREF(done);
    return n;
}

/* The size (the last item) of a flight recorder entry; -1 with an exception for anything else. */
static Py_ssize_t
entry_size(PyObject *entry)
{
    if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) < 1) {
        PyErr_SetString(PyExc_TypeError, "a flight recorder entry is a tuple ending with its size");
        return -1;
    }
    return PyLong_AsSsize_t(PyTuple_GET_ITEM(entry, PyTuple_GET_SIZE(entry) - 1));
}

/*
 * trim_kept(entries, accounted, size, held, max_records, max_bytes, max_total): what
 * logmagic.encode._plain.trim_kept_py does, at C speed: count the entries appended after the
 * first ``accounted`` (their sizes added to ``size`` and ``held``), then drop the oldest until
 * the caps hold. Returns (accounted, size, held, new, dropped, not_kept).
 */
static PyObject *
trim_kept(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError,
                        "trim_kept(entries, accounted, size, held, max_records, max_bytes, max_total) "
                        "takes exactly 7 arguments");
        return NULL;
    }
    PyObject *entries = args[0];
    Py_ssize_t v[6];
    for (int i = 0; i < 6; i++) {
        v[i] = PyLong_AsSsize_t(args[i + 1]);
        if (v[i] == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    Py_ssize_t accounted = v[0], size = v[1], held = v[2], max_records = v[3], max_bytes = v[4], max_total = v[5];
    Py_ssize_t n = PyObject_Size(entries);
    if (n < 0) {
        return NULL;
    }
    Py_ssize_t new = n > accounted ? n - accounted : 0;
    for (Py_ssize_t i = n - new; i < n; i++) {
        PyObject *entry = PySequence_GetItem(entries, i);
        if (entry == NULL) {
            return NULL;
        }
        Py_ssize_t one = entry_size(entry);
        Py_DECREF(entry);
        if (one == -1 && PyErr_Occurred()) {
            return NULL;
        }
        size += one;
        held += one;
    }
    accounted += new;
    Py_ssize_t dropped = 0, not_kept = 0;
    while (accounted > 0 && (accounted > max_records || size > max_bytes || held > max_total)) {
        PyObject *entry = PyObject_CallMethodNoArgs(entries, s_popleft);
        if (entry == NULL) {
            return NULL;
        }
        Py_ssize_t gone = entry_size(entry);
        Py_DECREF(entry);
        if (gone == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (held > max_total && accounted <= max_records && size <= max_bytes) {
            not_kept++;
        }
        else {
            dropped++;
        }
        accounted--;
        size -= gone;
        held -= gone;
    }
    return Py_BuildValue("(nnnnnn)", accounted, size, held, new, dropped, not_kept);
}

static PyObject *
plain_gelf_dict(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError,
                        "plain_gelf_dict(host, msg, ts, level, facility, fields, names, txn, empty) "
                        "takes exactly 9 arguments");
        return NULL;
    }
    return make_gelf_dict(args);
}

/*
 * plain_gelf_line(host, msg, ts, level, facility, fields, names, txn, empty, dumps, option):
 * what logmagic.encode._plain.plain_gelf_line_py does: ``dumps(plain_gelf_dict(...),
 * option=option)``, or None when there is no dict, when ``dumps`` raises (an int beyond 64
 * bits, a lone surrogate: the encoder copes) or when the line is longer than MAX_STRING bytes
 * (a string in it might be over the encoder's cap).
 */
static PyObject *
plain_gelf_line(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 11) {
        PyErr_SetString(PyExc_TypeError,
                        "plain_gelf_line(host, msg, ts, level, facility, fields, names, txn, empty, dumps, option) "
                        "takes exactly 11 arguments");
        return NULL;
    }
    PyObject *d = make_gelf_dict(args);
    if (d == NULL || d == Py_None) {
        return d;
    }
    PyObject *call[3] = {NULL, d, args[10]};
    PyObject *line = PyObject_Vectorcall(args[9], call + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, s_option_kw);
    Py_DECREF(d);
    if (line == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!PyBytes_CheckExact(line) || PyBytes_GET_SIZE(line) > MAX_STRING) {
        Py_DECREF(line);
        Py_RETURN_NONE;
    }
    return line;
}

/*
 * write_counted(fd, data, counter): what logmagic.encode._plain.write_counted_py does:
 * ``os.write(fd, data)`` (the GIL released, EINTR retried after the signal handlers ran, an
 * OSError raised as os.write raises it), and ``next(counter)`` when all of ``data`` was
 * written. Returns the number of bytes written.
 */
static PyObject *
write_counted(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 3 || !PyBytes_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "write_counted(fd, data: bytes, counter) takes exactly 3 arguments");
        return NULL;
    }
    long fd = PyLong_AsLong(args[0]);
    if (fd == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (fd < 0 || fd > INT_MAX) {
        errno = EBADF;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    const char *data = PyBytes_AS_STRING(args[1]);
    Py_ssize_t len = PyBytes_GET_SIZE(args[1]);
    Py_ssize_t done;
    int err;
    do {
        Py_BEGIN_ALLOW_THREADS
        done = write((int)fd, data, (size_t)len);
        err = errno;
        Py_END_ALLOW_THREADS
        if (done < 0 && err == EINTR && PyErr_CheckSignals() < 0) {
            return NULL;
        }
    } while (done < 0 && err == EINTR);
    if (done < 0) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (done == len) {
        PyObject *count = PyIter_Next(args[2]);
        if (count == NULL) {
            return NULL;
        }
        Py_DECREF(count);
    }
    return PyLong_FromSsize_t(done);
}

static PyMethodDef speedups_methods[] = {
    {"write_counted", (PyCFunction)(void (*)(void))write_counted, METH_FASTCALL,
     "write_counted(fd, data, counter) -> int: os.write, then next(counter) when all was written"},
    {"plain_gelf_line", (PyCFunction)(void (*)(void))plain_gelf_line, METH_FASTCALL,
     "plain_gelf_line(host, msg, ts, level, facility, fields, names, txn, empty, dumps, option) -> bytes | None"},
    {"trim_kept", (PyCFunction)(void (*)(void))trim_kept, METH_FASTCALL,
     "trim_kept(entries, accounted, size, held, max_records, max_bytes, max_total) -> tuple"},
    {"plain_gelf_dict", (PyCFunction)(void (*)(void))plain_gelf_dict, METH_FASTCALL,
     "plain_gelf_dict(host, msg, ts, level, facility, fields, names, txn, empty) -> dict | None"},
    {"plain_size", (PyCFunction)(void (*)(void))plain_size, METH_FASTCALL,
     "plain_size(fields, names) -> int: the fields' estimated size, or -1 when they need care"},
    {"keep_plain", (PyCFunction)(void (*)(void))keep_plain, METH_FASTCALL,
     "keep_plain(entries, fields, names, spec, msg, scope, base, now) -> int"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "logmagic.encode._speedups",
    "The log call's hot steps in C (optional: logmagic.encode._plain holds their Python twins).",
    -1,
    speedups_methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

static int
intern(PyObject **slot, const char *text)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (intern(&s_version, "version") < 0 || intern(&s_host, "host") < 0 ||
        intern(&s_short_message, "short_message") < 0 || intern(&s_timestamp, "timestamp") < 0 ||
        intern(&s_level, "level") < 0 || intern(&s_facility, "_facility") < 0 || intern(&s_1_1, "1.1") < 0 ||
        intern(&s_txnId, "txnId") < 0 || intern(&s_append, "append") < 0 || intern(&s_popleft, "popleft") < 0) {
        return NULL;
    }
    /* Interned, as the compiler interns keyword names: orjson knows its keywords by identity. */
    PyObject *option = PyUnicode_InternFromString("option");
    if (option == NULL) {
        return NULL;
    }
    s_option_kw = PyTuple_Pack(1, option);
    Py_DECREF(option);
    if (s_option_kw == NULL) {
        return NULL;
    }
    PyObject *time_module = PyImport_ImportModule("time");
    if (time_module == NULL) {
        return NULL;
    }
    time_time = PyObject_GetAttrString(time_module, "time");
    Py_DECREF(time_module);
    if (time_time == NULL) {
        return NULL;
    }
    return PyModule_Create(&speedups_module);
}
