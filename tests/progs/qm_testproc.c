/* qm_testproc: a process with a known pattern of resources, for the agent's
 * tests (collectors, leak detection, enforcement).
 *
 *   qm_testproc [--fds N] [--listen N] [--connect N] [--threads N]
 *               [--children N] [--nofile N] [--leak-fds-per-sec R]
 *               [--sawtooth PERIOD_S:AMPLITUDE] [--steady] [--ready-fd FD]
 *
 * In this order it: sets its soft RLIMIT_NOFILE to N (--nofile); starts N
 * children that only block (--children; they have no fds but 0, 1 and 2,
 * closed before it goes on, and die with their parent); opens N fds of
 * /dev/null (--fds); opens N TCP listeners on 127.0.0.1, ephemeral ports
 * (--listen); makes N loopback connections to its first listener (--connect: N
 * client and N accepted sockets, all ESTABLISHED; with --listen 0 it opens one
 * listener for them); starts N threads that only block (--threads); then writes
 * one byte to FD (--ready-fd, kept open). So it holds 3 + (ready fd) + fds +
 * listeners + 2 x connect fds and 1 + N threads.
 *
 * After that it changes only if asked: --leak-fds-per-sec R opens R more
 * fds of /dev/null a second (R may be fractional), without end;
 * --sawtooth P:A grows A extra fds over each P seconds, then closes them
 * all at once. --steady (the default) holds still. It runs until SIGTERM
 * or SIGINT, then kills and reaps its children and exits 0. Exit status 2:
 * bad usage; 1: setting up failed (the reason on stderr).
 *
 * Plain C and libc only (linked with -lm), no project code. */
#define _GNU_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define COUNT_MAX 100000
#define TICK_NS 50000000L /* 50 ms between pattern steps */

struct opts
{
    long fds;
    long listen;
    long connect;
    long threads;
    long children;
    long nofile;
    double leak_per_sec;
    double saw_period;
    long saw_amplitude;
    long ready_fd;
};

/* ---- Arguments ---- */

static void usage(const char *why)
{
    fprintf(stderr,
            "qm_testproc: %s\nusage: qm_testproc [--fds N] [--listen N] "
            "[--connect N] [--threads N] [--children N] [--nofile N] "
            "[--leak-fds-per-sec R] [--sawtooth PERIOD_S:AMPLITUDE] "
            "[--steady] [--ready-fd FD]\n",
            why);
    exit(2);
}

static long count_arg(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 0 || v > COUNT_MAX) {
        usage("a count must be a number 0..100000");
    }
    return v;
}

static double rate_arg(const char *s, char stop)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != stop || !(v > 0) || v > 1e6) {
        usage("a rate or period must be a number above 0");
    }
    return v;
}

static void parse_sawtooth(const char *s, struct opts *o)
{
    const char *colon = strchr(s, ':');
    if (colon == NULL) {
        usage("--sawtooth wants PERIOD_S:AMPLITUDE");
    }
    o->saw_period = rate_arg(s, ':');
    o->saw_amplitude = count_arg(colon + 1);
}

/* Where the value of a counted option goes; NULL for other names. */
static long *count_opt(struct opts *o, const char *name)
{
    const struct
    {
        const char *name;
        long *v;
    } opts[] = {
        {"--fds", &o->fds},           {"--listen", &o->listen},
        {"--connect", &o->connect},   {"--threads", &o->threads},
        {"--children", &o->children}, {"--nofile", &o->nofile},
        {"--ready-fd", &o->ready_fd},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        if (strcmp(name, opts[i].name) == 0) {
            return opts[i].v;
        }
    }
    return NULL;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
    memset(o, 0, sizeof(*o));
    o->ready_fd = -1;
    o->nofile = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--steady") == 0) {
            continue;
        }
        long *count = count_opt(o, a);
        bool leak = strcmp(a, "--leak-fds-per-sec") == 0;
        bool saw = strcmp(a, "--sawtooth") == 0;
        if (count == NULL && !leak && !saw) {
            usage("unknown option");
        }
        if (i + 1 >= argc) {
            usage("an option lacks its value");
        }
        const char *v = argv[++i];
        if (count != NULL) {
            *count = count_arg(v);
        } else if (leak) {
            o->leak_per_sec = rate_arg(v, '\0');
        } else {
            parse_sawtooth(v, o);
        }
    }
}

/* ---- Setting up ---- */

static void die(const char *what)
{
    fprintf(stderr, "qm_testproc: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* In a child: close every fd but 0, 1 and 2, the pipe end @w last, so
 * that the parent's EOF on the pipe means this child is set up. */
static void child_settle(int w)
{
    if (w > 3) {
        close_range(3, (unsigned)w - 1, 0);
    }
    close_range((unsigned)w + 1, ~0u, 0);
    close(w);
}

/* Start @n children that block until their parent dies, and return once
 * each has closed the fds it inherited. */
static void start_children(long n, pid_t *kids)
{
    pid_t parent = getpid();
    int p[2];
    char byte;
    if (pipe2(p, O_CLOEXEC) != 0) {
        die("pipe");
    }
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            die("fork");
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) {
                _exit(0); /* the parent died before prctl */
            }
            child_settle(p[1]);
            for (;;) {
                pause();
            }
        }
        kids[i] = pid;
    }
    close(p[1]);
    ssize_t r; /* nobody writes: EOF once every child closed its end */
    do {
        r = read(p[0], &byte, 1);
    } while (r < 0 && errno == EINTR);
    close(p[0]);
}

