/* A small JSON reader for cluster tests that check what qmctl --json
 * prints: the whole document is parsed into a tree of values held by one
 * struct hj_doc (fixed room, no allocation), read by path. Numbers keep
 * their text, so that exact decimals ("12.5") compare as written.
 * Single-threaded. */
#ifndef QM_TESTS_INTEGRATION_HARNESS_JSON_H
#define QM_TESTS_INTEGRATION_HARNESS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HJ_VALUES_MAX 4096
#define HJ_TEXT_MAX 65536

enum hj_type { HJ_NULL = 1, HJ_BOOL, HJ_NUM, HJ_STR, HJ_ARR, HJ_OBJ };

struct hj_val
{
    enum hj_type type;
    const char *key;  /* within an object; NULL otherwise */
    const char *text; /* strings (unescaped) and numbers (as written) */
    bool b;
    int first, next; /* child and sibling indexes; -1 for none */
    size_t len;      /* items of an array or object */
};

struct hj_doc
{
    struct hj_val v[HJ_VALUES_MAX];
    int n;
    char text[HJ_TEXT_MAX]; /* a copy of the input, unescaped in place */
    char err[128];
};

/* Parse @s; the root value, or NULL with the reason in d->err. */
const struct hj_val *hj_parse(struct hj_doc *d, const char *s);

/* The value at @path below @v: keys and array indexes separated by dots
 * ("services.0.tcp.established"); NULL when there is none. */
const struct hj_val *hj_at(const struct hj_doc *d,
                           const struct hj_val *v,
                           const char *path);

/* The same, failing the test unless it is there with type @type. */
const struct hj_val *hj_need(const struct hj_doc *d,
                             const struct hj_val *v,
                             const char *path,
                             enum hj_type type);

/* Typed reads of hj_need: a string, a whole number, a bool. */
const char *hj_str(const struct hj_doc *d,
                   const struct hj_val *v,
                   const char *path);
int64_t hj_int(const struct hj_doc *d,
               const struct hj_val *v,
               const char *path);
bool hj_bool(const struct hj_doc *d, const struct hj_val *v, const char *path);

/* Whether the number at @path is written exactly as @text ("50.5"). */
bool hj_num_is(const struct hj_doc *d,
               const struct hj_val *v,
               const char *path,
               const char *text);

/* The @i-th child of an array or object (NULL past the end). */
const struct hj_val *hj_item(const struct hj_doc *d,
                             const struct hj_val *v,
                             size_t i);

#endif
