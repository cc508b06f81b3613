#include "harness_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define DEPTH_MAX 32

struct parser
{
    struct hj_doc *d;
    char *p;
    int depth;
};

static bool fail(struct parser *ps, const char *what)
{
    snprintf(ps->d->err, sizeof(ps->d->err), "%s at offset %ld", what,
             (long)(ps->p - ps->d->text));
    return false;
}

static void skip_ws(struct parser *ps)
{
    ps->p += strspn(ps->p, " \t\r\n");
}

static int new_val(struct parser *ps, enum hj_type type)
{
    struct hj_doc *d = ps->d;
    if (d->n == HJ_VALUES_MAX) {
        return -1;
    }
    struct hj_val *v = &d->v[d->n];
    memset(v, 0, sizeof(*v));
    v->type = type;
    v->first = -1;
    v->next = -1;
    return d->n++;
}

/* Append @code as UTF-8 at @w; returns the end. */
static char *put_utf8(char *w, unsigned code)
{
    if (code < 0x80) {
        *w++ = (char)code;
    } else if (code < 0x800) {
        *w++ = (char)(0xc0 | code >> 6);
        *w++ = (char)(0x80 | (code & 0x3f));
    } else {
        *w++ = (char)(0xe0 | code >> 12);
        *w++ = (char)(0x80 | (code >> 6 & 0x3f));
        *w++ = (char)(0x80 | (code & 0x3f));
    }
    return w;
}

/* A string at ps->p (after its quote), unescaped in place. */
static bool parse_str(struct parser *ps, const char **out)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    char *w = ps->p;
    *out = w;
    for (;;) {
        char ch = *ps->p++;
        if (ch == '\0') {
            return fail(ps, "unterminated string");
        }
        if (ch == '"') {
            *w = '\0';
            return true;
        }
        if (ch != '\\') {
            *w++ = ch;
            continue;
        }
        char e = *ps->p++;
        const char *k = e != '\0' ? strchr(from, e) : NULL;
        if (k != NULL) {
            *w++ = to[k - from];
        } else if (e == 'u' && strspn(ps->p, "0123456789abcdefABCDEF") >= 4) {
            char hex[5] = {ps->p[0], ps->p[1], ps->p[2], ps->p[3], '\0'};
            w = put_utf8(w, (unsigned)strtoul(hex, NULL, 16));
            ps->p += 4;
        } else {
            return fail(ps, "bad escape");
        }
    }
}

static bool parse_value(struct parser *ps, int *out);

/* The items of an array or the members of an object, after its bracket. */
static bool parse_items(struct parser *ps, int parent, char close)
{
    int last = -1;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return true;
    }
    for (;;) {
        const char *key = NULL;
        skip_ws(ps);
        if (close == '}') {
            if (*ps->p++ != '"' || !parse_str(ps, &key)) {
                return fail(ps, "expected a key");
            }
            skip_ws(ps);
            if (*ps->p++ != ':') {
                return fail(ps, "expected ':'");
            }
        }
        int item;
        if (!parse_value(ps, &item)) {
            return false;
        }
        ps->d->v[item].key = key;
        *(last < 0 ? &ps->d->v[parent].first : &ps->d->v[last].next) = item;
        last = item;
        ps->d->v[parent].len++;
        skip_ws(ps);
        char ch = *ps->p++;
        if (ch == close) {
            return true;
        }
        if (ch != ',') {
            return fail(ps, "expected ',' or a closing bracket");
        }
    }
}

/* true, false, null, or a number (kept as written). */
static bool parse_word(struct parser *ps, int i)
{
    struct hj_val *v = &ps->d->v[i];
    static const char *const words[] = {"true", "false", "null"};
    for (size_t k = 0; k < 3; k++) {
        size_t n = strlen(words[k]);
        if (strncmp(ps->p, words[k], n) == 0) {
            v->type = k == 2 ? HJ_NULL : HJ_BOOL;
            v->b = k == 0;
            ps->p += n;
            return true;
        }
    }
    size_t n = strspn(ps->p, "-+0123456789.eE");
    if (n == 0) {
        return fail(ps, "unexpected character");
    }
    v->type = HJ_NUM;
    v->text = ps->p;
    v->len = n;
    ps->p += n;
    return true;
}

