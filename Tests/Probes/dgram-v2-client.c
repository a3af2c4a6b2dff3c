/* An independent client of the datagram transport, version 2, written from
 * docs/spec/dgram-transport.md alone, and a bench of INITs that the spec says the helper
 * drops (dgram-transport.md §4.2).
 *
 * Usage:
 *   dgram-v2-client sign SOCKET FAMILY REQUEST_HEX [hold]
 *       Handshakes as dgram-transport.md §4 says, drains the dump to SYNCED, sends REQUEST on the session and
 *       prints its reply. Every message must carry SCM_CREDENTIALS with the uid that owns
 *       the SOCKET file, and one message per packet (dgram-transport.md §5, §6.1); the directories above SOCKET
 *       must pass dgram-transport.md §2.2 with that owner. Prints
 *           pid <pid>
 *           avail <hex>          one per AVAIL of the dump
 *           synced <count of AVAIL>
 *           reply <type> <hex>
 *       With "hold", then prints "holding" and keeps the session (reading any pushes) until
 *       standard input closes. Exit 0 when a reply came.
 *   dgram-v2-client bad-init SOCKET FAMILY KIND
 *       Sends one bad INIT of KIND, then a good handshake to SYNCED as a barrier (the helper
 *       reads its main socket in order, so the bad INIT has been handled by then), then waits
 *       up to 5 s for the helper to close everything that was passed. Prints
 *           pid <pid>
 *           passed closed|none|open <what>
 *           answered nothing|<what>
 *       and exits 0 when everything passed was closed and nothing was answered.
 *       KIND is one of: no-fd two-fds many-fds pipe file dgram-pair stream-pair
 *       unconnected-seqpacket listening-seqpacket tcp body wrong-type cs-type short empty
 *       size-mismatch oversize garbage, and
 *         refused    a good INIT, without the barrier (for a caller the allow-list refuses);
 *         dead-pair  a good INIT whose pair's other end is already closed (the helper may
 *                    adopt it; it must still let go of it at once);
 *         self-loop  both ends of one pair, in two good INITs (the helper's two sessions
 *                    then talk to each other).
 *       Bad INITs are sent from a DGRAM socket bound to a path, so that an answer to the
 *       INIT's sender would be seen too.
 *   dgram-v2-client squat NAME...
 *       Binds each abstract NAME (the text after '@' in /proc/net/unix) as a DGRAM socket and
 *       as SEQPACKET and STREAM listeners, where it is free, prints
 *           bound dgram <n> seqpacket <n> stream <n>
 *       then waits until standard input closes and prints
 *           received <datagrams> accepted <connections>
 *       Exit 0 when nothing arrived.
 *
 * FAMILY: eddsa (INIT 14, AVAIL 12, SYNCED 19, SIGNATURE 17, SIGN_FAILURE 18)
 *      or rsa   (INIT 4,  AVAIL 2,  SYNCED 10, SIGNATURE 7,  SIGN_FAILURE 8, BATCH_FAILURE 9).
 * Exit 1: the helper broke the transport's rules (the message says which); 2: usage;
 * 3: a system call failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_MESSAGE 65535

struct family {
    const char *name;
    uint16_t init, avail, purge, synced, signature, failure, batch_failure, other_init;
};
static const struct family families[] = {
    {"eddsa", 14, 12, 11, 19, 17, 18, 0, 4},
    {"rsa", 4, 2, 1, 10, 7, 8, 9, 14},
};
static const struct family *family;

static const char *socket_path;
static uid_t socket_owner;

static int sys_fail(const char *what) {
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(3);
}

static void violation(const char *fmt, const char *detail) {
    fprintf(stderr, "transport violation: ");
    fprintf(stderr, fmt, detail);
    fprintf(stderr, "\n");
    fflush(stdout);
    exit(1);
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void print_hex(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", p[i]);
}

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* ---- dgram-transport.md §2.2 and §5: whom to trust ------------------------------------------------------- */

static int owner_ok(const struct stat *st) { return st->st_uid == 0 || st->st_uid == socket_owner; }

/* The directories above the socket file, with the socket file's owner in place of the
 * helper's uid (dgram-transport.md §4.4). */
