#define _GNU_SOURCE
#include "CSecmodShim.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/random.h>
#include <sys/resource.h>

int secmod_eventfd(unsigned int initial, int nonblocking) {
    return eventfd(initial, EFD_CLOEXEC | (nonblocking ? EFD_NONBLOCK : 0));
}

int secmod_signalfd_block(const int *signals, int count) {
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0) return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int secmod_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

int secmod_ignore_sigpipe(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &action, NULL);
}

int secmod_set_dumpable(int dumpable) { return prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0); }

int secmod_rename_noreplace(const char *from, const char *to) {
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
}

int secmod_bind(int fd, const secmod_unix_address *a) {
    return bind(fd, (const struct sockaddr *)&a->address, a->length);
}

int secmod_connect(int fd, const secmod_unix_address *a) {
    return connect(fd, (const struct sockaddr *)&a->address, a->length);
}

int secmod_disconnect(int fd) {
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.sa_family = AF_UNSPEC;
    return connect(fd, &unspec, sizeof unspec);
}

ssize_t secmod_sendto(int fd, const void *buffer, size_t length, const secmod_unix_address *a, int flags) {
    if (a == NULL) return send(fd, buffer, length, flags | MSG_NOSIGNAL);
    return sendto(fd, buffer, length, flags | MSG_NOSIGNAL, (const struct sockaddr *)&a->address, a->length);
}

int secmod_send_packets(int fd, const uint8_t *base, const size_t *lengths, size_t count) {
    struct mmsghdr messages[SECMOD_MAX_PACKETS];
    struct iovec iovs[SECMOD_MAX_PACKETS];
    if (count > SECMOD_MAX_PACKETS) count = SECMOD_MAX_PACKETS;
    memset(messages, 0, sizeof messages);
    size_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        iovs[i].iov_base = (void *)(base + offset);
        iovs[i].iov_len = lengths[i];
        offset += lengths[i];
        messages[i].msg_hdr.msg_iov = &iovs[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, messages, (unsigned int)count, MSG_DONTWAIT | MSG_NOSIGNAL);
}

ssize_t secmod_recvmsg(int fd, void *buffer, size_t capacity, secmod_unix_address *sender,
                       secmod_credentials *credentials, int flags) {
    struct iovec iov = { .iov_base = buffer, .iov_len = capacity };
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct ucred))];
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    if (sender != NULL) {
        memset(sender, 0, sizeof *sender);
        msg.msg_name = &sender->address;
        msg.msg_namelen = sizeof sender->address;
    }
    ssize_t n = recvmsg(fd, &msg, flags | MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    if (sender != NULL) sender->length = msg.msg_namelen;
    if (credentials != NULL) {
        memset(credentials, 0, sizeof *credentials);
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
                c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
                struct ucred cred;
                memcpy(&cred, CMSG_DATA(c), sizeof cred);
                credentials->pid = cred.pid;
                credentials->uid = cred.uid;
                credentials->gid = cred.gid;
                credentials->present = 1;
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                /* Nobody may hand us descriptors: close any that arrive. */
                size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < count; i++) {
                    int passed;
                    memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
                    close(passed);
                }
            }
        }
    }
    return n;
}

ssize_t secmod_recv_handover(int fd, void *buffer, size_t capacity, secmod_handover *h, int flags) {
    struct iovec iov = { .iov_base = buffer, .iov_len = capacity };
    /* Room for the credentials and four descriptors: an INIT carries one, and a sender who
       passes more learns nothing but a dropped INIT (MSG_CTRUNC; the kernel closes the rest). */
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(4 * sizeof(int))];
    } control;
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    memset(h, 0, sizeof *h);
    h->descriptor = -1;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    ssize_t n = recvmsg(fd, &msg, flags | MSG_TRUNC | MSG_CMSG_CLOEXEC);
    if (n < 0) return n;
    h->control_truncated = (msg.msg_flags & MSG_CTRUNC) != 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
            c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            h->credentials.pid = cred.pid;
            h->credentials.uid = cred.uid;
            h->credentials.gid = cred.gid;
            h->credentials.present = 1;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
                h->descriptor_count++;
                if (h->descriptor < 0) h->descriptor = passed; else close(passed);
            }
        }
    }
    return n;
}

