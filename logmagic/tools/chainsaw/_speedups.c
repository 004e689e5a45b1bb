/*
 * logmagic.tools.chainsaw._speedups: gelf-chainsaw's scans over a buffer of log lines, in C.
 *
 * Each does exactly what its Python definition in logmagic/tools/chainsaw/bytescan.py does (the
 * tests compare them on generated buffers); they exist because those definitions cost a Python
 * step per hit, per backslash or per line, where these cost a memmem, or one pass of 16-byte
 * compares.
 *
 * lines_with(buf, start, end, needle) -> list[int]
 *     The lines of buf[start:end] that hold the bytes ``needle`` (not empty), found with the C
 *     library's memmem: [start0, stop0, start1, stop1, ...], each line once, in order, without
 *     its newline.
 *
 * level_lines(buf, start, end, ints, names) -> list[int]
 *     The lines of buf[start:end] where the bytes 'level"' (the end of a key) are followed by a
 *     colon and a value that may be a level passing a query: what the pattern of
 *     logmagic.tools.chainsaw.query.LineFilter.for_levels matches, with ``ints`` the allowed
 *     integers (decimal, as bytes) and ``names`` the allowed level names (upper case ASCII):
 *     an allowed integer not followed by [0-9.eE]; digits followed by [.eE]; three digits or
 *     more; a minus; or text that is an allowed name in any case, starts with [-0-9], or holds a
 *     backslash or a byte beyond ASCII before its end. Flat, as below.
 *
 * escape_lines(buf, start, end, units, short) -> list[int]
 *     The lines of buf[start:end] that hold a JSON escape of one of the characters searched
 *     for: "\uXXXX" whose code unit XXXX has its bit set in ``units`` (a bitmap of 65536 bits,
 *     8192 bytes), or a backslash followed by one of the bytes of ``short``. Escapes are read
 *     from left to right as JSON reads them: a backslash and the byte after it are one escape
 *     (six bytes for "\u" and four hex digits), so the "u0041" of "\\u0041" is not one; after a
 *     line is found, reading starts again at the next line. Flat, as above.
 *
 * odd_lines(buf, start, end) -> list[int]
 *     The starts of the lines of buf[start:end] that are not blank (bytes.strip() leaves
 *     something) and do not start with "{" once an svlogd timestamp prefix is taken off (-t,
 *     -tt, -ttt: the grammar of logmagic.tools.logfiles.prefix.prefix_length).
 *
 * marks(buf, start, end, units, short) -> (list[int], list[int])
 *     escape_lines and odd_lines at once, in one pass over the buffer.
 *
 * bodies_at(buf, spans) -> list[bytes]
 *     bodies() of the lines buf[spans[0]:spans[1]], buf[spans[2]:spans[3]], ...: each made once,
 *     already without its prefix.
 *
 * bodies(lines) -> list[bytes]
 *     Each line (bytes) without its svlogd timestamp prefix, as strip_prefix takes it off
 *     (logmagic.tools.logfiles.prefix.body_start): -t's always, -tt's and -ttt's when they
 *     name a real date and time (a line whose prefix does not is kept whole). A line without a
 *     prefix is the same object.
 *
 * decide(texts, plan) -> (list[int], list[int])
 *     A query's verdict on each line of ``texts`` (JSON text, prefix taken off) that it can give
 *     without making the line into Python objects: the indexes of the lines that match, and of
 *     those it leaves to the parser; every other line does not match. ``plan`` is
 *     logmagic.tools.chainsaw.query.Query.plan(): per term, the keys tried in order, the kind
 *     (present, =, !=, >, >=, <, <=), the value's UTF-8, whether it is a JSON number, the bound,
 *     and for a comparison on ``level`` the level names (upper case) with their numbers.
 *     A line is decided only when it is one JSON object that orjson reads the same way (strict
 *     UTF-8, no control byte in a string, no escaped surrogate, numbers well within a double,
 *     nesting at most 64 deep; any doubt: the parser) and each term's value is plain: a key
 *     found as written (an escaped key: the parser), the last of equal keys, a compared string
 *     without an escape, a compared number of at most 15 integer digits or a float that
 *     converts exactly as Python's float() does; compared text is a level name in any case
 *     (ASCII only: str.upper() makes some other letters ASCII), else fails unless it starts
 *     like a number. Text that may be a number, and a number compared with = to a number, are
 *     left to the parser. Its definition is the parser itself
 *     (scan.judge); tests/tools/chainsaw/test_decide.py holds it to that.
 *
 * None runs Python code while it scans, and none raises for any content of the buffer; the
 * buffer scans run with the GIL released (what they find is kept in C arrays until they are
 * done; decide keeps it, as it reads a list of bytes objects). The pass
 * uses SSE2 where the compiler has it (every x86-64), and AVX2 when the CPU has it too, else
 * two memchr streams; defining LOGMAGIC_NO_SIMD at compile time picks the latter (the tests
 * build both).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#if defined(__SSE2__) && defined(__GNUC__) && !defined(LOGMAGIC_NO_SIMD)
#include <immintrin.h>
#define HAVE_SSE2 1
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 5)
#define HAVE_AVX2_TARGET 1 /* compiled for AVX2 in one function, used when the CPU has it */
static int cpu_has_avx2;
#endif
#endif

#define UNITS_BYTES 8192

static int
hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static inline int
is_digit(unsigned char c)
{
    return (unsigned char)(c - '0') < 10;
}

static int
is_lower_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Python's bytes.strip() whitespace. */
static int
is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\x0b' || c == '\x0c';
}

/* Indexes found while the GIL is released (no Python object can be made then), made into a
 * list of ints once it is taken again. */
typedef struct {
    Py_ssize_t *v;
    Py_ssize_t n, cap;
} Ints;

static int
ints_add(Ints *a, Py_ssize_t value)
{
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? 2 * a->cap : 64;
        Py_ssize_t *v = PyMem_RawRealloc(a->v, (size_t)cap * sizeof(Py_ssize_t));
        if (v == NULL) {
            return -1;
        }
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = value;
    return 0;
}

/* The list of ``a``'s indexes (a new reference, NULL with an exception set); ``a`` is freed.
 * ``failed``: an allocation failed while the indexes were found. */
static PyObject *
ints_list(Ints *a, int failed)
{
    PyObject *out = failed ? PyErr_NoMemory() : PyList_New(a->n);
    for (Py_ssize_t i = 0; out != NULL && i < a->n; i++) {
        PyObject *n = PyLong_FromSsize_t(a->v[i]);
        if (n == NULL) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, i, n);
    }
    PyMem_RawFree(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
    return out;
}

/* Where the line holding buf[i] starts, not before ``start``. */
static Py_ssize_t
line_start_of(const unsigned char *buf, Py_ssize_t start, Py_ssize_t i)
{
#ifdef __GLIBC__
    const unsigned char *nl = i > start ? memrchr(buf + start, '\n', (size_t)(i - start)) : NULL;
    return nl == NULL ? start : nl - buf + 1;
#else
    while (i > start && buf[i - 1] != '\n') {
        i--;
    }
    return i;
#endif
}