static void check_directories(void) {
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", socket_path);
    char *parent = dirname(copy);
    struct stat st;
    if (lstat(parent, &st) != 0) sys_fail("lstat parent");
    if (S_ISLNK(st.st_mode)) violation("the socket's parent %s is a symlink", parent);
    if (!owner_ok(&st)) violation("the socket's parent %s is owned by neither root nor the socket's owner", parent);
    if (st.st_mode & (S_IWGRP | S_IWOTH)) violation("the socket's parent %s is writable by group or others", parent);
    char real[PATH_MAX];
    if (realpath(parent, real) == NULL) sys_fail("realpath");
    while (strcmp(real, "/") != 0) {
        char *up = dirname(real);
        memmove(real, up, strlen(up) + 1);
        if (stat(real, &st) != 0) sys_fail("stat ancestor");
        if (!owner_ok(&st)) violation("ancestor %s is owned by neither root nor the socket's owner", real);
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
            violation("ancestor %s is writable by group or others without the sticky bit", real);
    }
}

static void learn_owner(void) {
    struct stat st;
    if (stat(socket_path, &st) != 0) sys_fail("stat SOCKET");
    if (!S_ISSOCK(st.st_mode)) violation("%s is not a socket", socket_path);
    socket_owner = st.st_uid;
    check_directories();
}

/* ---- sending ------------------------------------------------------------------------- */

static struct sockaddr_un helper_address(void) {
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof a.sun_path) {
        fprintf(stderr, "socket path too long\n");
        exit(2);
    }
    strcpy(a.sun_path, socket_path);
    return a;
}

/* One datagram from `from` to the helper's main socket, carrying `count` descriptors in one
 * SCM_RIGHTS message. */
static int send_to_helper(int from, const void *bytes, size_t length, const int *fds, int count) {
    struct sockaddr_un a = helper_address();
    struct iovec iov = {(void *)bytes, length};
    struct msghdr msg = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1};
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(16 * sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    if (count > 0) {
        msg.msg_control = control.bytes;
        msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(count * sizeof(int));
        memcpy(CMSG_DATA(c), fds, count * sizeof(int));
    }
    return sendmsg(from, &msg, MSG_NOSIGNAL) == (ssize_t)length ? 0 : -1;
}

static void init_header(uint8_t *out, uint16_t size, uint16_t type) {
    out[0] = size >> 8;
    out[1] = size & 0xff;
    out[2] = type >> 8;
    out[3] = type & 0xff;
}

/* dgram-transport.md §4.1: a fresh pair, SO_PASSCRED on the end we keep, INIT from an unbound DGRAM socket
 * with the other end, then both the passed end and the DGRAM socket closed. */
static int handshake_init(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) sys_fail("socketpair");
    int on = 1;
    if (setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) sys_fail("SO_PASSCRED");
    int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (d < 0) sys_fail("socket");
    uint8_t init[4];
    init_header(init, 4, family->init);
    if (send_to_helper(d, init, 4, &sv[1], 1) != 0) sys_fail("sendmsg INIT");
    close(sv[1]);
    close(d);
    return sv[0];
}

/* ---- receiving on a session ---------------------------------------------------------- */

/* One packet from the session within `timeout_ms`. Returns its length, 0 at end of file,
 * -2 on timeout. Enforces dgram-transport.md §5 (credentials of the socket's owner) and §6.1 (header size =
 * packet length, at most 65535), and that the helper never passes descriptors to us. */
static ssize_t session_receive(int s, uint8_t *buffer, int timeout_ms) {
    struct pollfd p = {s, POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready < 0) sys_fail("poll");
    if (ready == 0) return -2;
    struct iovec iov = {buffer, MAX_MESSAGE + 1};
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(8 * sizeof(int))];
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes,
                         .msg_controllen = sizeof control.bytes};
    ssize_t n = recvmsg(s, &msg, MSG_TRUNC | MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
    if (n < 0 && errno == ECONNRESET) return 0;
    if (n < 0) sys_fail("recvmsg session");
    if (n == 0) return 0;
    int have = 0;
    struct ucred cred = {0};
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof cred)) {
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            have = 1;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < count; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                close(fd);
            }
            violation("%s", "the helper passed descriptors on the session");
        }
    }
    if (!have) violation("%s", "a message on the session without SCM_CREDENTIALS");
    if (cred.uid != socket_owner) {
        char detail[64];
        snprintf(detail, sizeof detail, "%u (the socket's owner is %u)", (unsigned)cred.uid, (unsigned)socket_owner);
        violation("a message on the session from uid %s", detail);
    }
    if (msg.msg_flags & MSG_CTRUNC) violation("%s", "truncated control data on the session");
    if (n > MAX_MESSAGE || n < 4 || be16(buffer) != n) violation("%s", "a packet whose header disagrees with its length");
    return n;
}

