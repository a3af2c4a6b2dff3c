#define _GNU_SOURCE
#include "CSecmodShim.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
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
int secmod_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

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

int secmod_getsockname(int fd, secmod_unix_address *a) {
    a->length = sizeof a->address;
    return getsockname(fd, (struct sockaddr *)&a->address, &a->length);
}

ssize_t secmod_sendto(int fd, const void *buffer, size_t length, const secmod_unix_address *a, int flags) {
    if (a == NULL) return send(fd, buffer, length, flags | MSG_NOSIGNAL);
    return sendto(fd, buffer, length, flags | MSG_NOSIGNAL, (const struct sockaddr *)&a->address, a->length);
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
    ssize_t n = recvmsg(fd, &msg, flags | MSG_TRUNC | MSG_CMSG_CLOEXEC);
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

int secmod_get_int_option(int fd, int level, int option, int *value) {
    socklen_t len = sizeof *value;
    return getsockopt(fd, level, option, value, &len);
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