/* The buffer of args[0] and the range args[1]:args[2], clamped to it as slicing would be. */
static int
get_buffer(PyObject *const *args, Py_buffer *view, Py_ssize_t *start, Py_ssize_t *end)
{
    *start = PyLong_AsSsize_t(args[1]);
    if (*start == -1 && PyErr_Occurred()) {
        return -1;
    }
    *end = PyLong_AsSsize_t(args[2]);
    if (*end == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (*start < 0 || *end < 0) {
        PyErr_SetString(PyExc_ValueError, "start and end must not be negative");
        return -1;
    }
    if (PyObject_GetBuffer(args[0], view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    if (*end > view->len) {
        *end = view->len;
    }
    if (*start > *end) {
        *start = *end;
    }
    return 0;
}

/* ``units`` and ``short``: a bitmap of 8192 bytes, and bytes. */
static int
get_escapes(PyObject *const *args, const unsigned char **units, const char **shorts, size_t *n_shorts)
{
    if (!PyBytes_Check(args[3]) || PyBytes_GET_SIZE(args[3]) != UNITS_BYTES) {
        PyErr_SetString(PyExc_TypeError, "units must be bytes of length 8192");
        return -1;
    }
    if (!PyBytes_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "short must be bytes");
        return -1;
    }
    *units = (const unsigned char *)PyBytes_AS_STRING(args[3]);
    *shorts = PyBytes_AS_STRING(args[4]);
    *n_shorts = (size_t)PyBytes_GET_SIZE(args[4]);
    return 0;
}

/* The first ``needle`` (``m`` bytes, m >= 1) in ``h`` (``n`` bytes), or NULL: the C library's
 * memmem, which for a short needle looks at every byte or two; with SSE2/AVX2, candidates are
 * the places where the needle's first and last bytes both are (16 or 32 at a time), and only
 * those are compared whole (the "packed pair" search). */
#ifdef HAVE_AVX2_TARGET
__attribute__((target("avx2"))) static const unsigned char *
find_avx2(const unsigned char *h, size_t n, const unsigned char *needle, size_t m, size_t *done)
{
    const __m256i first = _mm256_set1_epi8((char)needle[0]), last = _mm256_set1_epi8((char)needle[m - 1]);
    size_t i = 0;
    for (; i + m - 1 + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(h + i));
        __m256i b = _mm256_loadu_si256((const __m256i *)(h + i + m - 1));
        unsigned int mask = (unsigned int)_mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last)));
        while (mask) {
            size_t k = i + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (memcmp(h + k + 1, needle + 1, m - 2) == 0) {
                return h + k;
            }
        }
    }
    *done = i;
    return NULL;
}
#endif

static const unsigned char *
find_needle(const unsigned char *h, size_t n, const unsigned char *needle, size_t m)
{
    if (m < 2 || n < m) {
        return memmem(h, n, needle, m);
    }
    size_t i = 0;
#ifdef HAVE_SSE2
#ifdef HAVE_AVX2_TARGET
    if (cpu_has_avx2) {
        const unsigned char *found = find_avx2(h, n, needle, m, &i);
        if (found != NULL) {
            return found;
        }
    }
#endif
    const __m128i first = _mm_set1_epi8((char)needle[0]), last = _mm_set1_epi8((char)needle[m - 1]);
    for (; i + m - 1 + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(h + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(h + i + m - 1));
        unsigned int mask = (unsigned int)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first), _mm_cmpeq_epi8(b, last)));
        while (mask) {
            size_t k = i + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            if (memcmp(h + k + 1, needle + 1, m - 2) == 0) {
                return h + k;
            }
        }
    }
#endif
    const unsigned char *found = memmem(h + i, n - i, needle, m);
    return found;
}

static PyObject *
lines_with(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "lines_with(buf, start, end, needle) takes 4 arguments");
        return NULL;
    }
    if (!PyBytes_Check(args[3]) || PyBytes_GET_SIZE(args[3]) == 0) {
        PyErr_SetString(PyExc_TypeError, "needle must be bytes, not empty");
        return NULL;
    }
    const char *needle = PyBytes_AS_STRING(args[3]);
    Py_ssize_t n_needle = PyBytes_GET_SIZE(args[3]);
    Py_buffer view;
    Py_ssize_t start, end;
    if (get_buffer(args, &view, &start, &end) < 0) {
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)view.buf;
    Ints out = {0};
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t p = start;
    while (end - p >= n_needle) {
        const unsigned char *q = find_needle(buf + p, (size_t)(end - p), (const unsigned char *)needle, (size_t)n_needle);
        if (q == NULL) {
            break;
        }
        Py_ssize_t i = q - buf, line_start = line_start_of(buf, start, i);
        const unsigned char *nl = memchr(q, '\n', (size_t)(end - i));
        Py_ssize_t line_stop = nl == NULL ? end : nl - buf;
        if (ints_add(&out, line_start) < 0 || ints_add(&out, line_stop) < 0) {
            failed = 1;
            break;
        }
        p = line_stop + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return ints_list(&out, failed);
}

static inline int
is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Allowed integers or names of level_lines, as C strings (pointers into the caller's bytes). */
typedef struct {
    Py_ssize_t n;
    const char **text;
    Py_ssize_t *size;
} Words;

static int
get_words(PyObject *tuple, Words *w)
{
    w->n = PyTuple_GET_SIZE(tuple);
    w->text = PyMem_Malloc((size_t)(w->n ? w->n : 1) * sizeof(char *));
    w->size = PyMem_Malloc((size_t)(w->n ? w->n : 1) * sizeof(Py_ssize_t));
    if (w->text == NULL || w->size == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t k = 0; k < w->n; k++) {
        PyObject *item = PyTuple_GET_ITEM(tuple, k);
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "ints and names must be tuples of bytes");
            return -1;
        }
        w->text[k] = PyBytes_AS_STRING(item);
        w->size[k] = PyBytes_GET_SIZE(item);
    }
    return 0;
}

static void
free_words(Words *w)
{
    PyMem_Free(w->text);
    PyMem_Free(w->size);
}

