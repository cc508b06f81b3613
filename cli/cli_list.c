/* Lists that page through every item: the loop every list command shares,
 * printing one JSON array (or a table) as the pages arrive. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void begin(struct cli *c, const struct cli_list *l, void *ctx)
{
    if (l->begin != NULL) {
        l->begin(c, ctx);
    } else if (c->json) {
        cj_arr(&c->j);
    } else if (l->header != NULL) {
        l->header();
    }
}

static void end(struct cli *c, const struct cli_list *l, void *ctx, unsigned n)
{
    if (l->end != NULL) {
        l->end(c, ctx, n);
    } else if (c->json) {
        cj_arr_end(&c->j);
        cj_done(&c->j);
    } else if (n == 0 && l->empty != NULL) {
        printf("%s\n", l->empty);
    }
}

static int run(struct cli *c,
               const struct cli_list *l,
               void *page,
               const void *arg)
{
    unsigned total = 0;
    bool more = true, begun = false;
    while (more) {
        unsigned n = 0;
        struct qm_result res;
        int rv = l->fetch(c, page, arg, &n, &more, &res);
        if (rv != QM_OK) {
            /* Keep what was printed a whole document. */
            if (begun) {
                end(c, l, page, total);
            }
            return cli_fail(c, rv, &res, "%s", l->what);
        }
        if (!begun) {
            begin(c, l, page);
            begun = true;
        }
        for (unsigned i = 0; i < n; i++) {
            l->item(c, page, i);
        }
        total += n;
        if (n == 0) {
            break;
        }
    }
    end(c, l, page, total);
    return CLI_OK;
}

int cli_list_run(struct cli *c,
                 const struct cli_list *l,
                 void *page,
                 const void *arg)
{
    if (page != NULL) {
        return run(c, l, page, arg);
    }
    page = calloc(1, l->size);
    if (page == NULL) {
        fprintf(stderr, "qmctl: %s: out of memory\n", l->what);
        return CLI_ERROR;
    }
    int rv = run(c, l, page, arg);
    free(page);
    return rv;
}
