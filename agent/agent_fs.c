/* The agent's readers of kernel files (agent_fs.h). getdents64(2) is a GNU
 * extension of glibc. */
#define _GNU_SOURCE

#include "agent_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

ssize_t agent__read_at(int dirfd, const char *path, char *buf, size_t size)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    size_t have = 0;
    while (have + 1 < size) {
        ssize_t r = read(fd, buf + have, size - 1 - have);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int err = errno;
            close(fd);
            errno = err;
            return -1;
        }
        if (r == 0) {
            break;
        }
        have += (size_t)r;
    }
    close(fd);
    buf[have] = '\0';
    return (ssize_t)have;
}

/* Pass each complete line of @buf[0..@end) to @fn. Returns where the
 * unfinished last line starts (or @end), or sets *@stop. */
static size_t split_lines(char *buf,
                          size_t from,
                          size_t end,
                          bool *skipping,
                          agent__line_fn fn,
                          void *arg,
                          int *stop)
{
    size_t start = 0;
    for (size_t i = from; i < end; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        if (!*skipping) {
            buf[i] = '\0';
            *stop = fn(arg, buf + start, i - start);
            if (*stop != 0) {
                return end;
            }
        }
        *skipping = false;
        start = i + 1;
    }
    return start;
}

int agent__each_line_at(int dirfd,
                        const char *path,
                        agent__line_fn fn,
                        void *arg)
{
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    char buf[8 * AGENT_LINE_MAX];
    size_t have = 0; /* bytes of an unfinished line at buf[0] */
    bool skipping = false;
    int rv = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rv = r < 0 ? -1 : 0;
            if (r == 0 && have > 0 && !skipping) {
                buf[have] = '\0';
                rv = fn(arg, buf, have);
            }
            break;
        }
        size_t end = have + (size_t)r;
        size_t start = split_lines(buf, have, end, &skipping, fn, arg, &rv);
        if (rv != 0) {
            break;
        }
        have = end - start;
        if (skipping || have >= AGENT_LINE_MAX) {
            skipping = true; /* drop the rest of an overlong line */
            have = 0;
        }
        memmove(buf, buf + start, have);
    }
    int err = errno;
    close(fd);
    errno = err;
    return rv;
}

int agent__dir_open_at(struct agent__dir *d, int dirfd, const char *path)
{
    d->fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    d->pos = 0;
    d->len = 0;
    return d->fd < 0 ? -1 : 0;
}

const char *agent__dir_next(struct agent__dir *d)
{
    for (;;) {
        if (d->pos >= d->len) {
            ssize_t r = getdents64(d->fd, d->buf, sizeof(d->buf));
            if (r <= 0) {
                if (r == 0) {
                    errno = 0;
                }
                return NULL;
            }
            d->len = (size_t)r;
            d->pos = 0;
        }
        /* Read the record through memcpy: no alignment assumptions. */
        unsigned short reclen;
        memcpy(&reclen, d->buf + d->pos + offsetof(struct dirent64, d_reclen),
               sizeof(reclen));
        const char *name = d->buf + d->pos + offsetof(struct dirent64, d_name);
        if (reclen == 0 || d->pos + reclen > d->len) {
            errno = EIO;
            return NULL;
        }
        d->pos += reclen;
        if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            return name;
        }
    }
}

void agent__dir_close(struct agent__dir *d)
{
    if (d->fd >= 0) {
        close(d->fd);
        d->fd = -1;
    }
}

int32_t agent__parse_pid(const char *name)
{
    int64_t v = 0;
    if (*name == '\0') {
        return -1;
    }
    for (const char *p = name; *p != '\0'; p++) {
        if (*p < '0' || *p > '9' || p - name >= 10) {
            return -1;
        }
        v = v * 10 + (*p - '0');
    }
    return v > 0 && v <= INT32_MAX ? (int32_t)v : -1;
}

bool agent__next_u64(const char **p, uint64_t *out)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s < '0' || *s > '9') {
        return false;
    }
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return false;
        }
        v = v * 10 + d;
    }
    *out = v;
    *p = s;
    return true;
}
