/* Unit tests of agent/agent_cgroup: the cgroup2 mount from mountinfo, the
 * controller lists, creating a service cgroup, cgroup.procs and the limit
 * files, against fake trees of ordinary files in a temporary folder, and
 * the mount of this very host. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "agent_cgroup.h"
#include "qm_err.h"
#include "th_cmocka.h"
#include "th_tmpdir.h"

#define CGROUP2_MAGIC 0x63677270 /* linux/magic.h CGROUP2_SUPER_MAGIC */
#define PATH_LEN TH_PATH_MAX

/* ---- Fixture ---- */

struct fx
{
    char dir[PATH_LEN];
    char errmsg[QM_ERRMSG_SIZE];
};

static int setup(void **state)
{
    struct fx *f = test_calloc(1, sizeof(*f));
    th_tmpdir_make(f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    th_tmpdir_remove(f->dir);
    test_free(f);
    return 0;
}

/* ---- Helpers ---- */

/* @f->dir/@rel as a path. */
static const char *at(struct fx *f, const char *rel, char path[PATH_LEN])
{
    snprintf(path, PATH_LEN, "%s/%s", f->dir, rel);
    return path;
}

/* Make the folder @rel, or the file @rel with @text when @text is set. */
static void make(struct fx *f, const char *rel, const char *text)
{
    char path[PATH_LEN];
    if (text == NULL) {
        assert_int_equal(mkdir(at(f, rel, path), 0755), 0);
        return;
    }
    FILE *fp = fopen(at(f, rel, path), "w");
    assert_non_null(fp);
    assert_int_equal(fputs(text, fp) >= 0, 1);
    assert_int_equal(fclose(fp), 0);
}

/* The content of the file @rel, whole. */
static const char *content(struct fx *f, const char *rel, char buf[512])
{
    char path[PATH_LEN];
    FILE *fp = fopen(at(f, rel, path), "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, 511, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static bool exists(struct fx *f, const char *rel)
{
    char path[PATH_LEN];
    struct stat st;
    return stat(at(f, rel, path), &st) == 0;
}

/* ---- Assertions ---- */

static void assert_mount(struct fx *f,
                         const char *mountinfo,
                         int rv,
                         const char *want)
{
    char path[PATH_LEN];
    char out[AGENT_CGROUP_PATH_MAX] = "";
    make(f, "mountinfo", mountinfo);
    assert_int_equal(
        agent_cgroup_find_mount(at(f, "mountinfo", path), out, sizeof(out)),
        rv);
    if (want != NULL) {
        assert_string_equal(out, want);
    }
}

static void assert_ctrls(struct fx *f, const char *list, unsigned want)
{
    unsigned mask = 0xdead;
    make(f, "cgroup.controllers", list);
    assert_int_equal(agent_cgroup_controllers(f->dir, &mask, f->errmsg), QM_OK);
    assert_int_equal(mask, want);
}

/* ---- Cases: the mount ---- */

/* The lines of this very (hybrid) host: v1 hierarchies and cgroup2. */
static const char hybrid[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,mem\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

static void test_agent_cgroup_finds_the_unified_mount_of_a_hybrid_host(
    void **state)
{
    assert_mount(*state, hybrid, QM_OK, "/sys/fs/cgroup/unified");
}

static void test_agent_cgroup_finds_the_mount_of_a_unified_host(void **state)
{
    assert_mount(*state,
                 "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
                 "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 master:2 - "
                 "cgroup2 cgroup2 rw,nsdelegate\n",
                 QM_OK, "/sys/fs/cgroup");
}

static void test_agent_cgroup_mount_point_escapes_are_decoded(void **state)
{
    assert_mount(*state, "9 1 0:5 / /run/my\\040cg\\134x rw - cgroup2 c rw\n",
                 QM_OK, "/run/my cg\\x");
}

static void test_agent_cgroup_mount_skips_malformed_and_overlong_lines(
    void **state)
{
    static char text[8192];
    char longline[6000];
    memset(longline, 'o', sizeof(longline));
    static const char head[] = "1 1 0:1 / /long rw - cgroup2 x rw,";
    memcpy(longline, head, strlen(head));
    longline[sizeof(longline) - 2] = '\n';
    longline[sizeof(longline) - 1] = '\0';
    snprintf(text, sizeof(text),
             "garbage\n"
             "1 2 0:3 / /short - cgroup2\n"    /* "-" where options are */
             "1 2 0:3 / /nosep rw cgroup2 x\n" /* no separator */
             "%s"
             "7 1 0:9 / /good rw - cgroup2 cgroup2 rw\n",
             longline);
    assert_mount(*state, text, QM_OK, "/good");
}

static void test_agent_cgroup_mount_not_found_without_cgroup2(void **state)
{
    assert_mount(*state,
                 "32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw\n",
                 QM_NOT_FOUND, NULL);
}

static void test_agent_cgroup_mount_reports_short_buffer_and_missing_file(
    void **state)
{
    struct fx *f = *state;
    char path[PATH_LEN];
    char out[8];
    make(f, "mountinfo", hybrid);
    assert_int_equal(
        agent_cgroup_find_mount(at(f, "mountinfo", path), out, sizeof(out)),
        QM_EFULL);
    assert_int_equal(
        agent_cgroup_find_mount(at(f, "nothing", path), out, sizeof(out)),
        QM_EIO);
}

/* On this host: a found mount really is a cgroup2 filesystem; when none
 * is found, mountinfo really has no cgroup2 line. */
static void test_agent_cgroup_mount_of_this_host_is_cgroup2(void **state)
{
    (void)state;
    char out[AGENT_CGROUP_PATH_MAX];
    int rv = agent_cgroup_find_mount(AGENT_CGROUP_MOUNTINFO, out, sizeof(out));
    if (rv == QM_OK) {
        struct statfs sf;
        assert_int_equal(statfs(out, &sf), 0);
        assert_int_equal((unsigned long)sf.f_type, CGROUP2_MAGIC);
        return;
    }
    assert_int_equal(rv, QM_NOT_FOUND);
    char buf[65536];
    FILE *fp = fopen(AGENT_CGROUP_MOUNTINFO, "r");
    assert_non_null(fp);
    buf[fread(buf, 1, sizeof(buf) - 1, fp)] = '\0';
    fclose(fp);
    assert_null(strstr(buf, " - cgroup2 "));
}

/* ---- Cases: controllers ---- */

static void test_agent_cgroup_controllers_parse_into_a_mask(void **state)
{
    assert_ctrls(*state, "cpuset cpu io memory hugetlb pids rdma misc\n",
                 0xffu);
    assert_ctrls(*state, "hugetlb\n", AGENT_CG_HUGETLB);
    assert_ctrls(*state, "", 0);
    assert_ctrls(*state, "cpuacct memory.x cpu\n", AGENT_CG_CPU);
    assert_string_equal(agent_cgroup_ctrl_name(AGENT_CG_MEMORY), "memory");
    assert_string_equal(agent_cgroup_ctrl_name(3), "?");
}

static void test_agent_cgroup_missing_controller_file_is_unavailable(
    void **state)
{
    struct fx *f = *state;
    unsigned mask = 7;
    assert_int_equal(agent_cgroup_subtree(f->dir, &mask, f->errmsg),
                     QM_UNAVAILABLE);
    assert_int_equal(mask, 7);
    assert_int_equal(strncmp(f->errmsg, "ENOENT opening ", 15), 0);
}

static void test_agent_cgroup_enable_writes_only_what_is_missing(void **state)
{
    struct fx *f = *state;
    char buf[512];
    make(f, "cgroup.controllers", "cpu io memory\n");
    make(f, "cgroup.subtree_control", "io\n");
    assert_int_equal(
        agent_cgroup_enable(
            f->dir, AGENT_CG_CPU | AGENT_CG_MEMORY | AGENT_CG_PIDS, f->errmsg),
        QM_OK);
    assert_string_equal(content(f, "cgroup.subtree_control", buf),
                        "+cpu +memory");
    /* Already enabled: no write at all. */
    make(f, "cgroup.subtree_control", "cpu memory\n");
    assert_int_equal(
        agent_cgroup_enable(f->dir, AGENT_CG_CPU | AGENT_CG_MEMORY, f->errmsg),
        QM_OK);
    assert_string_equal(content(f, "cgroup.subtree_control", buf),
                        "cpu memory\n");
}

/* ---- Cases: creating a cgroup ---- */

static void test_agent_cgroup_create_enables_controllers_on_the_way(
    void **state)
{
    struct fx *f = *state;
    char buf[512], want[PATH_LEN], dir[AGENT_CGROUP_PATH_MAX];
    make(f, "cgroup.controllers", "cpu memory\n");
    make(f, "cgroup.subtree_control", "");
    make(f, "qm.slice", NULL);
    make(f, "qm.slice/cgroup.controllers", "cpu memory\n");
    make(f, "qm.slice/cgroup.subtree_control", "");
    assert_int_equal(agent_cgroup_create(f->dir, NULL, "svc-1", AGENT_CG_CPU,
                                         dir, sizeof(dir), f->errmsg),
                     QM_OK);
    assert_string_equal(dir, at(f, "qm.slice/svc-1", want));
    assert_true(exists(f, "qm.slice/svc-1"));
    assert_string_equal(content(f, "cgroup.subtree_control", buf), "+cpu");
    assert_string_equal(content(f, "qm.slice/cgroup.subtree_control", buf),
                        "+cpu");
    /* Again: it exists, nothing changes. */
    assert_int_equal(agent_cgroup_create(f->dir, NULL, "svc-1", AGENT_CG_CPU,
                                         dir, sizeof(dir), f->errmsg),
                     QM_OK);
}

static void test_agent_cgroup_create_refuses_bad_names(void **state)
{
    struct fx *f = *state;
    static const char *const bad[] = {
        "",
        ".",
        "..",
        "a/b",
        "svc name",
        "svc\n",
        "x123456789x123456789x123456789x123456789x123456789x123456789xxxxx",
    };
    char dir[AGENT_CGROUP_PATH_MAX];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_cgroup_create(f->dir, NULL, bad[i], 0, dir,
                                             sizeof(dir), f->errmsg),
                         QM_INVALID);
        assert_int_equal(agent_cgroup_create(f->dir, bad[i], "svc", 0, dir,
                                             sizeof(dir), f->errmsg),
                         QM_INVALID);
    }
    assert_false(exists(f, "qm.slice"));
    assert_true(agent_cgroup_name_valid("a.b_C-9"));
}

static void test_agent_cgroup_create_under_a_missing_root_is_unavailable(
    void **state)
{
    struct fx *f = *state;
    char root[PATH_LEN], dir[AGENT_CGROUP_PATH_MAX];
    assert_int_equal(agent_cgroup_create(at(f, "none", root), "s", "svc", 0,
                                         dir, sizeof(dir), f->errmsg),
                     QM_UNAVAILABLE);
    assert_int_equal(strncmp(f->errmsg, "ENOENT creating ", 16), 0);
}

/* ---- Cases: cgroup.procs ---- */

static void test_agent_cgroup_procs_reads_every_pid_up_to_cap(void **state)
{
    struct fx *f = *state;
    pid_t pids[4];
    size_t n = 99;
    make(f, "cgroup.procs", "12\n345\nx\n6\n7");
    assert_int_equal(agent_cgroup_procs(f->dir, pids, 4, &n, f->errmsg), QM_OK);
    assert_int_equal(n, 4);
    assert_int_equal(pids[0], 12);
    assert_int_equal(pids[1], 345);
    assert_int_equal(pids[2], 6);
    assert_int_equal(pids[3], 7);
    assert_int_equal(agent_cgroup_procs(f->dir, pids, 2, &n, f->errmsg),
                     QM_EFULL);
    assert_int_equal(n, 2);
}

static void test_agent_cgroup_move_appends_the_pid(void **state)
{
    struct fx *f = *state;
    char buf[512];
    make(f, "cgroup.procs", "");
    assert_int_equal(agent_cgroup_move(f->dir, 42, f->errmsg), QM_OK);
    assert_int_equal(agent_cgroup_move(f->dir, 43, f->errmsg), QM_OK);
    assert_string_equal(content(f, "cgroup.procs", buf), "42\n43\n");
    make(f, "sub", NULL);
    char sub[PATH_LEN];
    assert_int_equal(agent_cgroup_move(at(f, "sub", sub), 42, f->errmsg),
                     QM_UNAVAILABLE);
}

/* ---- Cases: limit files ---- */

static void test_agent_cgroup_write_replaces_and_read_trims(void **state)
{
    struct fx *f = *state;
    char buf[512], val[AGENT_CGROUP_VALUE_MAX];
    make(f, "cpu.max", "max 100000\n");
    assert_int_equal(
        agent_cgroup_read(f->dir, "cpu.max", val, sizeof(val), f->errmsg),
        QM_OK);
    assert_string_equal(val, "max 100000");
    assert_int_equal(
        agent_cgroup_write(f->dir, "cpu.max", "50000 100000", f->errmsg),
        QM_OK);
    assert_string_equal(content(f, "cpu.max", buf), "50000 100000");
    assert_int_equal(agent_cgroup_read(f->dir, "cpu.max", val, 6, f->errmsg),
                     QM_EFULL);
}

static void test_agent_cgroup_write_to_a_missing_file_is_unavailable(
    void **state)
{
    struct fx *f = *state;
    assert_int_equal(agent_cgroup_write(f->dir, "memory.max", "max", f->errmsg),
                     QM_UNAVAILABLE);
    assert_false(exists(f, "memory.max"));
    assert_non_null(strstr(f->errmsg, "ENOENT opening "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_agent_cgroup_finds_the_unified_mount_of_a_hybrid_host),
        T(test_agent_cgroup_finds_the_mount_of_a_unified_host),
        T(test_agent_cgroup_mount_point_escapes_are_decoded),
        T(test_agent_cgroup_mount_skips_malformed_and_overlong_lines),
        T(test_agent_cgroup_mount_not_found_without_cgroup2),
        T(test_agent_cgroup_mount_reports_short_buffer_and_missing_file),
        T(test_agent_cgroup_mount_of_this_host_is_cgroup2),
        T(test_agent_cgroup_controllers_parse_into_a_mask),
        T(test_agent_cgroup_missing_controller_file_is_unavailable),
        T(test_agent_cgroup_enable_writes_only_what_is_missing),
        T(test_agent_cgroup_create_enables_controllers_on_the_way),
        T(test_agent_cgroup_create_refuses_bad_names),
        T(test_agent_cgroup_create_under_a_missing_root_is_unavailable),
        T(test_agent_cgroup_procs_reads_every_pid_up_to_cap),
        T(test_agent_cgroup_move_appends_the_pid),
        T(test_agent_cgroup_write_replaces_and_read_trims),
        T(test_agent_cgroup_write_to_a_missing_file_is_unavailable),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
