#include "node_data.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int make_dir(const char *path, char err[QM_ERRMSG_SIZE])
{
    if (mkdir(path, 0750) != 0 && errno != EEXIST) {
        snprintf(err, QM_ERRMSG_SIZE, "cannot create %s: %s", path,
                 strerror(errno));
        return QM_EIO;
    }
    return QM_OK;
}

static bool exists(const char *dir, const char *name)
{
    char path[PATH_MAX + 32];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* The owner id: written on first use, checked on every start so a data
 * folder is never run as another node by mistake. */
static int check_owner(const char *dir, uint64_t id, char err[QM_ERRMSG_SIZE])
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/node-id", dir);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        unsigned long long owner = 0;
        int n = fscanf(f, "%llu", &owner);
        fclose(f);
        if (n != 1) {
            snprintf(err, QM_ERRMSG_SIZE, "%s is unreadable", path);
            return QM_ECONFIG;
        }
        if (owner != id) {
            snprintf(err, QM_ERRMSG_SIZE,
                     "%s belongs to node %llu, not %llu (use that id or "
                     "another --data-dir)",
                     dir, owner, (unsigned long long)id);
            return QM_ECONFIG;
        }
        return QM_OK;
    }
    f = fopen(path, "w");
    if (f == NULL || fprintf(f, "%llu\n", (unsigned long long)id) < 0 ||
        fclose(f) != 0) {
        snprintf(err, QM_ERRMSG_SIZE, "cannot write %s: %s", path,
                 strerror(errno));
        return QM_EIO;
    }
    return QM_OK;
}

int node_data_open(struct node_data *d,
                   const char *dir,
                   uint64_t id,
                   char err[QM_ERRMSG_SIZE])
{
    memset(d, 0, sizeof(*d));
    d->lock_fd = -1;
    if (strlen(dir) > PATH_MAX - 16) {
        snprintf(err, QM_ERRMSG_SIZE, "data dir path too long");
        return QM_ECONFIG;
    }
    int rv = make_dir(dir, err);
    if (rv != QM_OK) {
        return rv;
    }
    char lock[PATH_MAX + 8];
    snprintf(lock, sizeof(lock), "%s/LOCK", dir);
    d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (d->lock_fd < 0) {
        snprintf(err, QM_ERRMSG_SIZE, "cannot open %s: %s", lock,
                 strerror(errno));
        return QM_EIO;
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, QM_ERRMSG_SIZE,
                 "%s is in use by another qmd (lock %s held)", dir, lock);
        close(d->lock_fd);
        d->lock_fd = -1;
        return QM_EBUSY;
    }
    rv = check_owner(dir, id, err);
    snprintf(d->raft_dir, sizeof(d->raft_dir), "%s/raft", dir);
    snprintf(d->state_dir, sizeof(d->state_dir), "%s/state", dir);
    if (rv == QM_OK) {
        rv = make_dir(d->raft_dir, err);
    }
    if (rv != QM_OK) {
        node_data_close(d);
        return rv;
    }
    d->raft_has_state =
        exists(d->raft_dir, "metadata1") || exists(d->raft_dir, "metadata2");
    return QM_OK;
}

void node_data_close(struct node_data *d)
{
    if (d->lock_fd >= 0) {
        close(d->lock_fd);
        d->lock_fd = -1;
    }
}
