/* Temporary folders for tests: made with mkdtemp under /tmp, removed
 * recursively at teardown. Failures fail the running cmocka test. */
#ifndef QM_TESTS_UNIT_HELPERS_TH_TMPDIR_H
#define QM_TESTS_UNIT_HELPERS_TH_TMPDIR_H

#define TH_PATH_MAX 256

/* Create a new empty folder; its path goes to @path. */
void th_tmpdir_make(char path[TH_PATH_MAX]);

/* Remove @path and everything under it (symbolic links are not
 * followed). */
void th_tmpdir_remove(const char *path);

#endif
