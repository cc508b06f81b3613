/* The agent's readers of kernel files (/proc, /sys, cgroup trees, or fake
 * trees of ordinary files in tests), shared by its collectors: a file into
 * a buffer, a file line by line, a directory's names, and the two number
 * parsers their text needs. Everything goes through open/read/getdents64
 * relative to a directory fd, into caller or stack buffers: nothing is
 * allocated. A file that vanishes or cannot be read is an ordinary
 * outcome, reported as -1 with errno. Internal to agent/ (agent__ names).
 * Thread-safe: no state but the caller's; an agent__dir is used by one
 * thread at a time. */
#ifndef QM_AGENT_AGENT_FS_H
#define QM_AGENT_AGENT_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest path the agent builds under its roots, with the NUL. */
#define AGENT_PATH_MAX 512
/* Longest line agent__each_line_at() passes on; longer ones are skipped. */
#define AGENT_LINE_MAX 1024

/* Read @path (relative to @dirfd, or absolute) into @buf: at most
 * @size - 1 bytes, then a NUL. Returns the length, or -1 with errno. */
ssize_t agent__read_at(int dirfd, const char *path, char *buf, size_t size);

/* Called with each line, NUL-terminated, newline removed. A nonzero
 * return stops the walk and is returned by agent__each_line_at(). */
typedef int (*agent__line_fn)(void *arg, char *line, size_t len);

/* Walk the lines of @path (any length; read in chunks through a stack
 * buffer). Lines over AGENT_LINE_MAX - 1 bytes are skipped. Returns 0, -1
 * with errno if @path cannot be opened or read, or @fn's stop value. */
int agent__each_line_at(int dirfd,
                        const char *path,
                        agent__line_fn fn,
                        void *arg);

/* Names of a directory, read with getdents64 into an embedded buffer. The
 * caller embeds it; open gives it its own fd, which close releases. */
struct agent__dir
{
    int fd;
    size_t pos;
    size_t len;
    _Alignas(8) char buf[4096];
};

/* Returns 0 or -1 with errno. */
int agent__dir_open_at(struct agent__dir *d, int dirfd, const char *path);
/* Next name other than "." and "..", valid until the next call; NULL at
 * the end or on an error. */
const char *agent__dir_next(struct agent__dir *d);
void agent__dir_close(struct agent__dir *d);

/* The pid named by @name ("1234"), or -1 if @name is not a positive
 * decimal number below 2^31. */
int32_t agent__parse_pid(const char *name);

/* Skip blanks at *@p, then parse a decimal number and move *@p past it.
 * False (and *@p unchanged) if there are no digits or it overflows. */
bool agent__next_u64(const char **p, uint64_t *out);

#endif
