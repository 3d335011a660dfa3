/* openloop: an open-loop HTTP/1.1 load generator in C, for latency at a fixed rate.
 *
 * The same measurement as httpload.open_loop (Python), with timers of nanosecond
 * resolution and no interpreter between a request's due time and its send, so that the
 * generator adds less latency of its own (what wrk2 does; Debian does not package wrk2).
 * Against nginx at 9,000 requests/s its p99 was 0.1-0.8 ms against the Python one's
 * 1.7 ms; both used about 24 us of CPU per request here, most of it the kernel's
 * loopback TCP (docs/benchmarks.md, session 6):
 *
 *   * request i is due at start + i / rate, whatever the server's speed;
 *   * a due request goes out on the first idle keep-alive connection of at most
 *     --connections, and waits in FIFO order while all are busy;
 *   * its latency runs from the time it was due, so a server that falls behind shows its
 *     queueing in the figures (no coordinated omission); the service time (from the
 *     actual send) is recorded as well.
 *
 * Requests come as raw HTTP/1.1 bytes in a file of records, each a 4-byte little-endian
 * length and then the bytes; request i is record i modulo the record count. Responses must
 * carry Content-Length. The output file gets, for each completed request in completion
 * order, three little-endian uint32: status, latency from due time (µs), service time (µs).
 * A summary line goes to stdout: sent, completed, failures, and the CPU seconds this
 * process used (user, system).
 *
 * usage: openloop HOST PORT RATE DURATION_S CONNECTIONS GRACE_S REQUESTS_FILE OUT_FILE
 * Loopback addresses only. Build: cc -O2 -o openloop openloop.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536

typedef struct {
    int fd;
    int state; /* 0 closed, 1 connecting, 2 idle, 3 busy */
    int64_t req;
    double due, sent;
    size_t woff; /* bytes of the request written so far */
    char *rbuf;
    size_t rlen;
} conn_t;

static char **reqs;
static uint32_t *reqlen;
static size_t nreqs;
static int ep;
static struct sockaddr_in addr;
static int64_t *queue; /* due requests waiting for a connection (ring) */
static size_t qhead, qtail, qcap;
static uint32_t *out;
static size_t nout;
static int64_t completed, failures, sent;
static conn_t *conns;
static int nconns;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static void load_requests(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die(path);
    size_t cap = 1024;
    reqs = malloc(cap * sizeof *reqs);
    reqlen = malloc(cap * sizeof *reqlen);
    unsigned char lenb[4];
    while (fread(lenb, 1, 4, f) == 4) {
        uint32_t n = lenb[0] | lenb[1] << 8 | lenb[2] << 16 | (uint32_t)lenb[3] << 24;
        if (nreqs == cap) {
            cap *= 2;
            reqs = realloc(reqs, cap * sizeof *reqs);
            reqlen = realloc(reqlen, cap * sizeof *reqlen);
        }
        reqs[nreqs] = malloc(n);
        if (fread(reqs[nreqs], 1, n, f) != n) {
            fprintf(stderr, "%s: truncated record %zu\n", path, nreqs);
            exit(2);
        }
        reqlen[nreqs++] = n;
    }
    fclose(f);
    if (!nreqs) {
        fprintf(stderr, "%s: no requests\n", path);
        exit(2);
    }
}

static void ctl(int op, conn_t *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, op, c->fd, &ev) < 0) die("epoll_ctl");
}

static void conn_close(conn_t *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->state = 0;
    c->rlen = 0;
}

static void conn_open(conn_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->rlen = 0;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        c->state = 2;
        ctl(EPOLL_CTL_ADD, c, EPOLLIN);
    } else if (errno == EINPROGRESS) {
        c->state = 1;
        ctl(EPOLL_CTL_ADD, c, EPOLLOUT);
    } else {
        die("connect");
    }
}

static void fail(conn_t *c) {
    if (c->state == 3) failures++;
    conn_close(c);
}

static void try_write(conn_t *c) {
    const char *r = reqs[c->req % (int64_t)nreqs];
    size_t n = reqlen[c->req % (int64_t)nreqs];
    while (c->woff < n) {
        ssize_t w = write(c->fd, r + c->woff, n - c->woff);
        if (w < 0) {
            if (errno == EAGAIN) {
                ctl(EPOLL_CTL_MOD, c, EPOLLIN | EPOLLOUT);
                return;
            }
            fail(c);
            return;
        }
        c->woff += (size_t)w;
    }
    ctl(EPOLL_CTL_MOD, c, EPOLLIN);
}

static void send_on(conn_t *c, int64_t i, double due) {
    c->req = i;
    c->due = due;
    c->sent = now_s();
    c->woff = 0;
    c->rlen = 0;
    c->state = 3;
    sent++;
    try_write(c);
}

/* A complete response in the buffer: its length, 0 if not complete yet, -1 if malformed. */
static long parse(conn_t *c, int *status) {
    c->rbuf[c->rlen] = 0;
    char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
    if (!end) return c->rlen >= RBUF - 1 ? -1 : 0;
    if (c->rlen < 12 || strncmp(c->rbuf, "HTTP/1.", 7)) return -1;
    *status = atoi(c->rbuf + 9);
    long length = 0;
    for (char *line = strstr(c->rbuf, "\r\n") + 2; line < end; line = strstr(line, "\r\n") + 2) {
        if (!strncasecmp(line, "content-length:", 15)) length = strtol(line + 15, NULL, 10);
        else if (!strncasecmp(line, "transfer-encoding:", 18)) return -1;
    }
    long total = (end + 4 - c->rbuf) + length;
    if (total >= RBUF) return -1;
    return (long)c->rlen >= total ? total : 0;
}

