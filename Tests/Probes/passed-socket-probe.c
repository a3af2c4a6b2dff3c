/* A client hands its helper session to a process of another user: does the helper still
 * answer? It must not when that user is not allowed, because it checks SCM_CREDENTIALS on
 * every datagram, not only on the INIT.
 *
 * Usage (as root): passed-socket-probe SOCKET OWNER_UID OWNER_GID SENDER_UID SENDER_GID REQUEST_HEX
 *
 * A child becomes OWNER (setgid, setuid), sends INIT (EdDSA, type 14) to SOCKET, connects
 * to the session that answers, and passes that socket to the parent over a socketpair
 * (SCM_RIGHTS). The parent becomes SENDER, drains the key dump (through SYNCED, type 19),
 * sends REQUEST on the passed socket, and waits 2 s for a SIGNATURE (17) or SIGN_FAILURE
 * (18). It prints "reply <type>" or "no reply" and exits 0; any other failure exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what) { perror(what); return 1; }

static uint16_t type_of(const uint8_t *m) { return (uint16_t)(m[2] << 8 | m[3]); }

/* The user's own groups too: the socket file admits its group (mode 0620). */
static int become(uid_t uid, gid_t gid) {
    struct passwd *pw = getpwuid(uid);
    if (pw == NULL || initgroups(pw->pw_name, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) return fail("setuid");
    return 0;
}

static int owner(int channel, const char *path, uid_t uid, gid_t gid) {
    if (become(uid, gid)) return 1;
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    int on = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) return fail("socket");
    struct sockaddr_un helper = {.sun_family = AF_UNIX};
    strncpy(helper.sun_path, path, sizeof helper.sun_path - 1);
    uint8_t init[4] = {0, 4, 0, 14};
    if (sendto(s, init, sizeof init, 0, (struct sockaddr *)&helper, sizeof helper) != 4) return fail("sendto INIT");
    struct timeval five = {5, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &five, sizeof five);
    uint8_t buffer[65536];
    struct sockaddr_un session;
    socklen_t length = sizeof session;
    if (recvfrom(s, buffer, sizeof buffer, MSG_PEEK, (struct sockaddr *)&session, &length) < 0) return fail("first datagram");
    if (connect(s, (struct sockaddr *)&session, length) != 0) return fail("connect session");

    char control[CMSG_SPACE(sizeof(int))] = {0};
    uint8_t byte = 1;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &s, sizeof(int));
    if (sendmsg(channel, &msg, 0) != 1) return fail("sendmsg SCM_RIGHTS");
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s SOCKET OWNER_UID OWNER_GID SENDER_UID SENDER_GID REQUEST_HEX\n", argv[0]);
        return 2;
    }
    size_t hex = strlen(argv[6]), n = hex / 2;
    uint8_t *request = malloc(n);
    for (size_t i = 0; i < n; i++) sscanf(argv[6] + 2 * i, "%2hhx", &request[i]);

    int pair[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) != 0) return fail("socketpair");
    pid_t child = fork();
    if (child < 0) return fail("fork");
    if (child == 0) _exit(owner(pair[1], argv[1], (uid_t)atoi(argv[2]), (gid_t)atoi(argv[3])));

    char control[CMSG_SPACE(sizeof(int))];
    uint8_t byte;
    struct iovec iov = {&byte, 1};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    if (recvmsg(pair[0], &msg, 0) != 1) return fail("recvmsg SCM_RIGHTS");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_type != SCM_RIGHTS) { fprintf(stderr, "no descriptor passed\n"); return 1; }
    int s;
    memcpy(&s, CMSG_DATA(c), sizeof(int));
    int status;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "owner failed\n"); return 1; }
    if (become((uid_t)atoi(argv[4]), (gid_t)atoi(argv[5]))) return 1;

    uint8_t buffer[65536];
    struct timeval two = {2, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &two, sizeof two);
    for (;;) {  /* the dump, which the owner left unread */
        ssize_t got = recv(s, buffer, sizeof buffer, 0);
        if (got < 4) return fail("dump");
        if (type_of(buffer) == 19) break;
    }
    if (send(s, request, n, 0) != (ssize_t)n) return fail("send request");
    for (;;) {
        ssize_t got = recv(s, buffer, sizeof buffer, 0);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { printf("no reply\n"); return 0; }
        if (got < 4) return fail("recv reply");
        uint16_t t = type_of(buffer);
        if (t == 17 || t == 18) { printf("reply %u\n", t); return 0; }
    }
}
