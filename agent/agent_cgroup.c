/* cgroup v2 files; see agent_cgroup.h. */
#define _GNU_SOURCE /* strerrorname_np */
#include "agent_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ---- */

static const struct
{
    unsigned bit;
    const char *name;
} ctrl_names[] = {
    {AGENT_CG_CPU, "cpu"},       {AGENT_CG_MEMORY, "memory"},
    {AGENT_CG_IO, "io"},         {AGENT_CG_PIDS, "pids"},
    {AGENT_CG_CPUSET, "cpuset"}, {AGENT_CG_HUGETLB, "hugetlb"},
    {AGENT_CG_RDMA, "rdma"},     {AGENT_CG_MISC, "misc"},
};
#define CTRL_COUNT (sizeof(ctrl_names) / sizeof(ctrl_names[0]))

const char *agent_cgroup_ctrl_name(unsigned ctrl)
{
    for (size_t i = 0; i < CTRL_COUNT; i++) {
        if (ctrl_names[i].bit == ctrl) {
            return ctrl_names[i].name;
        }
    }
    return "?";
}

/* Record errno @err doing @what on @path and return its qm_err. */
static int fail(char errmsg[QM_ERRMSG_SIZE],
                int err,
                const char *what,
                const char *path)
{
    const char *name = strerrorname_np(err);
    snprintf(errmsg, QM_ERRMSG_SIZE, "%s %s %s", name ? name : "E?", what,
             path);
    switch (err) {
        case ENOENT:
        case EACCES:
        case EROFS:
            return QM_UNAVAILABLE;
        case ESRCH:
            return QM_NOT_FOUND;
        default:
            return QM_EIO;
    }
}

/* @dir/@file into @out; QM_EFULL when it does not fit. */
static int join(char *out,
                size_t size,
                const char *dir,
                const char *file,
                char errmsg[QM_ERRMSG_SIZE])
{
    int n = snprintf(out, size, "%s/%s", dir, file);
    if (n < 0 || (size_t)n >= size) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "path %.64s.../%.32s too long", dir,
                 file);
        return QM_EFULL;
    }
    return QM_OK;
}

/* Read @path into @buf (@size bytes, NUL-terminated), without trailing
 * whitespace. */
static int read_small(const char *path,
                      char *buf,
                      size_t size,
                      char errmsg[QM_ERRMSG_SIZE])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(errmsg, errno, "opening", path);
    }
    size_t len = 0;
    int rv = QM_OK;
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rv = fail(errmsg, errno, "reading", path);
            break;
        }
        len += (size_t)n;
        if (n == 0) {
            break;
        }
        if (len == size - 1) {
            char extra;
            if (read(fd, &extra, 1) > 0) {
                snprintf(errmsg, QM_ERRMSG_SIZE, "%s longer than %zu bytes",
                         path, size - 1);
                rv = QM_EFULL;
            }
            break;
        }
    }
    close(fd);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' ||
                       buf[len - 1] == '\t')) {
        len--;
    }
    buf[len] = '\0';
    return rv;
}

/* Write all of @value to @path opened with @flags (O_WRONLY | ...). */
static int write_all(const char *path,
                     int flags,
                     const char *value,
                     char errmsg[QM_ERRMSG_SIZE])
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0) {
        return fail(errmsg, errno, "opening", path);
    }
    size_t len = strlen(value);
    size_t off = 0;
    int rv = QM_OK;
    while (off < len) {
        ssize_t n = write(fd, value + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            char what[64];
            int shown = (int)strcspn(value, "\n");
            snprintf(what, sizeof(what), "writing '%.*s' to",
                     shown < 40 ? shown : 40, value);
            rv = fail(errmsg, n < 0 ? errno : EIO, what, path);
            break;
        }
        off += (size_t)n;
    }
    if (close(fd) != 0 && rv == QM_OK) {
        rv = fail(errmsg, errno, "closing", path);
    }
    return rv;
}

/* The mask of the controller names in @list (space separated); a leading
 * '+' as some kernels show is tolerated. */
static unsigned parse_ctrls(const char *list)
{
    unsigned mask = 0;
    const char *p = list;
    while (*p != '\0') {
        p += strspn(p, " \t\n+");
        size_t len = strcspn(p, " \t\n");
        for (size_t i = 0; len > 0 && i < CTRL_COUNT; i++) {
            if (strlen(ctrl_names[i].name) == len &&
                memcmp(ctrl_names[i].name, p, len) == 0) {
                mask |= ctrl_names[i].bit;
            }
        }
        p += len;
    }
    return mask;
}

