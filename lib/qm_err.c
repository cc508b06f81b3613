#include "qm_err.h"

#include <stddef.h>

struct err_entry
{
    int code;
    const char *name;
    const char *text;
};

static const struct err_entry table[] = {
#define QM__ERR_ROW(name, value, text) {value, #name, text},
    QM_ERRORS(QM__ERR_ROW)
#undef QM__ERR_ROW
};

static const struct err_entry *find(int err)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].code == err) {
            return &table[i];
        }
    }
    return NULL;
}

const char *qm_strerror(int err)
{
    const struct err_entry *e = find(err);
    return e != NULL ? e->text : "unknown error";
}

const char *qm_errname(int err)
{
    const struct err_entry *e = find(err);
    if (e == NULL) {
        return "UNKNOWN";
    }
    /* Skip the "QM_" prefix. */
    return e->name + 3;
}

bool qm_is_status(int err)
{
    return err >= QM_OK && err <= QM_INTERNAL;
}
