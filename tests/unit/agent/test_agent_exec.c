/* Unit tests of agent/agent_exec: splitting command strings without a
 * shell, and running real commands: exit codes, signals, the output tail,
 * the timeout that kills a whole process group, the SIGKILL after the
 * grace, and detached instances in sessions of their own.
 *
 * The test process is a child subreaper, so the grandchildren a command
 * leaves come back to it and it can tell they are gone by reaping them.
 * Waiting is on the command's descriptors (poll) with a deadline, never
 * a sleep; the timeout is driven by the injected clock. */
#define _GNU_SOURCE /* pidfd via syscall, PR_SET_CHILD_SUBREAPER */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_exec.h"
#include "qm_err.h"
#include "th_cmocka.h"
#include "th_tmpdir.h"

#define DEADLINE_MS 10000
#define EXTRA_MAX 4

/* ---- Fixture ---- */

struct fx
{
    struct agent_exec *e;
    pid_t extra[EXTRA_MAX]; /* other processes to kill and reap */
    size_t nextra;
    char errmsg[QM_ERRMSG_SIZE];
    struct agent_exec_result res;
};

static int setup(void **state)
{
    *state = test_calloc(1, sizeof(struct fx));
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    agent_exec_free(f->e);
    for (size_t i = 0; i < f->nextra; i++) {
        kill(f->extra[i], SIGKILL);
        waitpid(f->extra[i], NULL, 0);
    }
    test_free(f);
    return 0;
}

/* ---- Helpers ---- */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until one of the command's descriptors is ready, or @ms. */
static void wait_fds(struct agent_exec *e, int ms)
{
    int fds[2];
    struct pollfd p[2];
    int n = agent_exec_fds(e, fds);
    for (int i = 0; i < n; i++) {
        p[i].fd = fds[i];
        p[i].events = POLLIN;
    }
    poll(p, (nfds_t)n, ms);
}

static void start(struct fx *f,
                  const char *cmd,
                  int64_t timeout,
                  int64_t grace,
                  int64_t now)
{
    struct agent_exec_opts o = {.timeout_ms = timeout, .grace_ms = grace};
    assert_int_equal(agent_exec_start(cmd, &o, now, &f->e, f->errmsg), QM_OK);
}

/* Poll until the command ends; the clock is @now, or the real one when
 * @now < 0. */
static void run_to_end(struct fx *f, int64_t now)
{
    int64_t deadline = mono_ms() + DEADLINE_MS;
    int rv;
    while ((rv = agent_exec_poll(f->e, now >= 0 ? now : mono_ms(), &f->res)) ==
               QM_EBUSY &&
           mono_ms() < deadline) {
        wait_fds(f->e, 100);
    }
    assert_int_equal(rv, QM_OK);
}

/* Poll at @now until the output so far contains @text. */
static void wait_output(struct fx *f, int64_t now, const char *text)
{
    char tail[AGENT_EXEC_TAIL_MAX + 1];
    int64_t deadline = mono_ms() + DEADLINE_MS;
    for (;;) {
        assert_int_equal(agent_exec_poll(f->e, now, &f->res), QM_EBUSY);
        agent_exec_tail(f->e, tail, sizeof(tail));
        if (strstr(tail, text) != NULL) {
            return;
        }
        assert_true(mono_ms() < deadline);
        wait_fds(f->e, 100);
    }
}

/* The processes of process group @pgid, from /proc/PID/stat. */
static size_t group_members(pid_t pgid, pid_t *pids, size_t cap)
{
    size_t n = 0;
    DIR *d = opendir("/proc");
    assert_non_null(d);
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL && n < cap) {
        char path[64], buf[512];
        int pid = atoi(ent->d_name), pgrp = 0;
        snprintf(path, sizeof(path), "/proc/%s/stat", ent->d_name);
        FILE *fp = pid > 0 ? fopen(path, "r") : NULL;
        if (fp == NULL) {
            continue; /* not a process, or gone */
        }
        char *close_paren =
            fgets(buf, sizeof(buf), fp) != NULL ? strrchr(buf, ')') : NULL;
        fclose(fp);
        if (close_paren != NULL &&
            sscanf(close_paren + 1, " %*c %*d %d", &pgrp) == 1 &&
            pgrp == pgid) {
            pids[n++] = pid;
        }
    }
    closedir(d);
    return n;
}