ssize_t secmod_send_descriptor(int fd, const void *buffer, size_t length, const secmod_unix_address *a,
                               int passed, int flags) {
    struct iovec iov = { .iov_base = (void *)buffer, .iov_len = length };
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (a != NULL) {
        msg.msg_name = (void *)&a->address;
        msg.msg_namelen = a->length;
    }
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &passed, sizeof passed);
    return sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
}

int secmod_socketpair(int type, int fds[2]) {
    return socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, fds);
}

void secmod_socket_identify(int fd, secmod_socket_identity *identity) {
    int value = 0;
    socklen_t len = sizeof value;
    identity->domain = getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len) == 0 ? value : -1;
    len = sizeof value;
    identity->type = getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) == 0 ? value : -1;
    struct sockaddr_un peer;
    socklen_t peer_len = sizeof peer;
    identity->connected = getpeername(fd, (struct sockaddr *)&peer, &peer_len) == 0;
    if (secmod_peer_credentials(fd, &identity->peer) != 0) memset(&identity->peer, 0, sizeof identity->peer);
}

int secmod_peer_credentials(int fd, secmod_credentials *credentials) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    memset(credentials, 0, sizeof *credentials);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
    credentials->pid = cred.pid;
    credentials->uid = cred.uid;
    credentials->gid = cred.gid;
    credentials->present = 1;
    return 0;
}

int secmod_set_int_option(int fd, int level, int option, int value) {
    return setsockopt(fd, level, option, &value, sizeof value);
}

int secmod_set_thread_name(const char *name) { return pthread_setname_np(pthread_self(), name); }

uint64_t secmod_random_u64(void) {
    uint64_t value = 0;
    while (getrandom(&value, sizeof value, 0) != (ssize_t)sizeof value) {}
    return value;
}

int secmod_set_thread_nice(int nice) {
    return setpriority(PRIO_PROCESS, (id_t) gettid(), nice);
}

int secmod_set_receive_timeout(int fd, int milliseconds) {
    struct timeval tv = { .tv_sec = milliseconds / 1000, .tv_usec = (milliseconds % 1000) * 1000 };
    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

int secmod_accept(int fd) {
    return accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int secmod_epoll_create(void) {
    return epoll_create1(EPOLL_CLOEXEC);
}

int secmod_epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event = { .events = events, .data = { .u64 = token } };
    return epoll_ctl(epfd, op, fd, &event);
}

int secmod_epoll_wait(int epfd, secmod_epoll_ready *ready, int capacity, int timeout_ms) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int n = epoll_wait(epfd, events, capacity, timeout_ms);
    for (int i = 0; i < n; i++) {
        ready[i].token = events[i].data.u64;
        ready[i].events = events[i].events;
    }
    return n;
}

int secmod_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int discard_stdout) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) { posix_spawn_file_actions_destroy(&actions); return rc; }
    if (discard_stdout) rc = posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t defaults, none;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigemptyset(&none);
    if (rc == 0) rc = posix_spawnattr_setsigdefault(&attributes, &defaults);
    if (rc == 0) rc = posix_spawnattr_setsigmask(&attributes, &none);
    if (rc == 0) rc = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    if (rc == 0) rc = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return rc;
}

int secmod_parse_local_time(const char *text, const char *format, int64_t *seconds) {
    struct tm t;
    memset(&t, 0, sizeof t);
    const char *end = strptime(text, format, &t);
    if (end == NULL || *end != '\0') return 0;
    t.tm_isdst = -1; /* mktime decides, for the date's own season */
    time_t s = mktime(&t);
    if (s == (time_t)-1) return 0;
    *seconds = (int64_t)s;
    return 1;
}
