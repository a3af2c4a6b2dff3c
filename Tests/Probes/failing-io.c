/* An LD_PRELOAD library that makes the helper's disk writes fail on demand, for
 * DiskFaultTests (EIO cannot be had from a real disk in a container).
 *
 * Environment (read at every call, so nothing is cached across a test's phases):
 *   SECMOD_FAULT_ERRNO  the errno to fail with: EIO, ENOSPC, EACCES, EROFS or a number
 *                       (default EIO).
 *   SECMOD_FAULT_FLAG   a path; the fault is active only while that file exists, so a test
 *                       switches it on and off with touch and rm.
 *   SECMOD_FAULT_DIR    a directory; only descriptors whose /proc/self/fd link is a file
 *                       inside it (or, with "dirfsync", the directory itself) fail.
 *   SECMOD_FAULT_OPS    comma-separated calls to fail (default "fsync"):
 *                         fsync     fsync/fdatasync of a file inside the directory
 *                         write     write/pwrite of a file inside the directory
 *                         dirfsync  fsync/fdatasync of the directory itself
 *   SECMOD_FAULT_COUNT  a path; every injected failure appends one line to it
 *                       ("<call> <target>"), so a test can prove the fault happened.
 *   SECMOD_FAULT_LIMIT  if set, at most this many failures in the process's life (a
 *                       transient fault: "the first key write fails, the next ones work").
 *
 * Everything else passes through to libc unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static int parse_errno(const char *s) {
    if (s == NULL || *s == '\0') return EIO;
    if (strcmp(s, "EIO") == 0) return EIO;
    if (strcmp(s, "ENOSPC") == 0) return ENOSPC;
    if (strcmp(s, "EACCES") == 0) return EACCES;
    if (strcmp(s, "EROFS") == 0) return EROFS;
    if (strcmp(s, "EDQUOT") == 0) return EDQUOT;
    int n = atoi(s);
    return n > 0 ? n : EIO;
}

static int op_enabled(const char *op) {
    const char *ops = getenv("SECMOD_FAULT_OPS");
    if (ops == NULL || *ops == '\0') ops = "fsync";
    size_t len = strlen(op);
    for (const char *p = ops; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && strncmp(p, op, n) == 0) return 1;
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* 1: a file inside SECMOD_FAULT_DIR, 2: the directory itself, 0: anything else. */
static int classify(int fd, char *target, size_t size) {
    const char *dir = getenv("SECMOD_FAULT_DIR");
    if (dir == NULL || *dir == '\0') return 0;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int saved = errno;
    ssize_t n = readlink(link, target, size - 1);
    errno = saved;
    if (n <= 0) return 0;
    target[n] = '\0';
    size_t dlen = strlen(dir);
    while (dlen > 1 && dir[dlen - 1] == '/') dlen--;
    if (strncmp(target, dir, dlen) != 0) return 0;
    if (target[dlen] == '\0') return 2;
    if (target[dlen] == '/' && strchr(target + dlen + 1, '/') == NULL) return 1;
    return 0;
}

static int active(void) {
    const char *flag = getenv("SECMOD_FAULT_FLAG");
    if (flag == NULL || *flag == '\0') return 0;
    int saved = errno;
    int exists = access(flag, F_OK) == 0;
    errno = saved;
    return exists;
}

static void record(const char *call, const char *target) {
    const char *path = getenv("SECMOD_FAULT_COUNT");
    if (path == NULL || *path == '\0') return;
    int saved = errno;
    static ssize_t (*real_write)(int, const void *, size_t);
    if (!real_write) real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        char line[PATH_MAX + 64];
        int n = snprintf(line, sizeof line, "%s %s\n", call, target);
        if (n > 0) real_write(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
        close(fd);
    }
    errno = saved;
}

static int injected;

static int under_limit(void) {
    const char *limit = getenv("SECMOD_FAULT_LIMIT");
    if (limit == NULL || *limit == '\0') return 1;
    return __atomic_load_n(&injected, __ATOMIC_SEQ_CST) < atoi(limit);
}

/* Whether `call` on `fd` must fail now; sets errno when it must. */
static int inject(const char *call, int fd, int is_sync) {
    if (!active() || !under_limit()) return 0;
    char target[PATH_MAX];
    int kind = classify(fd, target, sizeof target);
    int hit = 0;
    if (kind == 1) hit = op_enabled(is_sync ? "fsync" : "write");
    else if (kind == 2 && is_sync) hit = op_enabled("dirfsync");
    if (!hit) return 0;
    __atomic_add_fetch(&injected, 1, __ATOMIC_SEQ_CST);
    record(call, target);
    errno = parse_errno(getenv("SECMOD_FAULT_ERRNO"));
    return 1;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (inject("fsync", fd, 1)) return -1;
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (inject("fdatasync", fd, 1)) return -1;
    return real(fd);
}

ssize_t write(int fd, const void *buf, size_t count) {
    static ssize_t (*real)(int, const void *, size_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (inject("write", fd, 0)) return -1;
    return real(fd, buf, count);
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t offset) {
    static ssize_t (*real)(int, const void *, size_t, off_t);
    if (!real) real = (ssize_t (*)(int, const void *, size_t, off_t))dlsym(RTLD_NEXT, "pwrite");
    if (inject("pwrite", fd, 0)) return -1;
    return real(fd, buf, count, offset);
}