/* The target of /proc/PID/fd/FD, or "" when there is no such fd. */
static const char *fd_target(pid_t pid, int fd)
{
    static char target[128];
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    return target;
}

/* Wait until @pid (a /bin/sleep) is blocked in its sleep: its loader and
 * start-up have closed whatever they opened. */
static void wait_asleep(pid_t pid)
{
    char path[64], buf[64];
    int64_t deadline = mono_ms() + DEADLINE_MS;
    snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
    for (;;) {
        int fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        buf[n > 0 ? n : 0] = '\0';
        long nr = strtol(buf, NULL, 10);
        if (nr == SYS_clock_nanosleep
#ifdef SYS_nanosleep
            || nr == SYS_nanosleep
#endif
        ) {
            return;
        }
        assert_true(mono_ms() < deadline);
        sched_yield();
    }
}

/* The number of open descriptors of @pid. */
static size_t fd_count(pid_t pid)
{
    size_t n = 0;
    for (int fd = 0; fd < 1024; fd++) {
        n += fd_target(pid, fd)[0] != '\0';
    }
    return n;
}

/* Wait for a detached instance to end (pidfd), then reap it. */
static void reap_detached(pid_t pid, int *code, int *sig)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    assert_true(pfd >= 0);
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, DEADLINE_MS), 1);
    close(pfd);
    assert_int_equal(agent_exec_reap(pid, code, sig), QM_OK);
}

/* ---- Assertions ---- */

static void assert_split(const char *cmd, int argc, const char *const *want)
{
    struct agent_argv av;
    char err[QM_ERRMSG_SIZE];
    assert_int_equal(agent_exec_split(cmd, &av, err), QM_OK);
    assert_int_equal(av.argc, argc);
    for (int i = 0; i < argc; i++) {
        assert_string_equal(av.argv[i], want[i]);
    }
    assert_null(av.argv[argc]);
}

static void assert_ended(struct fx *f, int code, int sig, bool timed_out)
{
    assert_int_equal(f->res.exit_code, code);
    assert_int_equal(f->res.signal, sig);
    assert_int_equal(f->res.timed_out, timed_out);
}

/* @pid was our child or grandchild: reap it and see it gone. */
static void assert_reaped_and_gone(pid_t pid)
{
    int st = 0;
    int64_t deadline = mono_ms() + DEADLINE_MS;
    pid_t r;
    while ((r = waitpid(pid, &st, WNOHANG)) == 0 && mono_ms() < deadline) {
        sched_yield();
    }
    assert_int_equal(r, pid);
    assert_true(WIFSIGNALED(st));
    assert_true(WTERMSIG(st) == SIGTERM || WTERMSIG(st) == SIGKILL);
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

/* ---- Cases: splitting ---- */

static void test_agent_exec_split_handles_quotes_and_escapes(void **state)
{
    (void)state;
    assert_split(
        "/bin/echo 'a b' \"c \\\"d\\\" \\\\ e\" f\\ g '' \"\" "
        "h'i'\"j\" 'it''s' \"x\\y\"",
        9,
        (const char *const[]){"/bin/echo", "a b", "c \"d\" \\ e", "f g", "", "",
                              "hij", "its", "x\\y"});
    assert_split(" a\tb\nc ", 3, (const char *const[]){"a", "b", "c"});
    assert_split("x a~b a#b '$HOME' '|'", 5,
                 (const char *const[]){"x", "a~b", "a#b", "$HOME", "|"});
}

static void test_agent_exec_split_refuses_what_a_shell_reads_differently(
    void **state)
{
    static const char *const bad[][2] = {
        {"", "empty command"},
        {" \t ", "empty command"},
        {"echo 'abc", "unterminated ' quote"},
        {"echo \"abc", "unterminated \" quote"},
        {"echo abc\\", "trailing backslash"},
        {"ls | wc",
         "unquoted '|' at offset 3: commands run without a shell, "
         "quote it"},
        {"echo $(rm -rf /)",
         "unquoted '$' at offset 5: commands run without "
         "a shell, quote it"},
        {"echo `id`",
         "unquoted '`' at offset 5: commands run without a "
         "shell, quote it"},
        {"echo \"$HOME\"",
         "'$' inside double quotes: nothing is expanded, "
         "use single quotes"},
        {"echo \"`id`\"",
         "'`' inside double quotes: nothing is expanded, "
         "use single quotes"},
        {"echo \x01", "control byte 0x01 at offset 5"},
    };
    static const char *const refused[] = {
        "a;b",  "a&b",    "a>b", "a<b", "(a)",      "rm *",
        "ls ?", "ls [a]", "~/x", "# c", "x '\x7f'", "x \\\x1b"};
    struct agent_argv av;
    char err[QM_ERRMSG_SIZE];
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(agent_exec_split(bad[i][0], &av, err), QM_INVALID);
        assert_string_equal(err, bad[i][1]);
        assert_int_equal(av.argc, 0);
    }
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        assert_int_equal(agent_exec_split(refused[i], &av, err), QM_INVALID);
    }
}