/* Drains the dump to SYNCED; prints each AVAIL. Returns the number of AVAILs. */
static int drain_dump(int s, uint8_t *buffer, int print) {
    int avails = 0;
    long long deadline = now_ms() + 10000;
    for (;;) {
        long long left = deadline - now_ms();
        ssize_t n = left > 0 ? session_receive(s, buffer, (int)left) : -2;
        if (n == -2) violation("%s", "no SYNCED within 10 s");
        if (n == 0) violation("%s", "the helper closed the session before SYNCED");
        uint16_t type = be16(buffer + 2);
        if (type == family->synced) {
            if (n != 4) violation("%s", "SYNCED with a body");
            return avails;
        }
        if (type != family->avail) violation("%s", "a message in the dump that is neither AVAIL nor SYNCED");
        avails++;
        if (print) {
            printf("avail ");
            print_hex(buffer, (size_t)n);
            printf("\n");
        }
    }
}

static int sign(int argc, char **argv) {
    if (argc < 5) return 2;
    const char *hex = argv[4];
    size_t n = strlen(hex) / 2;
    uint8_t *request = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        if (sscanf(hex + 2 * i, "%2hhx", &request[i]) != 1) return 2;
    int hold = argc > 5 && strcmp(argv[5], "hold") == 0;
    learn_owner();
    printf("pid %d\n", (int)getpid());
    static uint8_t buffer[MAX_MESSAGE + 1];
    int s = handshake_init();
    int avails = drain_dump(s, buffer, 1);
    printf("synced %d\n", avails);
    if (send(s, request, n, MSG_NOSIGNAL) != (ssize_t)n) sys_fail("send request");
    long long deadline = now_ms() + 30000;
    for (;;) {
        long long left = deadline - now_ms();
        ssize_t got = left > 0 ? session_receive(s, buffer, (int)left) : -2;
        if (got == -2) violation("%s", "no reply within 30 s");
        if (got == 0) violation("%s", "the helper closed the session instead of replying");
        uint16_t type = be16(buffer + 2);
        if (type == family->avail || type == family->purge) continue;  /* a push (dgram-transport.md §6.5) */
        printf("reply %u ", type);
        print_hex(buffer, (size_t)got);
        printf("\n");
        break;
    }
    if (!hold) return 0;
    printf("holding\n");
    fflush(stdout);
    for (;;) {
        struct pollfd p[2] = {{0, POLLIN, 0}, {s, POLLIN, 0}};
        if (poll(p, 2, -1) < 0) sys_fail("poll");
        if (p[0].revents) {
            char c;
            if (read(0, &c, 1) <= 0) return 0;
        }
        if (p[1].revents) {
            ssize_t got = session_receive(s, buffer, 0);
            if (got == 0) violation("%s", "the helper closed a held session");
        }
    }
}

/* ---- bad INITs ------------------------------------------------------------------------ */

/* What shows that the helper let go of something passed to it. */
enum witness_kind {
    KEPT_END,  /* the other end of a SEQPACKET or STREAM connection, or a pipe's read end: EOF */
    KEPT_DGRAM,  /* the other end of a DGRAM pair: must stay silent; closure seen by INODE */
    INODE,  /* a passed socket: gone from /proc/net/unix */
    FILE_CLOSE,  /* a passed file: inotify IN_CLOSE */
};
struct witness {
    enum witness_kind kind;
    int fd;
    unsigned long inode;
    const char *what;
    int closed;
};
static struct witness witnesses[32];
static int witness_count;

static void watch(enum witness_kind kind, int fd, unsigned long inode, const char *what) {
    if (fd >= 0 && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) sys_fail("O_NONBLOCK");
    witnesses[witness_count++] = (struct witness){kind, fd, inode, what, 0};
}

static unsigned long inode_of(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) sys_fail("fstat");
    return (unsigned long)st.st_ino;
}

