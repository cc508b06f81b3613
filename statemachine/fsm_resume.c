/* Walks over a time index that resume where the last one stopped: see
 * fsm__resume_open in fsm_internal.h. */
#include <string.h>

#include "fsm_internal.h"
#include "qm_err.h"

int fsm__resume_open(struct fsm_ctx *c,
                     int db,
                     const char *name,
                     struct fsm_resume *w)
{
    uint8_t saved[16];
    MDB_val v;
    int rv = fsm__get(c, FSM_DB_META, name, strlen(name), &v);
    bool have = rv == QM_OK && v.mv_size == sizeof(saved);
    if (have) {
        memcpy(saved, v.mv_data, sizeof(saved));
    } else if (rv != QM_OK && rv != QM_NOT_FOUND) {
        return rv;
    }
    int rc = mdb_cursor_open(c->txn, c->f->dbi[db], &w->mc);
    if (rc != MDB_SUCCESS) {
        return fsm__err_from_mdb(rc);
    }
    w->k.mv_size = sizeof(saved);
    w->k.mv_data = saved;
    w->rc = have ? mdb_cursor_get(w->mc, &w->k, &w->v, MDB_SET_RANGE)
                 : mdb_cursor_get(w->mc, &w->k, &w->v, MDB_FIRST);
    if (w->rc == MDB_SUCCESS && have && w->k.mv_size == sizeof(saved) &&
        memcmp(w->k.mv_data, saved, sizeof(saved)) == 0) {
        fsm__resume_next(w);
    }
    if (w->rc != MDB_SUCCESS) {
        w->k.mv_size = 0; /* not left pointing at @saved */
        w->k.mv_data = NULL;
    }
    return QM_OK;
}

void fsm__resume_next(struct fsm_resume *w)
{
    w->rc = mdb_cursor_get(w->mc, &w->k, &w->v, MDB_NEXT);
}

int fsm__resume_save(struct fsm_ctx *c, const char *name, const uint8_t k[16])
{
    return fsm__put(c, FSM_DB_META, name, strlen(name), k, 16);
}
