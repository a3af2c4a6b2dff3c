/* A client hands its helper session to a process of another user: does the helper still
 * answer? It must not: it pins the uid of the INIT and checks the SCM_CREDENTIALS of every
 * message on the session (dgram-transport.md §5), so a message from another uid closes the
 * session, whether or not that uid is on an allow-list.
 *
 * Usage (as root): passed-socket-probe SOCKET OWNER_UID OWNER_GID SENDER_UID SENDER_GID REQUEST_HEX
 *
 * A child becomes OWNER (setgid, setuid) and handshakes as dgram-transport.md §4.1 says: it
 * makes a SOCK_SEQPACKET pair, sets SO_PASSCRED on the end it keeps, sends INIT (EdDSA,
 * type 14) to SOCKET from an unbound DGRAM socket with the other end (SCM_RIGHTS), and
 * closes that end. It reads nothing, and passes its kept end to the parent over a separate
 * socketpair (SCM_RIGHTS). The parent becomes SENDER, drains the key dump (through SYNCED,
 * type 19), sends REQUEST on the passed session, and waits up to 5 s for a SIGNATURE (17) or
 * SIGN_FAILURE (18). It prints "reply <type>", "closed" (end of file: the helper closed the
 * session without answering) or "no reply", and exits 0; any other failure exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) { perror(what); return 1; }

static uint16_t type_of(const uint8_t *m) { return (uint16_t)(m[2] << 8 | m[3]); }

/* The user's own groups too: the socket file admits its group (mode 0620). */
static int become(uid_t uid, gid_t gid) {
    struct passwd *pw = getpwuid(uid);
    if (pw == NULL || initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) return fail("setuid");
    return 0;
}

static int pass_descriptor(int channel, int fd) {
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    uint8_t byte = 1;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    return sendmsg(channel, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int owner(int channel, const char *path, uid_t uid, gid_t gid) {
    if (become(uid, gid)) return 1;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return fail("socketpair session");
    int on = 1;
    if (setsockopt(pair[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return fail("SO_PASSCRED");
    int d = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (d < 0) return fail("socket");
    struct sockaddr_un helper = {.sun_family = AF_UNIX};
    strncpy(helper.sun_path, path, sizeof helper.sun_path - 1);

    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    uint8_t init[4] = {0, 4, 0, 14};
    struct iovec iov = {init, sizeof init};
    struct msghdr msg = {.msg_name = &helper, .msg_namelen = sizeof helper, .msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &pair[1], sizeof(int));
    if (sendmsg(d, &msg, MSG_NOSIGNAL) != 4) return fail("sendmsg INIT");
    close(pair[1]);
    close(d);
    if (pass_descriptor(channel, pair[0]) != 0) return fail("sendmsg SCM_RIGHTS");
    return 0;
}

/* One packet within `ms`: its length, 0 at end of file, -2 on timeout. */
static ssize_t receive(int s, uint8_t *buffer, size_t size, int ms) {
    struct pollfd p = {s, POLLIN, 0};
    int ready = poll(&p, 1, ms);
    if (ready < 0) return -1;
    if (ready == 0) return -2;
    ssize_t got = recv(s, buffer, size, MSG_DONTWAIT);
    if (got < 0 && errno == ECONNRESET) return 0;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return -2;
    return got;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s SOCKET OWNER_UID OWNER_GID SENDER_UID SENDER_GID REQUEST_HEX\n", argv[0]);
        return 2;
    }
    size_t hex = strlen(argv[6]), n = hex / 2;
    uint8_t *request = malloc(n + 1);
    for (size_t i = 0; i < n; i++) sscanf(argv[6] + 2 * i, "%2hhx", &request[i]);

    int channel[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, channel) != 0) return fail("socketpair");
    pid_t child = fork();
    if (child < 0) return fail("fork");
    if (child == 0) _exit(owner(channel[1], argv[1], (uid_t)atoi(argv[2]), (gid_t)atoi(argv[3])));
    close(channel[1]);

    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    uint8_t byte;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes};
    if (recvmsg(channel[0], &msg, MSG_CMSG_CLOEXEC) != 1) return fail("recvmsg SCM_RIGHTS");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no descriptor passed\n"); return 1; }
    int s;
    memcpy(&s, CMSG_DATA(c), sizeof(int));
    int status;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "owner failed\n"); return 1; }
    if (become((uid_t)atoi(argv[4]), (gid_t)atoi(argv[5]))) return 1;

    static uint8_t buffer[65536];
    for (;;) {  /* the dump, which the owner left unread */
        ssize_t got = receive(s, buffer, sizeof buffer, 10000);
        if (got == 0) { printf("closed\n"); return 0; }
        if (got < 4) return fail("dump");
        if (type_of(buffer) == 19) break;
    }
    if (send(s, request, n, MSG_NOSIGNAL) != (ssize_t)n) {
        if (errno == EPIPE || errno == ECONNRESET) { printf("closed\n"); return 0; }
        return fail("send request");
    }
    for (;;) {
        ssize_t got = receive(s, buffer, sizeof buffer, 5000);
        if (got == -2) { printf("no reply\n"); return 0; }
        if (got == 0) { printf("closed\n"); return 0; }
        if (got < 4) return fail("recv reply");
        uint16_t t = type_of(buffer);
        if (t == 17 || t == 18) { printf("reply %u\n", t); return 0; }
    }
}