static int unix_inode_exists(unsigned long inode) {
    FILE *f = fopen("/proc/net/unix", "r");
    if (f == NULL) sys_fail("/proc/net/unix");
    char line[512];
    int found = 0;
    if (fgets(line, sizeof line, f) == NULL) sys_fail("/proc/net/unix header");
    while (!found && fgets(line, sizeof line, f) != NULL) {
        unsigned long ino;
        if (sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &ino) == 1 && ino == inode) found = 1;
    }
    fclose(f);
    return found;
}

static char answered[256] = "";

static void note_answer(const char *what) {
    if (answered[0] == 0) snprintf(answered, sizeof answered, "%s", what);
}

/* Looks at one witness without blocking; sets `closed`, and notes any answer. */
static void look(struct witness *w) {
    uint8_t buffer[MAX_MESSAGE + 1];
    switch (w->kind) {
    case KEPT_END:
        for (;;) {
            ssize_t n = read(w->fd, buffer, sizeof buffer);
            if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                w->closed = 1;
                return;
            }
            if (n < 0) return;  /* EAGAIN: still open, nothing sent */
            char what[128];
            snprintf(what, sizeof what, "%zd bytes (type %u) on %s", n, n >= 4 ? be16(buffer + 2) : 0, w->what);
            note_answer(what);
        }
    case KEPT_DGRAM:
        for (;;) {
            ssize_t n = read(w->fd, buffer, sizeof buffer);
            if (n < 0) break;
            char what[128];
            snprintf(what, sizeof what, "%zd bytes on %s", n, w->what);
            note_answer(what);
        }
        w->closed = 1;  /* its passed end is watched by INODE */
        return;
    case INODE:
        w->closed = !unix_inode_exists(w->inode);
        return;
    case FILE_CLOSE: {
        char events[4096] __attribute__((aligned(8)));
        ssize_t n = read(w->fd, events, sizeof events);
        for (char *p = events; n > 0 && p < events + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            if (e->mask & (IN_CLOSE_NOWRITE | IN_CLOSE_WRITE)) w->closed = 1;
            p += sizeof *e + e->len;
        }
        return;
    }
    }
}

static int seqpacket_pair(int *kept, int *passed) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) sys_fail("socketpair");
    *kept = sv[0];
    *passed = sv[1];
    return 0;
}

/* A DGRAM socket bound to a path in a fresh directory that the helper (any uid) can reach:
 * an answer to the INIT's sender would land here. */
static int bound_sender(char *directory, size_t size) {
    snprintf(directory, size, "/tmp/dgram-v2-client-XXXXXX");
    if (mkdtemp(directory) == NULL) sys_fail("mkdtemp");
    chmod(directory, 0711);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/sender", directory);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) sys_fail("bind sender");
    chmod(a.sun_path, 0666);
    return s;
}