static int read_ctrls(const char *dir,
                      const char *file,
                      unsigned *mask,
                      char errmsg[QM_ERRMSG_SIZE])
{
    char path[AGENT_CGROUP_PATH_MAX];
    char buf[AGENT_CGROUP_VALUE_MAX];
    int rv = join(path, sizeof(path), dir, file, errmsg);
    if (rv == QM_OK) {
        rv = read_small(path, buf, sizeof(buf), errmsg);
    }
    if (rv == QM_OK) {
        *mask = parse_ctrls(buf);
    }
    return rv;
}

/* ---- the mount ---- */

/* Decode mountinfo's octal escapes (\040) of @s in place. */
static void unescape(char *s)
{
    char *w = s;
    for (char *r = s; *r != '\0'; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' &&
            r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* The mount point of @line when its filesystem type is cgroup2, or NULL.
 * Fields: id parent maj:min root mountpoint options [optional...] - type
 * source superoptions (proc(5)). Modifies @line. */
static char *cgroup2_mount_point(char *line)
{
    char *save = NULL;
    char *mnt = NULL;
    int field = 0;
    bool sep = false;
    for (char *tok = strtok_r(line, " \n", &save); tok != NULL;
         tok = strtok_r(NULL, " \n", &save)) {
        field++;
        if (field == 5) {
            mnt = tok;
        } else if (field > 6 && !sep && strcmp(tok, "-") == 0) {
            sep = true;
        } else if (sep) {
            return strcmp(tok, "cgroup2") == 0 ? mnt : NULL;
        }
    }
    return NULL;
}

int agent_cgroup_find_mount(const char *mountinfo, char *out, size_t size)
{
    FILE *f = fopen(mountinfo, "re");
    if (f == NULL) {
        return QM_EIO;
    }
    char line[4096];
    int rv = QM_NOT_FOUND;
    bool whole = true; /* the previous fgets ended its line */
    while (rv == QM_NOT_FOUND && fgets(line, sizeof(line), f) != NULL) {
        bool was_whole = whole;
        whole = strchr(line, '\n') != NULL || feof(f);
        if (!was_whole || !whole) {
            continue; /* a piece of an overlong line: skip it all */
        }
        char *mnt = cgroup2_mount_point(line);
        if (mnt == NULL) {
            continue;
        }
        unescape(mnt);
        int n = snprintf(out, size, "%s", mnt);
        rv = n < 0 || (size_t)n >= size ? QM_EFULL : QM_OK;
    }
    if (rv == QM_NOT_FOUND && ferror(f)) {
        rv = QM_EIO;
    }
    fclose(f);
    return rv;
}

/* ---- controllers ---- */

int agent_cgroup_controllers(const char *dir,
                             unsigned *mask,
                             char errmsg[QM_ERRMSG_SIZE])
{
    return read_ctrls(dir, "cgroup.controllers", mask, errmsg);
}

int agent_cgroup_subtree(const char *dir,
                         unsigned *mask,
                         char errmsg[QM_ERRMSG_SIZE])
{
    return read_ctrls(dir, "cgroup.subtree_control", mask, errmsg);
}

int agent_cgroup_enable(const char *dir,
                        unsigned mask,
                        char errmsg[QM_ERRMSG_SIZE])
{
    unsigned have, enabled;
    int rv = agent_cgroup_controllers(dir, &have, errmsg);
    if (rv == QM_OK) {
        rv = agent_cgroup_subtree(dir, &enabled, errmsg);
    }
    if (rv != QM_OK) {
        return rv;
    }
    unsigned want = mask & have & ~enabled;
    if (want == 0) {
        return QM_OK;
    }
    char line[AGENT_CGROUP_VALUE_MAX] = "";
    size_t len = 0;
    for (size_t i = 0; i < CTRL_COUNT; i++) {
        if (want & ctrl_names[i].bit) {
            int n = snprintf(line + len, sizeof(line) - len, "%s+%s",
                             len > 0 ? " " : "", ctrl_names[i].name);
            len += (size_t)n; /* at most 8 short names: always fits */
        }
    }
    char path[AGENT_CGROUP_PATH_MAX];
    rv = join(path, sizeof(path), dir, "cgroup.subtree_control", errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    return write_all(path, O_WRONLY | O_TRUNC, line, errmsg);
}

/* ---- cgroups ---- */

bool agent_cgroup_name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 64 || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        return false;
    }
    return strspn(name,
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789._-") == len;
}

static int make_dir(const char *path, char errmsg[QM_ERRMSG_SIZE])
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return fail(errmsg, errno, "creating", path);
    }
    return QM_OK;
}