static void test_agent_exec_split_bounds_length_and_words(void **state)
{
    static char cmd[AGENT_EXEC_CMD_MAX + 2];
    struct agent_argv av;
    char err[QM_ERRMSG_SIZE];
    (void)state;
    memset(cmd, 'a', AGENT_EXEC_CMD_MAX + 1);
    assert_int_equal(agent_exec_split(cmd, &av, err), QM_INVALID);
    assert_string_equal(err, "command longer than 1024 bytes");
    cmd[AGENT_EXEC_CMD_MAX] = '\0';
    assert_int_equal(agent_exec_split(cmd, &av, err), QM_OK);
    for (size_t i = 0; i < 2 * (AGENT_EXEC_ARGC_MAX + 1); i++) {
        cmd[i] = i % 2 ? ' ' : 'w';
    }
    cmd[2 * AGENT_EXEC_ARGC_MAX] = '\0';
    assert_int_equal(agent_exec_split(cmd, &av, err), QM_OK);
    assert_int_equal(av.argc, AGENT_EXEC_ARGC_MAX);
    cmd[2 * AGENT_EXEC_ARGC_MAX] = 'w';
    assert_int_equal(agent_exec_split(cmd, &av, err), QM_INVALID);
    assert_string_equal(err, "command has more than 64 words");
}

/* ---- Cases: short commands ---- */

static void test_agent_exec_reports_exit_codes(void **state)
{
    struct fx *f = *state;
    start(f, "/bin/true", 0, 0, mono_ms());
    run_to_end(f, -1);
    assert_ended(f, 0, 0, false);
    assert_string_equal(f->res.output, "");
    assert_int_equal(f->res.output_bytes, 0);
    agent_exec_free(f->e);
    f->e = NULL;
    start(f, "/bin/sh -c 'exit 3'", 5000, 0, 0);
    run_to_end(f, 40);
    assert_ended(f, 3, 0, false);
    assert_int_equal(f->res.duration_ms, 40);
}

static void test_agent_exec_reports_the_killing_signal(void **state)
{
    struct fx *f = *state;
    start(f, "/bin/sh -c 'kill -KILL $$'", 0, 0, mono_ms());
    run_to_end(f, -1);
    assert_ended(f, -1, SIGKILL, false);
}

