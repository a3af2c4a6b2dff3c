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

/// strptime, which Swift's Glibc module does not expose: parses `text` with `format` in
/// the local time zone; 1 and seconds since the epoch when the whole text matched, else 0.
int secmod_parse_local_time(const char *text, const char *format, int64_t *seconds);

int secmod_eventfd(unsigned int initial, int nonblocking);
int secmod_signalfd_block(const int *signals, int count);
int secmod_signalfd_read(int fd);
int secmod_ignore_sigpipe(void);

int secmod_set_dumpable(int dumpable);
int secmod_set_thread_name(const char *name);
/* Lowers the calling thread's CPU priority (Linux nice values are per thread). */
int secmod_set_thread_nice(int nice);
uint64_t secmod_random_u64(void);

/* renameat2(RENAME_NOREPLACE): fails with EEXIST instead of replacing. */
int secmod_rename_noreplace(const char *from, const char *to);

int secmod_bind(int fd, const secmod_unix_address *address);
int secmod_connect(int fd, const secmod_unix_address *address);
int secmod_disconnect(int fd);
/* accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC (accept4 needs _GNU_SOURCE). */
int secmod_accept(int fd);
ssize_t secmod_sendto(int fd, const void *buffer, size_t length, const secmod_unix_address *address, int flags);
/* sendmmsg without blocking: `count` (at most SECMOD_MAX_PACKETS) packets laid end to end at
   `base`, packet i `lengths[i]` bytes long, each sent as its own message on a connected
   datagram or SOCK_SEQPACKET socket. Returns how many the kernel took (the first error after
   some went out is reported by the next call), or -1 with errno (EAGAIN: none). */
#define SECMOD_MAX_PACKETS 64
int secmod_send_packets(int fd, const uint8_t *base, const size_t *lengths, size_t count);
/* recvmsg: fills the sender's address (when `sender` is not NULL) and, when the socket has
   SO_PASSCRED, the sender's credentials. With MSG_TRUNC in `flags`, a datagram's true length
   is returned even when it exceeds `capacity`. Descriptors passed with SCM_RIGHTS are closed
   at once: nobody may hand the caller descriptors this way. */
ssize_t secmod_recvmsg(int fd, void *buffer, size_t capacity, secmod_unix_address *sender,
                       secmod_credentials *credentials, int flags);

/* What arrived beside a handover message (dgram transport INIT). */
typedef struct {
    secmod_credentials credentials;
    /* The first descriptor passed with SCM_RIGHTS, or -1. Every other one is closed here. */
    int descriptor;
    /* How many descriptors arrived in all (the kernel drops those beyond the control buffer). */
    int descriptor_count;
    /* MSG_CTRUNC: control data did not fit, so something was lost. */
    int control_truncated;
} secmod_handover;

/* recvmsg with MSG_TRUNC and MSG_CMSG_CLOEXEC that keeps one passed descriptor. The control
   buffer holds the credentials and a few descriptors; more set `control_truncated`. */
ssize_t secmod_recv_handover(int fd, void *buffer, size_t capacity, secmod_handover *handover, int flags);

/* sendmsg of one message to `address` (or the connected peer, when NULL) carrying `passed`
   in one SCM_RIGHTS control message. Never raises SIGPIPE. */
ssize_t secmod_send_descriptor(int fd, const void *buffer, size_t length, const secmod_unix_address *address,
                               int passed, int flags);

/* socketpair(AF_UNIX, type | SOCK_CLOEXEC). */
int secmod_socketpair(int type, int fds[2]);

/// posix_spawn for the tests' and the benchmark's helper processes: descriptors from 3 up are
/// closed in the child (none of the parent's sockets leaks into it), SIGPIPE is default and no
/// signal blocked; stdout goes to /dev/null when `discard_stdout`. Returns 0 or an errno.
int secmod_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int discard_stdout);

/* What a descriptor is: SO_DOMAIN and SO_TYPE (-1 when it is no socket), and whether it
   has a peer (getpeername succeeds). */
typedef struct {
    int domain;
    int type;
    int connected;
    /* SO_PEERCRED: who made the connection (for a socket pair, who created the pair). */
    secmod_credentials peer;
} secmod_socket_identity;
void secmod_socket_identify(int fd, secmod_socket_identity *identity);
int secmod_peer_credentials(int fd, secmod_credentials *credentials);
int secmod_set_int_option(int fd, int level, int option, int value);
int secmod_set_receive_timeout(int fd, int milliseconds);

/* epoll, with a 64-bit token per descriptor: struct epoll_event is packed on x86-64, which
   Swift does not import faithfully. `events` uses the poll(2) bits, which epoll shares. */
int secmod_epoll_create(void);
int secmod_epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t token);
typedef struct {
    uint64_t token;
    uint32_t events;
} secmod_epoll_ready;
/* Waits; fills up to `capacity` entries of `ready`. Returns the count, or -1 with errno. */
int secmod_epoll_wait(int epfd, secmod_epoll_ready *ready, int capacity, int timeout_ms);

#endif