/* Whether the value after a 'level"' at ``i`` matches (see level_lines). */
static int
level_value(const unsigned char *b, Py_ssize_t i, Py_ssize_t end, const Words *ints, const Words *names)
{
    while (i < end && is_blank(b[i])) {
        i++;
    }
    if (i >= end || b[i] != ':') {
        return 0;
    }
    i++;
    while (i < end && is_blank(b[i])) {
        i++;
    }
    if (i >= end) {
        return 0;
    }
    unsigned char c = b[i];
    if (is_digit(c)) {
        Py_ssize_t j = i;
        while (j < end && is_digit(b[j])) {
            j++;
        }
        if (j < end && (b[j] == '.' || b[j] == 'e' || b[j] == 'E')) {
            return 1;
        }
        if (j - i >= 3) {
            return 1;
        }
        for (Py_ssize_t k = 0; k < ints->n; k++) {
            if (ints->size[k] == j - i && memcmp(ints->text[k], b + i, (size_t)(j - i)) == 0) {
                return 1;
            }
        }
        return 0;
    }
    if (c == '-') {
        return 1;
    }
    if (c != '"') {
        return 0;
    }
    Py_ssize_t s = i + 1;
    if (s < end && (b[s] == '-' || is_digit(b[s]))) {
        return 1;
    }
    for (Py_ssize_t k = 0; k < names->n; k++) {
        const unsigned char *t = (const unsigned char *)names->text[k];
        Py_ssize_t n = names->size[k], m = 0;
        if (s + n >= end) {
            continue;
        }
        while (m < n && (b[s + m] >= 'a' && b[s + m] <= 'z' ? b[s + m] - 32 : b[s + m]) == t[m]) {
            m++;
        }
        if (m == n && b[s + n] == '"') {
            return 1;
        }
    }
    for (Py_ssize_t k = s; k < end; k++) {
        unsigned char d = b[k];
        if (d == '\\' || d >= 0x80) {
            return 1;
        }
        if (d == '"' || d == '\n') {
            return 0;
        }
    }
    return 0;
}

static PyObject *
level_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "level_lines(buf, start, end, ints, names) takes 5 arguments");
        return NULL;
    }
    if (!PyTuple_Check(args[3]) || !PyTuple_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "ints and names must be tuples of bytes");
        return NULL;
    }
    Words ints = {0}, names = {0};
    if (get_words(args[3], &ints) < 0 || get_words(args[4], &names) < 0) {
        free_words(&ints);
        free_words(&names);
        return NULL;
    }
    Py_buffer view;
    Py_ssize_t start, end;
    if (get_buffer(args, &view, &start, &end) < 0) {
        free_words(&ints);
        free_words(&names);
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)view.buf;
    static const char key[] = "level\"";
    const Py_ssize_t n_key = 6;
    Ints out = {0};
    int failed = 0;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t p = start;
    while (end - p >= n_key) {
        const unsigned char *q = find_needle(buf + p, (size_t)(end - p), (const unsigned char *)key, (size_t)n_key);
        if (q == NULL) {
            break;
        }
        Py_ssize_t i = q - buf;
        if (!level_value(buf, i + n_key, end, &ints, &names)) {
            p = i + 1;
            continue;
        }
        Py_ssize_t line_start = line_start_of(buf, start, i);
        const unsigned char *nl = memchr(q, '\n', (size_t)(end - i));
        Py_ssize_t line_stop = nl == NULL ? end : nl - buf;
        if (ints_add(&out, line_start) < 0 || ints_add(&out, line_stop) < 0) {
            failed = 1;
            break;
        }
        p = line_stop + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    free_words(&ints);
    free_words(&names);
    return ints_list(&out, failed);
}

/* How many bytes at ``s`` an svlogd timestamp prefix takes (0: none), reading at most ``len``.
 * No byte of a prefix is a newline, so reading past the end of the line changes nothing. */
static Py_ssize_t
prefix_length(const unsigned char *s, Py_ssize_t len)
{
    if (len >= 26 && s[0] == '@' && s[1] == '4') {
        for (int k = 2; k < 25; k++) {
            if (!is_lower_hex(s[k])) {
                return 0;
            }
        }
        return s[25] == ' ' ? 26 : 0;
    }
    /* 2026-11-22_06:28:03, then .fraction, then Z or +hh:mm / +hhmm, then a space */
    if (len < 20 || !(is_digit(s[0]) && is_digit(s[1]) && is_digit(s[2]) && is_digit(s[3]) && s[4] == '-' &&
                      is_digit(s[5]) && is_digit(s[6]) && s[7] == '-' && is_digit(s[8]) && is_digit(s[9]) &&
                      (s[10] == '_' || s[10] == 'T') && is_digit(s[11]) && is_digit(s[12]) && s[13] == ':' &&
                      is_digit(s[14]) && is_digit(s[15]) && s[16] == ':' && is_digit(s[17]) && is_digit(s[18]))) {
        return 0;
    }
    Py_ssize_t i = 19;
    if (i + 1 < len && s[i] == '.' && is_digit(s[i + 1])) {
        i += 2;
        while (i < len && is_digit(s[i])) {
            i++;
        }
    }
    if (i < len && s[i] == 'Z') {
        i++;
    }
    else if (i < len && (s[i] == '+' || s[i] == '-')) {
        Py_ssize_t j = i + 1;
        if (j + 1 < len && is_digit(s[j]) && is_digit(s[j + 1])) {
            j += 2;
            if (j < len && s[j] == ':') {
                j++;
            }
            if (j + 1 < len && is_digit(s[j]) && is_digit(s[j + 1])) {
                i = j + 2;
            }
        }
    }
    return i < len && s[i] == ' ' ? i + 1 : 0;
}

/* Where strip_prefix's line without its prefix starts (body_start): the prefix's length when
 * it is -t, or -tt / -ttt naming a real date and time (what Python's datetime takes: years 1 to
 * 9999, seconds 0 to 59); else 0. */
static Py_ssize_t
body_start(const unsigned char *s, Py_ssize_t len)
{
    Py_ssize_t k = prefix_length(s, len);
    if (k == 0 || s[0] == '@') {
        return k;
    }
#define NUM2(i) ((s[i] - '0') * 10 + (s[i + 1] - '0'))
    int year = NUM2(0) * 100 + NUM2(2), month = NUM2(5), day = NUM2(8);
    int hour = NUM2(11), minute = NUM2(14), second = NUM2(17);
#undef NUM2
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
        return 0;
    }
    int leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    return day <= days[month - 1] + (month == 2 && leap) ? k : 0;
}

static PyObject *
bodies_at(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[1]) || PyList_GET_SIZE(args[1]) % 2) {
        PyErr_SetString(PyExc_TypeError, "bodies_at(buf, spans) takes a buffer and a list of start, stop pairs");
        return NULL;
    }
    PyObject *spans = args[1];
    Py_buffer view;
    if (PyObject_GetBuffer(args[0], &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(spans) / 2;
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    const unsigned char *buf = (const unsigned char *)view.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t start = PyLong_AsSsize_t(PyList_GET_ITEM(spans, 2 * i));
        Py_ssize_t stop = PyLong_AsSsize_t(PyList_GET_ITEM(spans, 2 * i + 1));
        if ((start == -1 || stop == -1) && PyErr_Occurred()) {
            goto error;
        }
        if (start < 0 || stop < start || stop > view.len) {
            PyErr_SetString(PyExc_ValueError, "a span outside the buffer");
            goto error;
        }
        Py_ssize_t k = stop > start && buf[start] != '{' ? body_start(buf + start, stop - start) : 0;
        PyObject *body = PyBytes_FromStringAndSize((const char *)buf + start + k, stop - start - k);
        if (body == NULL) {
            goto error;
        }
        PyList_SET_ITEM(out, i, body);
    }
    PyBuffer_Release(&view);
    return out;
error:
    Py_DECREF(out);
    PyBuffer_Release(&view);
    return NULL;
}