static void test_agent_exec_keeps_the_last_200_bytes_printable(void **state)
{
    struct fx *f = *state;
    char full[2048], want[AGENT_EXEC_TAIL_MAX + 1];
    size_t len = 0;
    for (int i = 0; i < 100; i++) {
        len += (size_t)snprintf(full + len, sizeof(full) - len, "line%d\n", i);
    }
    len += (size_t)snprintf(full + len, sizeof(full) - len,
                            "\001\033[1mx\tz\xc3\xa9 err\n");
    for (size_t i = 0; i < AGENT_EXEC_TAIL_MAX; i++) {
        unsigned char c = (unsigned char)full[len - AGENT_EXEC_TAIL_MAX + i];
        want[i] = c == '\n' || c == '\t' ? ' '
                  : c < 0x20 || c > 0x7e ? '?'
                                         : (char)c;
    }
    want[AGENT_EXEC_TAIL_MAX] = '\0';
    start(f,
          "/bin/sh -c 'i=0; while [ $i -lt 100 ]; do echo line$i; "
          "i=$((i+1)); done; printf \"\\001\\033[1mx\\tz\\303\\251 \"; "
          "echo err >&2'",
          0, 0, mono_ms());
    run_to_end(f, -1);
    assert_ended(f, 0, 0, false);
    assert_int_equal(f->res.output_bytes, len);
    assert_string_equal(f->res.output, want);
}

static void test_agent_exec_timeout_kills_the_whole_group(void **state)
{
    struct fx *f = *state;
    pid_t members[8];
    start(f, "/bin/sh -c '/bin/sleep 30 & echo started; exec /bin/sleep 30'",
          200, 0, 1000);
    pid_t pid = agent_exec_pid(f->e);
    wait_output(f, 1199, "started");
    size_t n = group_members(pid, members, 8);
    assert_int_equal(n, 2);
    pid_t grandchild = members[0] == pid ? members[1] : members[0];
    f->extra[f->nextra++] = grandchild;
    assert_int_equal(agent_exec_poll(f->e, 1200, &f->res), QM_EBUSY);
    run_to_end(f, 1200);
    assert_ended(f, -1, SIGTERM, true);
    assert_int_equal(f->res.duration_ms, 200);
    assert_string_equal(f->res.output, "started ");
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
    assert_reaped_and_gone(grandchild);
    f->nextra = 0;
}

static void test_agent_exec_escalates_to_sigkill_after_the_grace(void **state)
{
    struct fx *f = *state;
    start(f, "/bin/sh -c 'trap \"\" TERM; echo ready; exec /bin/sleep 30'", 200,
          500, 0);
    wait_output(f, 0, "ready");
    assert_int_equal(agent_exec_poll(f->e, 200, &f->res), QM_EBUSY);
    assert_int_equal(agent_exec_poll(f->e, 699, &f->res), QM_EBUSY);
    assert_int_equal(kill(agent_exec_pid(f->e), 0), 0);
    assert_int_equal(agent_exec_poll(f->e, 700, &f->res), QM_EBUSY);
    run_to_end(f, 700);
    assert_ended(f, -1, SIGKILL, true);
    assert_int_equal(f->res.duration_ms, 700);
}

static void test_agent_exec_free_kills_and_reaps_a_running_command(void **state)
{
    struct fx *f = *state;
    start(f, "/bin/sleep 30", 0, 0, 0);
    pid_t pid = agent_exec_pid(f->e);
    assert_int_equal(kill(pid, 0), 0);
    agent_exec_free(f->e);
    f->e = NULL;
    assert_int_equal(kill(pid, 0), -1);
    assert_int_equal(errno, ESRCH);
}

static void test_agent_exec_child_has_null_stdin_a_pipe_and_no_other_fds(
    void **state)
{
    struct fx *f = *state;
    char out[128];
    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
    assert_true(leak > 2);
    start(f, "/bin/sleep 30", 0, 0, 0);
    close(leak);
    pid_t pid = agent_exec_pid(f->e);
    wait_asleep(pid);
    assert_int_equal(getpgid(pid), pid);
    assert_int_equal(getsid(pid), getsid(0));
    assert_string_equal(fd_target(pid, 0), "/dev/null");
    snprintf(out, sizeof(out), "%s", fd_target(pid, 1));
    assert_int_equal(strncmp(out, "pipe:[", 6), 0);
    assert_string_equal(fd_target(pid, 2), out);
    assert_int_equal(fd_count(pid), 3);
}