static int bad_init(int argc, char **argv) {
    if (argc != 5) return 2;
    const char *kind = argv[4];
    learn_owner();
    printf("pid %d\n", (int)getpid());
    fflush(stdout);

    char directory[64];
    int sender = bound_sender(directory, sizeof directory);
    watch(KEPT_DGRAM, sender, 0, "the INIT's sender");

    uint8_t good[4];
    init_header(good, 4, family->init);
    static uint8_t bytes[70000];
    size_t length = 4;
    memcpy(bytes, good, 4);
    int fds[16], count = 0;
    int barrier = 1;
    char file_path[128] = "";
    char listener_path[100] = "";

#define PASS_PAIR_END(what)                       \
    do {                                          \
        int kept, passed;                         \
        seqpacket_pair(&kept, &passed);           \
        watch(KEPT_END, kept, 0, what);           \
        fds[count++] = passed;                    \
    } while (0)

    if (strcmp(kind, "no-fd") == 0) {
    } else if (strcmp(kind, "two-fds") == 0) {
        PASS_PAIR_END("the first pair");
        PASS_PAIR_END("the second pair");
    } else if (strcmp(kind, "many-fds") == 0) {
        static const char *names[] = {"pair 1", "pair 2", "pair 3", "pair 4", "pair 5", "pair 6", "pair 7", "pair 8"};
        for (int i = 0; i < 8; i++) PASS_PAIR_END(names[i]);
    } else if (strcmp(kind, "pipe") == 0) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0) sys_fail("pipe");
        watch(KEPT_END, p[0], 0, "the pipe's read end");
        fds[count++] = p[1];
    } else if (strcmp(kind, "file") == 0) {
        snprintf(file_path, sizeof file_path, "%s/file", directory);
        int f = open(file_path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (f < 0) sys_fail("create file");
        close(f);
        int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (in < 0 || inotify_add_watch(in, file_path, IN_CLOSE) < 0) sys_fail("inotify");
        f = open(file_path, O_RDONLY | O_CLOEXEC);
        if (f < 0) sys_fail("open file");
        char drain[4096];
        while (read(in, drain, sizeof drain) > 0) {}  /* IN_CLOSE from the create above */
        watch(FILE_CLOSE, in, 0, "the file");
        fds[count++] = f;
    } else if (strcmp(kind, "dgram-pair") == 0 || strcmp(kind, "stream-pair") == 0) {
        int dgram = kind[0] == 'd';
        int sv[2];
        if (socketpair(AF_UNIX, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0, sv) != 0) sys_fail("socketpair");
        watch(dgram ? KEPT_DGRAM : KEPT_END, sv[0], 0, "the pair's kept end");
        watch(INODE, -1, inode_of(sv[1]), "the passed end");
        fds[count++] = sv[1];
    } else if (strcmp(kind, "unconnected-seqpacket") == 0) {
        int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (s < 0) sys_fail("socket");
        watch(INODE, -1, inode_of(s), "the passed socket");
        fds[count++] = s;
    } else if (strcmp(kind, "listening-seqpacket") == 0) {
        int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(listener_path, sizeof listener_path, "%s/listener", directory);
        snprintf(a.sun_path, sizeof a.sun_path, "%s", listener_path);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4) != 0) sys_fail("listener");
        watch(INODE, -1, inode_of(s), "the passed listener");
        fds[count++] = s;
    } else if (strcmp(kind, "tcp") == 0) {
        int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
            getsockname(l, (struct sockaddr *)&a, &al) != 0)
            sys_fail("tcp listener");
        int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) sys_fail("tcp connect");
        int accepted = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (accepted < 0) sys_fail("accept");
        close(l);
        watch(KEPT_END, accepted, 0, "the TCP peer");
        fds[count++] = c;
    } else if (strcmp(kind, "body") == 0) {
        init_header(bytes, 8, family->init);
        memcpy(bytes + 4, "\x01\x02\x03\x04", 4);
        length = 8;
        PASS_PAIR_END("the pair");
    } else if (strcmp(kind, "wrong-type") == 0 || strcmp(kind, "cs-type") == 0) {
        init_header(bytes, 4, kind[0] == 'w' ? family->other_init : 3);
        PASS_PAIR_END("the pair");
    } else if (strcmp(kind, "short") == 0) {
        length = 2;
        PASS_PAIR_END("the pair");
    } else if (strcmp(kind, "empty") == 0) {
        length = 0;
        PASS_PAIR_END("the pair");
    } else if (strcmp(kind, "size-mismatch") == 0) {
        init_header(bytes, 8, family->init);  /* claims 8 bytes, is 4 */
        PASS_PAIR_END("the pair");
    } else if (strcmp(kind, "oversize") == 0) {
        length = sizeof bytes;
        memset(bytes, 0, length);
        init_header(bytes, 0xffff, family->init);
        int big = 1 << 20;
        setsockopt(sender, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
        PASS_PAIR_END("the pair");
    } else if (strcmp(kind, "garbage") == 0) {
        /* Random bytes around a marker that must never reach the helper's log. */
        srand((unsigned)getpid() ^ (unsigned)now_ms());
        length = 16 + (size_t)(rand() % 180);
        for (size_t i = 0; i < length; i++) bytes[i] = (uint8_t)rand();
        memcpy(bytes + 4, "x-secmod-garbage-marker", 23);
        if (length < 27) length = 27;
        if (be16(bytes) == length) bytes[0] ^= 0x80;
    } else if (strcmp(kind, "refused") == 0) {
        barrier = 0;
        PASS_PAIR_END("the pair");
    } else if (strcmp(kind, "dead-pair") == 0) {
        int kept, passed;
        seqpacket_pair(&kept, &passed);
        close(kept);
        watch(INODE, -1, inode_of(passed), "the passed end");
        fds[count++] = passed;
    } else if (strcmp(kind, "self-loop") == 0) {
        int x, y;
        seqpacket_pair(&x, &y);
        watch(INODE, -1, inode_of(x), "the first end");
        watch(INODE, -1, inode_of(y), "the second end");
        if (send_to_helper(sender, good, 4, &x, 1) != 0) sys_fail("sendmsg INIT (first end)");
        close(x);
        fds[count++] = y;
    } else {
        fprintf(stderr, "unknown KIND %s\n", kind);
        return 2;
    }
    if (send_to_helper(sender, bytes, length, fds, count) != 0) sys_fail("sendmsg bad INIT");
    for (int i = 0; i < count; i++) close(fds[i]);

    if (barrier) {
        static uint8_t buffer[MAX_MESSAGE + 1];
        int s = handshake_init();
        drain_dump(s, buffer, 0);
        close(s);
    }

    long long deadline = now_ms() + 5000;
    int open_left;
    do {
        open_left = 0;
        for (int i = 0; i < witness_count; i++) {
            if (!witnesses[i].closed) look(&witnesses[i]);
            if (!witnesses[i].closed) open_left++;
        }
        if (open_left) usleep(10000);
    } while (open_left && now_ms() < deadline);
    for (int i = 0; i < witness_count; i++)
        if (witnesses[i].kind == KEPT_DGRAM) look(&witnesses[i]);  /* a late answer */

    int passed_something = witness_count > 1;
    if (open_left) {
        printf("passed open");
        for (int i = 0; i < witness_count; i++)
            if (!witnesses[i].closed) printf(" (%s)", witnesses[i].what);
        printf("\n");
    } else {
        printf("passed %s\n", passed_something ? "closed" : "none");
    }
    printf("answered %s\n", answered[0] ? answered : "nothing");

    char path[160];
    snprintf(path, sizeof path, "%s/sender", directory);
    unlink(path);
    if (file_path[0]) unlink(file_path);
    if (listener_path[0]) unlink(listener_path);
    rmdir(directory);
    return open_left || answered[0] ? 1 : 0;
}