static PyObject *
bodies(PyObject *module, PyObject *lines)
{
    if (!PyList_Check(lines)) {
        PyErr_SetString(PyExc_TypeError, "bodies(lines) takes a list of bytes");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(lines);
    PyObject *out = PyList_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *line = PyList_GET_ITEM(lines, i);
        if (!PyBytes_Check(line)) {
            Py_DECREF(out);
            PyErr_SetString(PyExc_TypeError, "bodies(lines) takes a list of bytes");
            return NULL;
        }
        const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(line);
        Py_ssize_t len = PyBytes_GET_SIZE(line);
        Py_ssize_t k = len > 0 && data[0] != '{' ? body_start(data, len) : 0;
        PyObject *body;
        if (k == 0) {
            Py_INCREF(line);
            body = line;
        }
        else if ((body = PyBytes_FromStringAndSize((const char *)data + k, len - k)) == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, body);
    }
    return out;
}

/* One pass over buf[start:end]: the lines with an escape searched for (when ``units``), and the
 * odd lines (when ``odd``). */
typedef struct {
    const unsigned char *buf;
    Py_ssize_t start, end;
    const unsigned char *units; /* NULL: no escape search */
    const char *shorts;
    size_t n_shorts;
    Ints *escapes; /* flat spans, or NULL */
    Ints *odd;     /* line starts, or NULL */
    Py_ssize_t line_start;
    int line_found; /* the current line holds an escape searched for: the rest of it is skipped */
    Py_ssize_t skip; /* bytes before this are part of an escape already read, or of a line found */
} Pass;

/* The line starting at ``at`` (before ``end``): recorded in ``odd`` when it is odd. */
static int
line_begins(Pass *s, Py_ssize_t at)
{
    const unsigned char *p = s->buf + at;
    Py_ssize_t room = s->end - at;
    if (s->odd == NULL || p[0] == '{') {
        return 0;
    }
    Py_ssize_t k = prefix_length(p, room);
    if (k < room && p[k] == '{') {
        return 0;
    }
    for (Py_ssize_t j = 0; j < room && p[j] != '\n'; j++) {
        if (!is_space(p[j])) {
            return ints_add(s->odd, at);
        }
    }
    return 0; /* blank */
}

/* What the escape at ``i`` (a backslash with a byte after it) writes: whether it is one of the
 * characters searched for, and how many bytes it takes. */
static int
escape_found(const Pass *s, Py_ssize_t i, Py_ssize_t *size)
{
    const unsigned char *b = s->buf;
    unsigned char c = b[i + 1];
    if (c == 'u' && i + 6 <= s->end) {
        int h0 = hex_value(b[i + 2]), h1 = hex_value(b[i + 3]), h2 = hex_value(b[i + 4]), h3 = hex_value(b[i + 5]);
        if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
            unsigned int unit = (unsigned int)((h0 << 12) | (h1 << 8) | (h2 << 4) | h3);
            *size = 6;
            return (s->units[unit >> 3] >> (unit & 7)) & 1;
        }
    }
    *size = 2;
    return s->n_shorts > 0 && memchr(s->shorts, c, s->n_shorts) != NULL;
}

/* -- every newline and every backslash, read from left to right (the portable pass) -------- */

static int
on_newline(Pass *s, Py_ssize_t i)
{
    if (s->line_found) {
        if (ints_add(s->escapes, s->line_start) < 0 || ints_add(s->escapes, i) < 0) {
            return -1;
        }
        s->line_found = 0;
        s->skip = i + 1;
    }
    s->line_start = i + 1;
    return i + 1 < s->end ? line_begins(s, i + 1) : 0;
}

/* ``skip`` says where the last escape read ends. */
static void
on_backslash(Pass *s, Py_ssize_t i)
{
    if (s->units == NULL || s->line_found || i < s->skip) {
        return;
    }
    if (i + 1 >= s->end) {
        s->skip = s->end;
        return;
    }
    Py_ssize_t size;
    s->line_found = escape_found(s, i, &size);
    s->skip = i + size;
}

static int
memchr_pass(Pass *s, Py_ssize_t p)
{
    /* Two memchr streams, merged: the next newline and the next backslash. */
    const unsigned char *buf = s->buf, *q;
    Py_ssize_t end = s->end;
    Py_ssize_t next_nl = (q = memchr(buf + p, '\n', (size_t)(end - p))) ? q - buf : end;
    Py_ssize_t next_bs = end;
    if (s->units != NULL) {
        next_bs = (q = memchr(buf + p, '\\', (size_t)(end - p))) ? q - buf : end;
    }
    while (next_nl < end || next_bs < end) {
        if (next_nl < next_bs) {
            if (on_newline(s, next_nl) < 0) {
                return -1;
            }
            p = next_nl + 1;
            next_nl = (p < end && (q = memchr(buf + p, '\n', (size_t)(end - p)))) ? q - buf : end;
        }
        else {
            on_backslash(s, next_bs);
            p = next_bs + 1;
            next_bs = (p < end && (q = memchr(buf + p, '\\', (size_t)(end - p)))) ? q - buf : end;
        }
    }
    if (s->line_found) {
        return ints_add(s->escapes, s->line_start) < 0 || ints_add(s->escapes, end) < 0 ? -1 : 0;
    }
    return 0;
}

#ifdef HAVE_SSE2
/* -- only what matters, found by compares of 16 or 32 bytes ---------------------------------
 *
 * Events are a newline followed by anything but "{" (an odd line may start there) and a
 * backslash followed by "u" or a byte of ``short`` (an escape searched for may start there):
 * the other backslashes ("\n", "\"" all over a traceback) and lines cost nothing. Whether such a
 * backslash starts an escape is told by the backslashes just before it (an odd number: it is
 * the second byte of "\\"), which is what reading escapes from left to right decides: no
 * backslash is part of "\uXXXX" but its first, and a run of them cannot cross a newline. */

static int
on_line_event(Pass *s, Py_ssize_t i)
{
    return i + 1 < s->end ? line_begins(s, i + 1) : 0;
}

static int
on_escape_event(Pass *s, Py_ssize_t i)
{
    if (i < s->skip) {
        return 0; /* in a line found already */
    }
    const unsigned char *b = s->buf;
    Py_ssize_t k = i;
    while (k > s->start && b[k - 1] == '\\') {
        k--;
    }
    Py_ssize_t size;
    if ((i - k) & 1 || !escape_found(s, i, &size)) {
        return 0;
    }
    Py_ssize_t line_start = line_start_of(b, s->start, i);
    const unsigned char *nl = memchr(b + i, '\n', (size_t)(s->end - i));
    Py_ssize_t line_stop = nl == NULL ? s->end : nl - b;
    s->skip = line_stop;
    return ints_add(s->escapes, line_start) < 0 || ints_add(s->escapes, line_stop) < 0 ? -1 : 0;
}