static void test_agent_exec_start_refuses_bad_commands(void **state)
{
    struct fx *f = *state;
    assert_int_equal(agent_exec_start("ls | wc", NULL, 0, &f->e, f->errmsg),
                     QM_INVALID);
    assert_null(f->e);
    assert_int_equal(
        agent_exec_start("/nonexistent/prog -x", NULL, 0, &f->e, f->errmsg),
        QM_NOT_FOUND);
    assert_null(f->e);
    assert_string_equal(f->errmsg, "ENOENT starting '/nonexistent/prog'");
}

/* ---- Cases: detached instances ---- */

static void test_agent_exec_detached_runs_in_its_own_session(void **state)
{
    struct fx *f = *state;
    pid_t pid = 0;
    int code = 0, sig = 0;
    assert_int_equal(
        agent_exec_spawn_detached("/bin/sleep 30", NULL, &pid, f->errmsg),
        QM_OK);
    f->extra[f->nextra++] = pid;
    assert_int_equal(kill(pid, 0), 0);
    wait_asleep(pid);
    assert_int_equal(getsid(pid), pid);
    assert_int_equal(getpgid(pid), pid);
    assert_int_equal(agent_exec_reap(pid, &code, &sig), QM_EBUSY);
    for (int fd = 0; fd < 3; fd++) {
        assert_string_equal(fd_target(pid, fd), "/dev/null");
    }
    assert_int_equal(fd_count(pid), 3);
    assert_int_equal(kill(pid, SIGTERM), 0);
    reap_detached(pid, &code, &sig);
    f->nextra = 0;
    assert_int_equal(code, -1);
    assert_int_equal(sig, SIGTERM);
    assert_int_equal(agent_exec_reap(pid, &code, &sig), QM_NOT_FOUND);
}

static void test_agent_exec_detached_appends_output_to_its_log(void **state)
{
    struct fx *f = *state;
    char dir[TH_PATH_MAX], log[TH_PATH_MAX + 16], buf[64];
    pid_t pid = 0;
    int code = -5, sig = -5;
    th_tmpdir_make(dir);
    snprintf(log, sizeof(log), "%s/svc.log", dir);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            agent_exec_spawn_detached("/bin/sh -c 'echo hello; echo oops >&2'",
                                      log, &pid, f->errmsg),
            QM_OK);
        reap_detached(pid, &code, &sig);
        assert_int_equal(code, 0);
        assert_int_equal(sig, 0);
    }
    int fd = open(log, O_RDONLY);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    snprintf(log, sizeof(log), "%s/no/such.log", dir);
    int rv = agent_exec_spawn_detached("/bin/true", log, &pid, f->errmsg);
    th_tmpdir_remove(dir);
    assert_string_equal(buf, "hello\noops\nhello\noops\n");
    assert_int_equal(rv, QM_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_agent_exec_split_handles_quotes_and_escapes),
        T(test_agent_exec_split_refuses_what_a_shell_reads_differently),
        T(test_agent_exec_split_bounds_length_and_words),
        T(test_agent_exec_reports_exit_codes),
        T(test_agent_exec_reports_the_killing_signal),
        T(test_agent_exec_keeps_the_last_200_bytes_printable),
        T(test_agent_exec_timeout_kills_the_whole_group),
        T(test_agent_exec_escalates_to_sigkill_after_the_grace),
        T(test_agent_exec_free_kills_and_reaps_a_running_command),
        T(test_agent_exec_child_has_null_stdin_a_pipe_and_no_other_fds),
        T(test_agent_exec_start_refuses_bad_commands),
        T(test_agent_exec_detached_runs_in_its_own_session),
        T(test_agent_exec_detached_appends_output_to_its_log),
#undef T
    };
    /* Orphaned grandchildren of the commands come back here. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