static bool parse_value(struct parser *ps, int *out)
{
    skip_ws(ps);
    int i = new_val(ps, HJ_NULL);
    if (i < 0) {
        return fail(ps, "too many values");
    }
    *out = i;
    char ch = *ps->p;
    if (ch == '[' || ch == '{') {
        if (++ps->depth > DEPTH_MAX) {
            return fail(ps, "nested too deep");
        }
        ps->p++;
        ps->d->v[i].type = ch == '[' ? HJ_ARR : HJ_OBJ;
        bool ok = parse_items(ps, i, ch == '[' ? ']' : '}');
        ps->depth--;
        return ok;
    }
    if (ch == '"') {
        ps->p++;
        ps->d->v[i].type = HJ_STR;
        return parse_str(ps, &ps->d->v[i].text);
    }
    return parse_word(ps, i);
}

const struct hj_val *hj_parse(struct hj_doc *d, const char *s)
{
    size_t n = strlen(s);
    d->n = 0;
    d->err[0] = '\0';
    if (n >= sizeof(d->text)) {
        snprintf(d->err, sizeof(d->err), "document of %zu bytes", n);
        return NULL;
    }
    memcpy(d->text, s, n + 1);
    struct parser ps = {d, d->text, 0};
    int root;
    if (!parse_value(&ps, &root)) {
        return NULL;
    }
    skip_ws(&ps);
    if (*ps.p != '\0') {
        fail(&ps, "text after the document");
        return NULL;
    }
    return &d->v[root];
}

const struct hj_val *hj_item(const struct hj_doc *d,
                             const struct hj_val *v,
                             size_t i)
{
    if (v == NULL || (v->type != HJ_ARR && v->type != HJ_OBJ)) {
        return NULL;
    }
    int k = v->first;
    while (k >= 0 && i-- > 0) {
        k = d->v[k].next;
    }
    return k >= 0 ? &d->v[k] : NULL;
}

/* One step of a path: @seg (of @n bytes) below @v. */
static const struct hj_val *step(const struct hj_doc *d,
                                 const struct hj_val *v,
                                 const char *seg,
                                 size_t n)
{
    if (v->type == HJ_ARR) {
        char idx[24];
        snprintf(idx, sizeof(idx), "%.*s", (int)(n < 23 ? n : 23), seg);
        return strspn(idx, "0123456789") == n && n > 0
                   ? hj_item(d, v, strtoul(idx, NULL, 10))
                   : NULL;
    }
    for (size_t i = 0; v->type == HJ_OBJ && i < v->len; i++) {
        const struct hj_val *m = hj_item(d, v, i);
        if (strlen(m->key) == n && strncmp(m->key, seg, n) == 0) {
            return m;
        }
    }
    return NULL;
}

const struct hj_val *hj_at(const struct hj_doc *d,
                           const struct hj_val *v,
                           const char *path)
{
    for (const char *p = path; v != NULL && *p != '\0';) {
        size_t n = strcspn(p, ".");
        v = step(d, v, p, n);
        p += p[n] == '.' ? n + 1 : n;
    }
    return v;
}

const struct hj_val *hj_need(const struct hj_doc *d,
                             const struct hj_val *v,
                             const char *path,
                             enum hj_type type)
{
    const struct hj_val *x = hj_at(d, v, path);
    H_CHECK(x != NULL, "no '%s' in the document", path);
    H_CHECK(x->type == type, "'%s' has type %d, not %d", path, (int)x->type,
            (int)type);
    return x;
}

const char *hj_str(const struct hj_doc *d,
                   const struct hj_val *v,
                   const char *path)
{
    return hj_need(d, v, path, HJ_STR)->text;
}

int64_t hj_int(const struct hj_doc *d, const struct hj_val *v, const char *path)
{
    const struct hj_val *x = hj_need(d, v, path, HJ_NUM);
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)(x->len < 31 ? x->len : 31),
             x->text);
    char *end;
    long long n = strtoll(buf, &end, 10);
    H_CHECK(*end == '\0', "'%s' is %s, not a whole number", path, buf);
    return n;
}

bool hj_bool(const struct hj_doc *d, const struct hj_val *v, const char *path)
{
    return hj_need(d, v, path, HJ_BOOL)->b;
}

bool hj_num_is(const struct hj_doc *d,
               const struct hj_val *v,
               const char *path,
               const char *text)
{
    const struct hj_val *x = hj_need(d, v, path, HJ_NUM);
    return x->len == strlen(text) && strncmp(x->text, text, x->len) == 0;
}