static int
on_events(Pass *s, Py_ssize_t p, unsigned int m)
{
    while (m) {
        Py_ssize_t i = p + __builtin_ctz(m);
        m &= m - 1;
        if ((s->buf[i] == '\n' ? on_line_event(s, i) : on_escape_event(s, i)) < 0) {
            return -1;
        }
    }
    return 0;
}

#ifdef HAVE_AVX2_TARGET
/* The 16-byte loop below, 32 bytes at a time; where it stopped (or -1 on an error). */
__attribute__((target("avx2"))) static Py_ssize_t
avx2_loop(Pass *s, Py_ssize_t p)
{
    const unsigned char *buf = s->buf;
    const __m256i newline = _mm256_set1_epi8('\n'), brace = _mm256_set1_epi8('{');
    const __m256i backslash = _mm256_set1_epi8('\\'), u = _mm256_set1_epi8('u');
    const __m256i short0 = _mm256_set1_epi8((char)(s->n_shorts > 0 ? s->shorts[0] : 'u'));
    const __m256i short1 = _mm256_set1_epi8((char)(s->n_shorts > 1 ? s->shorts[1] : 'u'));
    const int lines = s->odd != NULL, escapes = s->units != NULL;
    while (p + 33 <= s->end) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(buf + p));
        __m256i after = _mm256_loadu_si256((const __m256i *)(buf + p + 1));
        __m256i hits = _mm256_setzero_si256();
        if (lines) {
            hits = _mm256_andnot_si256(_mm256_cmpeq_epi8(after, brace), _mm256_cmpeq_epi8(v, newline));
        }
        if (escapes) {
            __m256i wanted = _mm256_or_si256(
                _mm256_cmpeq_epi8(after, u),
                _mm256_or_si256(_mm256_cmpeq_epi8(after, short0), _mm256_cmpeq_epi8(after, short1)));
            hits = _mm256_or_si256(hits, _mm256_and_si256(_mm256_cmpeq_epi8(v, backslash), wanted));
        }
        unsigned int m = (unsigned int)_mm256_movemask_epi8(hits);
        if (m && on_events(s, p, m) < 0) {
            return -1;
        }
        p += 32;
    }
    return p;
}
#endif

static int
simd_pass(Pass *s, Py_ssize_t p)
{
    const unsigned char *buf = s->buf;
    Py_ssize_t end = s->end;
#ifdef HAVE_AVX2_TARGET
    if (cpu_has_avx2 && (p = avx2_loop(s, p)) < 0) {
        return -1;
    }
#endif
    const __m128i newline = _mm_set1_epi8('\n'), brace = _mm_set1_epi8('{');
    const __m128i backslash = _mm_set1_epi8('\\'), u = _mm_set1_epi8('u');
    const __m128i short0 = _mm_set1_epi8((char)(s->n_shorts > 0 ? s->shorts[0] : 'u'));
    const __m128i short1 = _mm_set1_epi8((char)(s->n_shorts > 1 ? s->shorts[1] : 'u'));
    const int lines = s->odd != NULL, escapes = s->units != NULL;
    while (p + 17 <= end) {
        __m128i v = _mm_loadu_si128((const __m128i *)(buf + p));
        __m128i after = _mm_loadu_si128((const __m128i *)(buf + p + 1));
        __m128i hits = _mm_setzero_si128();
        if (lines) {
            hits = _mm_andnot_si128(_mm_cmpeq_epi8(after, brace), _mm_cmpeq_epi8(v, newline));
        }
        if (escapes) {
            __m128i wanted = _mm_or_si128(
                _mm_cmpeq_epi8(after, u), _mm_or_si128(_mm_cmpeq_epi8(after, short0), _mm_cmpeq_epi8(after, short1)));
            hits = _mm_or_si128(hits, _mm_and_si128(_mm_cmpeq_epi8(v, backslash), wanted));
        }
        unsigned int m = (unsigned int)_mm_movemask_epi8(hits);
        if (m && on_events(s, p, m) < 0) {
            return -1;
        }
        p += 16;
    }
    for (; p < end; p++) { /* the last bytes, one at a time */
        unsigned char c = buf[p];
        int rc = 0;
        if (c == '\n') {
            rc = lines && p + 1 < end && buf[p + 1] != '{' ? on_line_event(s, p) : 0;
        }
        else if (c == '\\' && escapes && p + 1 < end &&
                 (buf[p + 1] == 'u' || (s->n_shorts > 0 && memchr(s->shorts, buf[p + 1], s->n_shorts) != NULL))) {
            rc = on_escape_event(s, p);
        }
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}
#endif

static int
run_pass(Pass *s)
{
    if (s->start < s->end && line_begins(s, s->start) < 0) {
        return -1;
    }
    s->line_start = s->skip = s->start;
    s->line_found = 0;
#ifdef HAVE_SSE2
    if (s->n_shorts <= 2) {
        return simd_pass(s, s->start);
    }
#endif
    return memchr_pass(s, s->start);
}

/* The shared body of escape_lines, odd_lines and marks. */
static PyObject *
scan(PyObject *const *args, int want_escapes, int want_odd)
{
    Pass s = {0};
    if (want_escapes && get_escapes(args, &s.units, &s.shorts, &s.n_shorts) < 0) {
        return NULL;
    }
    Py_buffer view;
    Py_ssize_t start, end;
    if (get_buffer(args, &view, &start, &end) < 0) {
        return NULL;
    }
    s.buf = (const unsigned char *)view.buf;
    s.start = start;
    s.end = end;
    Ints escapes = {0}, odd = {0};
    s.escapes = want_escapes ? &escapes : NULL;
    s.odd = want_odd ? &odd : NULL;
    int failed;
    Py_BEGIN_ALLOW_THREADS
    failed = run_pass(&s) < 0;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    PyObject *found_escapes = want_escapes ? ints_list(&escapes, failed) : NULL;
    PyObject *found_odd = want_odd ? ints_list(&odd, failed) : NULL;
    if ((want_escapes && found_escapes == NULL) || (want_odd && found_odd == NULL)) {
        Py_XDECREF(found_escapes);
        Py_XDECREF(found_odd);
        return NULL;
    }
    if (want_escapes && want_odd) {
        PyObject *result = PyTuple_Pack(2, found_escapes, found_odd);
        Py_DECREF(found_escapes);
        Py_DECREF(found_odd);
        return result;
    }
    return want_escapes ? found_escapes : found_odd;
}

static PyObject *
escape_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "escape_lines(buf, start, end, units, short) takes 5 arguments");
        return NULL;
    }
    return scan(args, 1, 0);
}

static PyObject *
odd_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "odd_lines(buf, start, end) takes 3 arguments");
        return NULL;
    }
    return scan(args, 0, 1);
}

static PyObject *
marks(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "marks(buf, start, end, units, short) takes 5 arguments");
        return NULL;
    }
    return scan(args, 1, 1);
}