int agent_cgroup_create(const char *root,
                        const char *slice,
                        const char *service,
                        unsigned ctrls,
                        char *dir,
                        size_t size,
                        char errmsg[QM_ERRMSG_SIZE])
{
    char slice_dir[AGENT_CGROUP_PATH_MAX];
    char svc_dir[AGENT_CGROUP_PATH_MAX];
    char ignored[QM_ERRMSG_SIZE];
    slice = slice != NULL ? slice : AGENT_CGROUP_SLICE;
    if (!agent_cgroup_name_valid(slice) || !agent_cgroup_name_valid(service)) {
        snprintf(errmsg, QM_ERRMSG_SIZE,
                 "cgroup name '%.64s/%.64s' is not 1..64 of [A-Za-z0-9._-]",
                 slice, service);
        return QM_INVALID;
    }
    int rv = join(slice_dir, sizeof(slice_dir), root, slice, errmsg);
    if (rv == QM_OK) {
        rv = join(svc_dir, sizeof(svc_dir), slice_dir, service, errmsg);
    }
    if (rv == QM_OK && (size_t)snprintf(dir, size, "%s", svc_dir) >= size) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "cgroup path %.64s... too long",
                 svc_dir);
        rv = QM_EFULL;
    }
    if (rv != QM_OK) {
        return rv;
    }
    /* A controller that cannot be enabled shows as missing in the new
     * cgroup's cgroup.controllers; the caller reports it from there. */
    (void)agent_cgroup_enable(root, ctrls, ignored);
    rv = make_dir(slice_dir, errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    (void)agent_cgroup_enable(slice_dir, ctrls, ignored);
    return make_dir(svc_dir, errmsg);
}

/* Add the pid being parsed (*cur) to @pids when the line it was on ended. */
static void procs_emit(pid_t *pids,
                       size_t cap,
                       size_t *n,
                       long *cur,
                       bool *over)
{
    if (*cur > 0) {
        if (*n < cap) {
            pids[(*n)++] = (pid_t)*cur;
        } else {
            *over = true;
        }
    }
    *cur = 0;
}

int agent_cgroup_procs(const char *dir,
                       pid_t *pids,
                       size_t cap,
                       size_t *n,
                       char errmsg[QM_ERRMSG_SIZE])
{
    char path[AGENT_CGROUP_PATH_MAX];
    int rv = join(path, sizeof(path), dir, "cgroup.procs", errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail(errmsg, errno, "opening", path);
    }
    size_t count = 0;
    long cur = 0;
    bool over = false;
    char buf[4096];
    ssize_t got;
    while ((got = read(fd, buf, sizeof(buf))) != 0) {
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            rv = fail(errmsg, errno, "reading", path);
            break;
        }
        for (ssize_t i = 0; i < got; i++) {
            if (buf[i] >= '0' && buf[i] <= '9' && cur < 100000000L) {
                cur = cur * 10 + (buf[i] - '0');
            } else if (buf[i] == '\n') {
                procs_emit(pids, cap, &count, &cur, &over);
            }
        }
    }
    close(fd);
    procs_emit(pids, cap, &count, &cur, &over);
    if (rv == QM_OK && over) {
        snprintf(errmsg, QM_ERRMSG_SIZE, "%s lists more than %zu processes",
                 path, cap);
        rv = QM_EFULL;
    }
    *n = count;
    return rv;
}

int agent_cgroup_move(const char *dir, pid_t pid, char errmsg[QM_ERRMSG_SIZE])
{
    char path[AGENT_CGROUP_PATH_MAX];
    char line[24];
    int rv = join(path, sizeof(path), dir, "cgroup.procs", errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    snprintf(line, sizeof(line), "%d\n", (int)pid);
    /* Appending keeps a fake tree's cgroup.procs a list, as the kernel's. */
    return write_all(path, O_WRONLY | O_APPEND, line, errmsg);
}

int agent_cgroup_write(const char *dir,
                       const char *file,
                       const char *value,
                       char errmsg[QM_ERRMSG_SIZE])
{
    char path[AGENT_CGROUP_PATH_MAX];
    int rv = join(path, sizeof(path), dir, file, errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    return write_all(path, O_WRONLY | O_TRUNC, value, errmsg);
}

int agent_cgroup_read(const char *dir,
                      const char *file,
                      char *buf,
                      size_t size,
                      char errmsg[QM_ERRMSG_SIZE])
{
    char path[AGENT_CGROUP_PATH_MAX];
    if (size == 0) {
        return QM_EFULL;
    }
    buf[0] = '\0';
    int rv = join(path, sizeof(path), dir, file, errmsg);
    if (rv != QM_OK) {
        return rv;
    }
    return read_small(path, buf, size, errmsg);
}
