#ifndef CSECMODSHIM_H
#define CSECMODSHIM_H
/*
 * The few system calls Swift cannot reach through Glibc: variadic prctl, eventfd and
 * signalfd (not exported by Swift's Glibc module), renameat2, and the ancillary-data
 * (cmsg) handling of SCM_CREDENTIALS, which is macro-based. sockaddr_un casts live here
 * too, so that Swift never reinterprets socket-address pointers.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

/* Credentials the kernel attached to a datagram (SCM_CREDENTIALS) or a connection. */
typedef struct {
    int32_t pid;
    uint32_t uid;
    uint32_t gid;
    int32_t present;
} secmod_credentials;

typedef struct {
    struct sockaddr_un address;
    socklen_t length;
} secmod_unix_address;

int secmod_eventfd(unsigned int initial, int nonblocking);
int secmod_signalfd_block(const int *signals, int count);
int secmod_signalfd_read(int fd);
int secmod_ignore_sigpipe(void);

int secmod_set_dumpable(int dumpable);
int secmod_set_thread_name(const char *name);
/* Lowers the calling thread's CPU priority (Linux nice values are per thread). */
int secmod_set_thread_nice(int nice);
uint64_t secmod_random_u64(void);
int secmod_get_dumpable(void);

/* renameat2(RENAME_NOREPLACE): fails with EEXIST instead of replacing. */
int secmod_rename_noreplace(const char *from, const char *to);

int secmod_bind(int fd, const secmod_unix_address *address);
int secmod_connect(int fd, const secmod_unix_address *address);
int secmod_disconnect(int fd);
/* accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (accept4 needs _GNU_SOURCE). */
int secmod_accept(int fd);
int secmod_getsockname(int fd, secmod_unix_address *address);
ssize_t secmod_sendto(int fd, const void *buffer, size_t length, const secmod_unix_address *address, int flags);
/* recvmsg with MSG_TRUNC: returns the datagram's true length even when it exceeds `capacity`.
   Fills the sender's address and, when the socket has SO_PASSCRED, its credentials. */
ssize_t secmod_recvmsg(int fd, void *buffer, size_t capacity, secmod_unix_address *sender,
                       secmod_credentials *credentials, int flags);
int secmod_peer_credentials(int fd, secmod_credentials *credentials);
int secmod_set_int_option(int fd, int level, int option, int value);
int secmod_get_int_option(int fd, int level, int option, int *value);
int secmod_set_receive_timeout(int fd, int milliseconds);

#endif