/* ---- decide: a query's verdict on a line without parsing it into Python objects ----------- */

#define DECIDE_PARSE 2 /* not decided here: the caller parses the line (it may not be JSON) */
#define DECIDE_MAX_TERMS 16
#define DECIDE_MAX_KEYS 8
#define DECIDE_MAX_DEPTH 64
#define DECIDE_MAX_NAMES 64

enum { T_PRESENT, T_EQ, T_NE, T_GT, T_GE, T_LT, T_LE };

typedef struct {
    const char *key[DECIDE_MAX_KEYS];
    Py_ssize_t key_len[DECIDE_MAX_KEYS];
    int n_keys;
    int kind;
    const char *value;
    Py_ssize_t value_len;
    int numeric; /* the value of = or != is written as a JSON number */
    double bound;
    /* a comparison on ``level``: the level names (upper case) and their numbers */
    const char *name[DECIDE_MAX_NAMES];
    Py_ssize_t name_len[DECIDE_MAX_NAMES];
    double name_value[DECIDE_MAX_NAMES];
    int n_names;
    /* per line: where the last value of each key starts and ends (-1: not found) */
    Py_ssize_t at[DECIDE_MAX_KEYS], stop[DECIDE_MAX_KEYS];
} Term;

typedef struct {
    const unsigned char *s;
    Py_ssize_t n, i;
} Reader;

/* 1 for the bytes a JSON string holds as they are and that need no further look */
static unsigned char plain_string_byte[256];

static void
init_plain_string_bytes(void)
{
    for (int c = 0x20; c < 0x80; c++) {
        plain_string_byte[c] = c != '"' && c != '\\';
    }
}

static inline void
skip_space(Reader *r)
{
    while (r->i < r->n) {
        unsigned char c = r->s[r->i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
            return;
        }
        r->i++;
    }
}

/* The length of the UTF-8 sequence starting at s[i] (a byte >= 0x80), 0 when it is not one
 * that a strict decoder takes (overlong forms, surrogates, beyond U+10FFFF, cut short). */
static Py_ssize_t
utf8_length(const unsigned char *s, Py_ssize_t i, Py_ssize_t n)
{
    unsigned char c = s[i];
    unsigned char lo = 0x80, hi = 0xBF;
    Py_ssize_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) {
            lo = 0xA0;
        } else if (c == 0xED) {
            hi = 0x9F;
        }
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) {
            lo = 0x90;
        } else if (c == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) {
        return 0;
    }
    for (Py_ssize_t k = 2; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            return 0;
        }
    }
    return len;
}

/* A string from its opening quote: 1 and r->i after the closing quote, with *escaped set when
 * it holds an escape; 0 when it is not one orjson reads the same way (a control byte, bad
 * UTF-8, a bad escape, an escaped surrogate). */
static int
read_string(Reader *r, int *escaped)
{
    const unsigned char *s = r->s;
    Py_ssize_t i = r->i + 1, n = r->n;
    *escaped = 0;
#ifdef HAVE_SSE2
    /* 16 bytes at a time while none is a quote, a backslash, a control byte or beyond ASCII
     * (the last two: below 0x20 as signed bytes) */
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
#endif
    while (i < n) {
#ifdef HAVE_SSE2
        while (i + 16 <= n) {
            __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
            __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, backslash)),
                                       _mm_cmplt_epi8(x, space));
            int bits = _mm_movemask_epi8(hit);
            if (bits) {
                i += __builtin_ctz((unsigned int)bits);
                break;
            }
            i += 16;
        }
        if (i >= n) {
            break;
        }
#endif
        unsigned char c = s[i];
        if (plain_string_byte[c]) {
            i++;
            continue;
        }
        if (c == '"') {
            r->i = i + 1;
            return 1;
        }
        if (c == '\\') {
            if (i + 1 >= n) {
                return 0;
            }
            unsigned char e = s[i + 1];
            *escaped = 1;
            if (e == 'u') {
                if (i + 6 > n) {
                    return 0;
                }
                int unit = 0;
                for (int k = 2; k < 6; k++) {
                    int h = hex_value(s[i + k]);
                    if (h < 0) {
                        return 0;
                    }
                    unit = unit * 16 + h;
                }
                if (unit >= 0xD800 && unit <= 0xDFFF) {
                    return 0; /* pairs are valid, but left to the parser */
                }
                i += 6;
            } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
                       e == 't') {
                i += 2;
            } else {
                return 0;
            }
            continue;
        }
        if (c < 0x20) {
            return 0;
        }
        Py_ssize_t len = utf8_length(s, i, n);
        if (len == 0) {
            return 0;
        }
        i += len;
    }
    return 0;
}

/* A JSON number: 1 and r->i after it, *is_int when it has no fraction nor exponent. 0 too for
 * a number that may be beyond a double's range, which orjson refuses (digits before the point
 * plus the exponent over 300: a margin below 1.8e308). */
static int
read_number(Reader *r, int *is_int)
{
    const unsigned char *s = r->s;
    Py_ssize_t i = r->i, n = r->n, digits = 0, exponent = 0;
    int negative_exponent = 0;
    *is_int = 1;
    if (i < n && s[i] == '-') {
        i++;
    }
    if (i >= n || !is_digit(s[i])) {
        return 0;
    }
    if (s[i] == '0') {
        i++;
    } else {
        while (i < n && is_digit(s[i])) {
            i++;
            digits++;
        }
    }
    if (i < n && s[i] == '.') {
        *is_int = 0;
        i++;
        if (i >= n || !is_digit(s[i])) {
            return 0;
        }
        while (i < n && is_digit(s[i])) {
            i++;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *is_int = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-')) {
            negative_exponent = s[i] == '-';
            i++;
        }
        if (i >= n || !is_digit(s[i])) {
            return 0;
        }
        while (i < n && is_digit(s[i])) {
            if (exponent < 100000) {
                exponent = exponent * 10 + (s[i] - '0');
            }
            i++;
        }
    }
    if (digits + (negative_exponent ? 0 : exponent) > 300) {
        return 0;
    }
    r->i = i;
    return 1;
}

static int read_value(Reader *r, int depth);

/* An object or array from its opening bracket; keys of an object are not looked at. */
static int
read_container(Reader *r, int depth)
{
    if (depth > DECIDE_MAX_DEPTH) {
        return 0;
    }
    int object = r->s[r->i] == '{';
    unsigned char close = object ? '}' : ']';
    int escaped;
    r->i++;
    skip_space(r);
    if (r->i < r->n && r->s[r->i] == close) {
        r->i++;
        return 1;
    }
    for (;;) {
        if (object) {
            if (r->i >= r->n || r->s[r->i] != '"' || !read_string(r, &escaped)) {
                return 0;
            }
            skip_space(r);
            if (r->i >= r->n || r->s[r->i] != ':') {
                return 0;
            }
            r->i++;
            skip_space(r);
        }
        if (!read_value(r, depth + 1)) {
            return 0;
        }
        skip_space(r);
        if (r->i >= r->n) {
            return 0;
        }
        if (r->s[r->i] == close) {
            r->i++;
            return 1;
        }
        if (r->s[r->i] != ',') {
            return 0;
        }
        r->i++;
        skip_space(r);
    }
}