static int open_devnull(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* A TCP listener on 127.0.0.1, port chosen by the kernel. */
static int open_listener(struct sockaddr_in *addr)
{
    socklen_t len = sizeof(*addr);
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        die("socket");
    }
    memset(addr, 0, sizeof(*addr));
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
        listen(s, 64) != 0 ||
        getsockname(s, (struct sockaddr *)addr, &len) != 0) {
        die("listen");
    }
    return s;
}

static void open_sockets(const struct opts *o)
{
    struct sockaddr_in first;
    struct sockaddr_in addr;
    long nlisten = o->listen > 0 || o->connect == 0 ? o->listen : 1;
    int lfd = -1; /* the first listener */
    for (long i = 0; i < nlisten; i++) {
        int s = open_listener(i == 0 ? &first : &addr);
        lfd = i == 0 ? s : lfd;
    }
    for (long i = 0; i < o->connect; i++) {
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 ||
            connect(c, (struct sockaddr *)&first, sizeof(first)) != 0) {
            die("connect");
        }
        if (accept4(lfd, NULL, NULL, SOCK_CLOEXEC) < 0) {
            die("accept");
        }
    }
}

static void *block_forever(void *arg)
{
    (void)arg;
    for (;;) {
        pause();
    }
    return NULL;
}

static void start_threads(long n)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    for (long i = 0; i < n; i++) {
        pthread_t t;
        int rv = pthread_create(&t, &attr, block_forever, NULL);
        if (rv != 0) {
            errno = rv;
            die("pthread_create");
        }
        pthread_detach(t);
    }
    pthread_attr_destroy(&attr);
}

/* ---- Running ---- */

/* Extra fds the patterns opened. */
struct pattern
{
    long leaked;
    int *saw; /* open sawtooth fds, a stack */
    long nsaw;
};

static double seconds_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) +
           (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void step(const struct opts *o, struct pattern *p, double t)
{
    if (o->leak_per_sec > 0) {
        long want = (long)floor(o->leak_per_sec * t);
        while (p->leaked < want && open_devnull() >= 0) {
            p->leaked++;
        }
    }
    if (o->saw_amplitude > 0) {
        double phase = fmod(t, o->saw_period) / o->saw_period;
        long want = (long)floor((double)o->saw_amplitude * phase);
        while (p->nsaw > want) {
            close(p->saw[--p->nsaw]);
        }
        while (p->nsaw < want) {
            int fd = open_devnull();
            if (fd < 0) {
                break;
            }
            p->saw[p->nsaw++] = fd;
        }
    }
}

/* Until SIGTERM or SIGINT, which stay blocked and are taken here. */
static void run(const struct opts *o, const sigset_t *stop)
{
    struct pattern p = {0};
    struct timespec t0;
    const struct timespec tick = {0, TICK_NS};
    bool moving = o->leak_per_sec > 0 || o->saw_amplitude > 0;
    if (o->saw_amplitude > 0) {
        p.saw = calloc((size_t)o->saw_amplitude, sizeof(*p.saw));
        if (p.saw == NULL) {
            die("calloc");
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int sig =
            moving ? sigtimedwait(stop, NULL, &tick) : sigwaitinfo(stop, NULL);
        if (sig == SIGTERM || sig == SIGINT) {
            break;
        }
        if (moving) {
            step(o, &p, seconds_since(&t0));
        }
    }
    free(p.saw);
}

int main(int argc, char **argv)
{
    struct opts o;
    sigset_t stop;
    parse_args(argc, argv, &o);
    struct rlimit rl;
    if (o.nofile >= 0 && (getrlimit(RLIMIT_NOFILE, &rl) != 0 ||
                          (rl.rlim_cur = (rlim_t)o.nofile,
                           setrlimit(RLIMIT_NOFILE, &rl) != 0))) {
        die("setrlimit");
    }
    pid_t *kids = calloc((size_t)o.children + 1, sizeof(*kids));
    if (kids == NULL) {
        die("calloc");
    }
    /* Children first, so that they inherit none of the fds below. */
    start_children(o.children, kids);
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL); /* threads inherit the mask */
    for (long i = 0; i < o.fds; i++) {
        if (open_devnull() < 0) {
            die("open /dev/null");
        }
    }
    open_sockets(&o);
    start_threads(o.threads);
    if (o.ready_fd >= 0 && write((int)o.ready_fd, "R", 1) != 1) {
        die("write ready fd");
    }
    run(&o, &stop);
    for (long i = 0; i < o.children; i++) {
        kill(kids[i], SIGKILL);
        waitpid(kids[i], NULL, 0);
    }
    free(kids);
    return 0;
}
