/* cgroup v2 files, read and written directly: find the cgroup2 mount, tell
 * which controllers a cgroup has and enables for its children, create a
 * service's cgroup, move processes into it and write or read its limit
 * files (cpu.weight, cpu.max, memory.high, memory.max).
 *
 * Every function takes the paths it works on (the mount, a cgroup folder),
 * so tests run against a fake tree of ordinary files in a temporary folder.
 * The module keeps no state; any thread may call it. Calls block on file
 * I/O, and a write to memory.max may block while the kernel reclaims.
 *
 * Errors: QM_UNAVAILABLE when a file or folder is missing or cannot be
 * written (ENOENT, EACCES, EROFS: the controller is not enabled there, or
 * the tree is not ours to change), QM_NOT_FOUND when a process to move no
 * longer exists, QM_INVALID for a bad name, QM_EFULL for a path that does
 * not fit, QM_EIO for any other failure. @errmsg then names the errno and
 * the path: "EBUSY writing '+cpu' to /sys/fs/cgroup/cgroup.subtree_control".
 */
#ifndef QM_AGENT_AGENT_CGROUP_H
#define QM_AGENT_AGENT_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "qm_err.h"

/* Bytes of a cgroup folder's path, NUL included. */
#define AGENT_CGROUP_PATH_MAX 512
/* Bytes of a value read from a cgroup file (values are short). */
#define AGENT_CGROUP_VALUE_MAX 256
/* The folder under the mount that holds the cgroups the agent creates. */
#define AGENT_CGROUP_SLICE "qm.slice"
#define AGENT_CGROUP_MOUNTINFO "/proc/self/mountinfo"

/* Controllers, as bits of a mask. */
#define AGENT_CG_CPU (1u << 0)
#define AGENT_CG_MEMORY (1u << 1)
#define AGENT_CG_IO (1u << 2)
#define AGENT_CG_PIDS (1u << 3)
#define AGENT_CG_CPUSET (1u << 4)
#define AGENT_CG_HUGETLB (1u << 5)
#define AGENT_CG_RDMA (1u << 6)
#define AGENT_CG_MISC (1u << 7)

/* The name of one controller bit ("cpu", "memory"); "?" otherwise. */
const char *agent_cgroup_ctrl_name(unsigned ctrl);

/* Find the cgroup2 mount in a mountinfo file (@mountinfo, normally
 * AGENT_CGROUP_MOUNTINFO): the mount point of the first line whose
 * filesystem type is "cgroup2" — /sys/fs/cgroup on a unified host,
 * /sys/fs/cgroup/unified on a hybrid one. Octal escapes (\040) are
 * decoded. Malformed lines are skipped. Writes the path to @out (@size
 * bytes) on success. Returns QM_OK, QM_NOT_FOUND (no cgroup2 mount),
 * QM_EFULL or QM_EIO (cannot read @mountinfo). */
int agent_cgroup_find_mount(const char *mountinfo, char *out, size_t size);

/* The controllers a cgroup folder @dir has (its cgroup.controllers: what
 * its parent enabled for it; at the mount, what the hierarchy has) and the
 * ones it enables for its children (cgroup.subtree_control), as masks.
 * Unknown names are ignored. Out-parameter written only on success. */
int agent_cgroup_controllers(const char *dir,
                             unsigned *mask,
                             char errmsg[QM_ERRMSG_SIZE]);
int agent_cgroup_subtree(const char *dir,
                         unsigned *mask,
                         char errmsg[QM_ERRMSG_SIZE]);

/* Enable for the children of @dir every controller of @mask that @dir has
 * and does not enable yet, in one write such as "+cpu +memory" to its
 * cgroup.subtree_control. Controllers @dir lacks are left out (the caller
 * learns it from agent_cgroup_controllers of the child). QM_OK when there
 * was nothing to do. */
int agent_cgroup_enable(const char *dir,
                        unsigned mask,
                        char errmsg[QM_ERRMSG_SIZE]);

/* True for a name the agent may give a cgroup folder: 1..64 bytes of
 * [A-Za-z0-9._-], not "." or "..". */
bool agent_cgroup_name_valid(const char *name);

/* Create (or find) the cgroup <root>/<slice>/<service> (@slice NULL means
 * AGENT_CGROUP_SLICE), enabling the controllers of @ctrls on the way, in
 * <root> and <root>/<slice>, as far as each level has them. A failure to
 * enable is not an error here: the new cgroup then lacks the controller,
 * which agent_cgroup_controllers tells. Writes the new folder's path to
 * @dir (@size bytes) on success. Returns QM_OK, QM_INVALID (@slice or
 * @service not a valid name), QM_EFULL, QM_UNAVAILABLE (the tree cannot
 * be written) or QM_EIO. */
int agent_cgroup_create(const char *root,
                        const char *slice,
                        const char *service,
                        unsigned ctrls,
                        char *dir,
                        size_t size,
                        char errmsg[QM_ERRMSG_SIZE]);

/* Read the processes of @dir (cgroup.procs) into @pids (room for @cap).
 * *n gets the number read. Returns QM_OK, or QM_EFULL when there were
 * more than @cap (then @pids holds the first @cap), or an error. */
int agent_cgroup_procs(const char *dir,
                       pid_t *pids,
                       size_t cap,
                       size_t *n,
                       char errmsg[QM_ERRMSG_SIZE]);

/* Move process @pid (all of its threads) into @dir by writing it to
 * cgroup.procs. QM_NOT_FOUND when the process is gone. */
int agent_cgroup_move(const char *dir, pid_t pid, char errmsg[QM_ERRMSG_SIZE]);

/* Write @value (such as "50000 100000" or "max", no newline) to the file
 * @file of @dir, replacing its content. The file must exist: a limit file
 * is there only when the parent enabled its controller (QM_UNAVAILABLE
 * otherwise). */
int agent_cgroup_write(const char *dir,
                       const char *file,
                       const char *value,
                       char errmsg[QM_ERRMSG_SIZE]);

/* Read the file @file of @dir into @buf (@size bytes), without trailing
 * whitespace. QM_EFULL when it does not fit. */
int agent_cgroup_read(const char *dir,
                      const char *file,
                      char *buf,
                      size_t size,
                      char errmsg[QM_ERRMSG_SIZE]);

#endif