static int
read_word(Reader *r, const char *word, Py_ssize_t len)
{
    if (r->n - r->i < len || memcmp(r->s + r->i, word, (size_t)len) != 0) {
        return 0;
    }
    r->i += len;
    return 1;
}

/* Any JSON value at r->i (after white space), r->i then after it. */
static int
read_value(Reader *r, int depth)
{
    if (r->i >= r->n) {
        return 0;
    }
    int escaped, is_int;
    switch (r->s[r->i]) {
    case '"':
        return read_string(r, &escaped);
    case '{':
    case '[':
        return read_container(r, depth);
    case 't':
        return read_word(r, "true", 4);
    case 'f':
        return read_word(r, "false", 5);
    case 'n':
        return read_word(r, "null", 4);
    default:
        return read_number(r, &is_int);
    }
}

/* A number token as orjson reads it, as a double: 1 when that is certain (an integer of at most
 * 15 digits, or a finite float of at most 40 bytes that is not an underflow), else 0. */
static int
number_value(const unsigned char *s, Py_ssize_t len, double *out)
{
    char text[48];
    int digits = 0, nonzero = 0, is_int = 1;
    if (len <= 0 || len > 40) {
        return 0;
    }
    for (Py_ssize_t k = 0; k < len; k++) {
        if (is_digit(s[k])) {
            digits++;
            nonzero |= s[k] != '0';
        } else if (s[k] != '-') {
            is_int = 0;
            if (s[k] == 'e' || s[k] == 'E') {
                break; /* the exponent's digits are not the number's */
            }
        }
    }
    if (is_int && digits > 15) {
        return 0;
    }
    memcpy(text, s, (size_t)len);
    text[len] = '\0';
    char *end;
    double v = PyOS_string_to_double(text, &end, NULL);
    if (v == -1.0 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (end != text + len || !isfinite(v) || (v == 0.0 && nonzero)) {
        return 0;
    }
    *out = v;
    return 1;
}

/* One term on the value at s[at:stop] (found), or on no value (at < 0): 1, 0, or DECIDE_PARSE. */
static int
term_verdict(const Term *t, const unsigned char *s, Py_ssize_t at, Py_ssize_t stop)
{
    if (at < 0) {
        return t->kind == T_NE;
    }
    Py_ssize_t len = stop - at;
    unsigned char c = s[at];
    if (t->kind == T_PRESENT) {
        return 1;
    }
    if (t->kind == T_EQ || t->kind == T_NE) {
        int equal;
        if (c == '"') {
            if (memchr(s + at + 1, '\\', (size_t)(len - 2)) != NULL) {
                return DECIDE_PARSE;
            }
            equal = len - 2 == t->value_len && memcmp(s + at + 1, t->value, (size_t)t->value_len) == 0;
        } else if (c == 't' || c == 'f' || c == 'n') {
            equal = len == t->value_len && memcmp(s + at, t->value, (size_t)len) == 0;
        } else if (c == '{' || c == '[') {
            equal = 0;
        } else if (t->numeric) {
            return DECIDE_PARSE; /* numbers compared as numbers: left to Python */
        } else {
            equal = 0;
        }
        return t->kind == T_EQ ? equal : !equal;
    }
    /* a comparison: numbers compare; text is a level name of the term's (any case), text
     * written as a number (left to Python), or no number: the term fails; anything else fails */
    double v;
    if (c == '"') {
        const unsigned char *text = s + at + 1;
        Py_ssize_t n = len - 2, k;
        for (k = 0; k < n && text[k] < 0x80 && text[k] != '\\'; k++) {
        }
        if (k < n) {
            return DECIDE_PARSE; /* an escape, or a byte str.upper() may make a name of */
        }
        int named = 0;
        for (int j = 0; j < t->n_names && !named; j++) {
            if (t->name_len[j] != n) {
                continue;
            }
            for (k = 0; k < n && (text[k] >= 'a' && text[k] <= 'z' ? text[k] - 32 : text[k]) == (unsigned char)t->name[j][k];
                 k++) {
            }
            if (k == n) {
                v = t->name_value[j];
                named = 1;
            }
        }
        if (!named) {
            return n > 0 && (text[0] == '-' || is_digit(text[0])) ? DECIDE_PARSE : 0;
        }
    } else if (c != '-' && !is_digit(c)) {
        return 0;
    } else if (!number_value(s + at, len, &v)) {
        return DECIDE_PARSE;
    }
    switch (t->kind) {
    case T_GT:
        return v > t->bound;
    case T_GE:
        return v >= t->bound;
    case T_LT:
        return v < t->bound;
    default:
        return v <= t->bound;
    }
}

/* The verdict of all terms on one line (a JSON object's text, with nothing after it but white
 * space): 1 all hold, 0 one fails, DECIDE_PARSE when only the parser can tell. */
static int
line_verdict(Term *terms, int n_terms, const unsigned char *s, Py_ssize_t n)
{
    Reader r = {s, n, 0};
    for (int t = 0; t < n_terms; t++) {
        for (int k = 0; k < terms[t].n_keys; k++) {
            terms[t].at[k] = -1;
        }
    }
    skip_space(&r);
    if (r.i >= n || s[r.i] != '{') {
        return DECIDE_PARSE;
    }
    r.i++;
    skip_space(&r);
    if (r.i < n && s[r.i] == '}') {
        r.i++;
    } else {
        for (;;) {
            if (r.i >= n || s[r.i] != '"') {
                return DECIDE_PARSE;
            }
            Py_ssize_t key_at = r.i + 1;
            int escaped;
            if (!read_string(&r, &escaped) || escaped) {
                return DECIDE_PARSE; /* an escaped key may spell a name searched for */
            }
            Py_ssize_t key_len = r.i - 1 - key_at;
            skip_space(&r);
            if (r.i >= n || s[r.i] != ':') {
                return DECIDE_PARSE;
            }
            r.i++;
            skip_space(&r);
            Py_ssize_t at = r.i;
            if (!read_value(&r, 1)) {
                return DECIDE_PARSE;
            }
            for (int t = 0; t < n_terms; t++) {
                for (int k = 0; k < terms[t].n_keys; k++) {
                    if (terms[t].key_len[k] == key_len && memcmp(terms[t].key[k], s + key_at, (size_t)key_len) == 0) {
                        terms[t].at[k] = at; /* the last of equal keys wins, as in the parsed dict */
                        terms[t].stop[k] = r.i;
                    }
                }
            }
            skip_space(&r);
            if (r.i >= n) {
                return DECIDE_PARSE;
            }
            if (s[r.i] == '}') {
                r.i++;
                break;
            }
            if (s[r.i] != ',') {
                return DECIDE_PARSE;
            }
            r.i++;
            skip_space(&r);
        }
    }
    skip_space(&r);
    if (r.i != n) {
        return DECIDE_PARSE;
    }
    int verdict = 1;
    for (int t = 0; t < n_terms; t++) {
        Py_ssize_t at = -1, stop = -1;
        for (int k = 0; k < terms[t].n_keys; k++) {
            if (terms[t].at[k] >= 0) {
                at = terms[t].at[k];
                stop = terms[t].stop[k];
                break;
            }
        }
        int v = term_verdict(&terms[t], s, at, stop);
        if (v == 0) {
            return 0;
        }
        if (v == DECIDE_PARSE) {
            verdict = DECIDE_PARSE;
        }
    }
    return verdict;
}

static int
get_terms(PyObject *plan, Term *terms, int *n_terms)
{
    if (!PyTuple_Check(plan) || PyTuple_GET_SIZE(plan) > DECIDE_MAX_TERMS) {
        PyErr_SetString(PyExc_TypeError, "decide: the plan is a tuple of at most 16 terms");
        return -1;
    }
    *n_terms = (int)PyTuple_GET_SIZE(plan);
    for (int t = 0; t < *n_terms; t++) {
        PyObject *item = PyTuple_GET_ITEM(plan, t);
        PyObject *keys, *value, *names;
        int kind, numeric;
        double bound;
        if (!PyTuple_Check(item) || !PyArg_ParseTuple(item, "O!iO!pdO!", &PyTuple_Type, &keys, &kind, &PyBytes_Type,
                                                      &value, &numeric, &bound, &PyTuple_Type, &names)) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_TypeError, "decide: a term is (keys, kind, value, numeric, bound, names)");
            }
            return -1;
        }
        Py_ssize_t n_names = PyTuple_GET_SIZE(names);
        if (n_names > DECIDE_MAX_NAMES) {
            PyErr_SetString(PyExc_ValueError, "decide: a term has at most 64 level names");
            return -1;
        }
        for (Py_ssize_t j = 0; j < n_names; j++) {
            PyObject *pair = PyTuple_GET_ITEM(names, j), *name;
            double number;
            if (!PyTuple_Check(pair) || !PyArg_ParseTuple(pair, "O!d", &PyBytes_Type, &name, &number)) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_TypeError, "decide: a level name is (bytes, number)");
                }
                return -1;
            }
            terms[t].name[j] = PyBytes_AS_STRING(name);
            terms[t].name_len[j] = PyBytes_GET_SIZE(name);
            terms[t].name_value[j] = number;
        }
        terms[t].n_names = (int)n_names;
        Py_ssize_t n_keys = PyTuple_GET_SIZE(keys);
        if (n_keys < 1 || n_keys > DECIDE_MAX_KEYS || kind < T_PRESENT || kind > T_LE) {
            PyErr_SetString(PyExc_ValueError, "decide: a term has 1 to 8 keys and a kind from 0 to 6");
            return -1;
        }
        Term *term = &terms[t];
        term->n_keys = (int)n_keys;
        for (Py_ssize_t k = 0; k < n_keys; k++) {
            PyObject *key = PyTuple_GET_ITEM(keys, k);
            if (!PyBytes_Check(key)) {
                PyErr_SetString(PyExc_TypeError, "decide: keys are bytes");
                return -1;
            }
            term->key[k] = PyBytes_AS_STRING(key);
            term->key_len[k] = PyBytes_GET_SIZE(key);
        }
        term->kind = kind;
        term->value = PyBytes_AS_STRING(value);
        term->value_len = PyBytes_GET_SIZE(value);
        term->numeric = numeric;
        term->bound = bound;
    }
    return 0;
}

