#include "th_tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "th_cmocka.h"

void th_tmpdir_make(char path[TH_PATH_MAX])
{
    snprintf(path, TH_PATH_MAX, "/tmp/qm-unit-XXXXXX");
    assert_non_null(mkdtemp(path));
}

/* Remove @path; returns 0 or -1. */
static int remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        return unlink(path);
    }
    DIR *d = opendir(path);
    if (d == NULL) {
        return -1;
    }
    int rv = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }
        char sub[TH_PATH_MAX * 2];
        int n = snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(sub) || remove_tree(sub) != 0) {
            rv = -1;
        }
    }
    closedir(d);
    if (rmdir(path) != 0) {
        rv = -1;
    }
    return rv;
}

void th_tmpdir_remove(const char *path)
{
    /* Only ever remove what th_tmpdir_make made. */
    assert_int_equal(strncmp(path, "/tmp/qm-unit-", 13), 0);
    assert_int_equal(remove_tree(path), 0);
}