static void on_readable(conn_t *c) {
    for (;;) {
        ssize_t r = read(c->fd, c->rbuf + c->rlen, RBUF - 1 - c->rlen);
        if (r < 0) {
            if (errno == EAGAIN) return;
            fail(c);
            return;
        }
        if (r == 0) { /* closed by the server: a failure if a request was in flight */
            fail(c);
            return;
        }
        c->rlen += (size_t)r;
        if (c->state != 3) { /* bytes nobody asked for */
            fail(c);
            return;
        }
        int status = 0;
        long done = parse(c, &status);
        if (done < 0) {
            fail(c);
            return;
        }
        if (done > 0) {
            double t = now_s();
            out[nout++] = (uint32_t)status;
            out[nout++] = (uint32_t)((t - c->due) * 1e6);
            out[nout++] = (uint32_t)((t - c->sent) * 1e6);
            completed++;
            c->state = 2;
            c->rlen = 0;
            return;
        }
    }
}

static void arm(int tfd, double at) {
    struct itimerspec its = {0};
    its.it_value.tv_sec = (time_t)at;
    its.it_value.tv_nsec = (long)((at - (double)(time_t)at) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
    if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0) die("timerfd_settime");
}

int main(int argc, char **argv) {
    if (argc != 9) {
        fprintf(stderr, "usage: %s HOST PORT RATE DURATION_S CONNECTIONS GRACE_S REQUESTS OUT\n",
                argv[0]);
        return 2;
    }
    double rate = atof(argv[3]), duration = atof(argv[4]), grace = atof(argv[6]);
    nconns = atoi(argv[5]);
    if (rate <= 0 || duration <= 0 || duration > 600 || nconns < 1 || nconns > 4096) {
        fprintf(stderr, "rate must be positive, duration in (0, 600], 1-4096 connections\n");
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 ||
        (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "refusing to send load to %s: loopback IPv4 addresses only\n", argv[1]);
        return 2;
    }
    load_requests(argv[7]);
    int64_t total = (int64_t)(rate * duration);
    out = malloc((size_t)(total + 1) * 3 * sizeof *out);
    qcap = (size_t)total + 1;
    queue = malloc(qcap * sizeof *queue);
    ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (ep < 0 || tfd < 0) die("epoll/timerfd");
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
    conns = calloc((size_t)nconns, sizeof *conns);
    for (int k = 0; k < nconns; k++) {
        conns[k].fd = -1;
        conns[k].rbuf = malloc(RBUF);
        conn_open(&conns[k]);
    }
    struct epoll_event evs[256];
    double start = now_s() + 0.05, deadline = start + duration + grace;
    int64_t next = 0;
    for (;;) {
        double t = now_s();
        while (next < total && start + (double)next / rate <= t) queue[qtail++ % qcap] = next++;
        for (int k = 0; k < nconns && qhead < qtail; k++) {
            conn_t *c = &conns[k];
            if (c->state == 0) conn_open(c);
            if (c->state == 2) {
                int64_t i = queue[qhead++ % qcap];
                send_on(c, i, start + (double)i / rate);
            }
        }
        int busy = 0;
        for (int k = 0; k < nconns; k++) busy += conns[k].state == 3;
        if (next == total && qhead == qtail && !busy) break;
        if (t > deadline) break;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        /* Wake for the next due request (absolute monotonic time) or the deadline. */
        double mono = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
        double wake = next < total ? start + (double)next / rate : deadline;
        arm(tfd, wake > mono ? wake : mono);
        int n = epoll_wait(ep, evs, 256, 1000);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int e = 0; e < n; e++) {
            conn_t *c = evs[e].data.ptr;
            if (c == NULL) {
                uint64_t expirations;
                (void)!read(tfd, &expirations, sizeof expirations);
                continue;
            }
            if (c->fd < 0) continue;
            if (evs[e].events & (EPOLLERR | EPOLLHUP) && !(evs[e].events & EPOLLIN)) {
                fail(c);
                continue;
            }
            if (c->state == 1 && evs[e].events & EPOLLOUT) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) {
                    fail(c);
                    continue;
                }
                c->state = 2;
                ctl(EPOLL_CTL_MOD, c, EPOLLIN);
                continue;
            }
            if (c->state == 3 && evs[e].events & EPOLLOUT) try_write(c);
            if (c->fd >= 0 && evs[e].events & EPOLLIN) on_readable(c);
        }
    }
    FILE *f = fopen(argv[8], "wb");
    if (!f || fwrite(out, sizeof *out, nout, f) != nout || fclose(f)) die(argv[8]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    /* Everything due but not completed (still queued, in flight or never sent) failed. */
    printf("sent %lld completed %lld failures %lld transport_errors %lld due %lld cpu %.6f %.6f\n",
           (long long)sent, (long long)completed, (long long)(total - completed),
           (long long)failures, (long long)total,
           (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    return 0;
}