static PyObject *
decide(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyList_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "decide(texts, plan) takes a list of bytes and a plan");
        return NULL;
    }
    Term terms[DECIDE_MAX_TERMS];
    int n_terms;
    if (get_terms(args[1], terms, &n_terms) < 0) {
        return NULL;
    }
    PyObject *texts = args[0];
    Ints found = {NULL, 0, 0}, parse = {NULL, 0, 0};
    int failed = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(texts) && !failed; i++) {
        PyObject *text = PyList_GET_ITEM(texts, i);
        int v = PyBytes_Check(text) ? line_verdict(terms, n_terms, (const unsigned char *)PyBytes_AS_STRING(text),
                                                   PyBytes_GET_SIZE(text))
                                    : DECIDE_PARSE;
        if (v == 1) {
            failed = ints_add(&found, i) < 0;
        } else if (v == DECIDE_PARSE) {
            failed = ints_add(&parse, i) < 0;
        }
    }
    PyObject *a = ints_list(&found, failed);
    PyObject *b = ints_list(&parse, failed);
    if (a == NULL || b == NULL) {
        Py_XDECREF(a);
        Py_XDECREF(b);
        return NULL;
    }
    return Py_BuildValue("(NN)", a, b);
}

static PyMethodDef speedups_methods[] = {
    {"lines_with", (PyCFunction)(void (*)(void))lines_with, METH_FASTCALL,
     "lines_with(buf, start, end, needle) -> list[int]: [start, stop, ...] of the lines holding needle"},
    {"escape_lines", (PyCFunction)(void (*)(void))escape_lines, METH_FASTCALL,
     "escape_lines(buf, start, end, units, short) -> list[int]: [start, stop, ...] of the lines holding a "
     "JSON escape of the characters searched for"},
    {"odd_lines", (PyCFunction)(void (*)(void))odd_lines, METH_FASTCALL,
     "odd_lines(buf, start, end) -> list[int]: the starts of the lines that are not blank and do not start "
     "with '{' after an svlogd prefix"},
    {"level_lines", (PyCFunction)(void (*)(void))level_lines, METH_FASTCALL,
     "level_lines(buf, start, end, ints, names) -> list[int]: [start, stop, ...] of the lines whose level "
     "may pass"},
    {"bodies_at", (PyCFunction)(void (*)(void))bodies_at, METH_FASTCALL,
     "bodies_at(buf, spans) -> list[bytes]: the lines at spans, each without its svlogd prefix"},
    {"bodies", (PyCFunction)bodies, METH_O,
     "bodies(lines) -> list[bytes]: each line without its svlogd prefix, as strip_prefix takes it off"},
    {"marks", (PyCFunction)(void (*)(void))marks, METH_FASTCALL,
     "marks(buf, start, end, units, short) -> (list[int], list[int]): escape_lines and odd_lines in one pass"},
    {"decide", (PyCFunction)(void (*)(void))decide, METH_FASTCALL,
     "decide(texts, plan) -> (list[int], list[int]): the lines that match, and those only a parser can judge"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    "logmagic.tools.chainsaw._speedups",
    "gelf-chainsaw's byte scans in C (optional: logmagic.tools.chainsaw.bytescan falls back to Python).",
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
#ifdef HAVE_AVX2_TARGET
    __builtin_cpu_init();
    cpu_has_avx2 = __builtin_cpu_supports("avx2");
#endif
    init_plain_string_bytes();
    return PyModule_Create(&speedups_module);
}