/* ---- squatting abstract names --------------------------------------------------------- */

static int squat(int argc, char **argv) {
    int sockets[3 * 256], types[3 * 256], count = 0, bound[3] = {0, 0, 0};
    static const int kinds[3] = {SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM};
    for (int i = 2; i < argc && count < 3 * 256 - 3; i++) {
        size_t n = strlen(argv[i]);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (n == 0 || n >= sizeof a.sun_path - 1) continue;
        memcpy(a.sun_path + 1, argv[i], n);
        socklen_t al = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
        for (int k = 0; k < 3; k++) {
            int s = socket(AF_UNIX, kinds[k] | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
            if (s < 0) sys_fail("socket");
            if (bind(s, (struct sockaddr *)&a, al) != 0 || (k > 0 && listen(s, 16) != 0)) {
                close(s);
                continue;
            }
            sockets[count] = s;
            types[count++] = k;
            bound[k]++;
        }
    }
    printf("bound dgram %d seqpacket %d stream %d\n", bound[0], bound[1], bound[2]);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0) {}
    int received = 0, accepted = 0;
    uint8_t buffer[MAX_MESSAGE + 1];
    for (int i = 0; i < count; i++) {
        if (types[i] == 0) {
            while (recv(sockets[i], buffer, sizeof buffer, MSG_DONTWAIT) >= 0) received++;
        } else {
            int a;
            while ((a = accept(sockets[i], NULL, NULL)) >= 0) {
                accepted++;
                close(a);
            }
        }
    }
    printf("received %d accepted %d\n", received, accepted);
    return received || accepted ? 1 : 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "squat") == 0) return squat(argc, argv);
    if (argc < 4) {
        fprintf(stderr, "usage: %s sign|bad-init SOCKET FAMILY ... | squat NAME...\n", argv[0]);
        return 2;
    }
    socket_path = argv[2];
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(argv[3], families[i].name) == 0) family = &families[i];
    if (family == NULL) return 2;
    if (strcmp(argv[1], "sign") == 0) return sign(argc, argv);
    if (strcmp(argv[1], "bad-init") == 0) return bad_init(argc, argv);
    return 2;
}
