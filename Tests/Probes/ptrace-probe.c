/* What another process of the helper's own user would try to copy keys out of it.
 *
 * Usage: ptrace-probe WAITFILE -- PROGRAM [ARGS...]
 *
 * Starts PROGRAM as its own child, so that Yama's ptrace_scope=1 (descendants only) would
 * still allow the attempt: a refusal then comes from the target being non-dumpable, not
 * from Yama. Waits up to 20 s for WAITFILE to exist (the helper's socket: it hardens itself
 * before it binds), then tries PTRACE_ATTACH and reading /proc/<pid>/mem, and prints
 *   attach: ok|<errno>
 *   mem: ok|<errno>
 *   proc-owner: <uid>
 * Finally it kills the child and reaps it. Exit 0 when the attempts were made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *name(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ESRCH: return "ESRCH";
    case EIO: return "EIO";
    default: return strerror(e);
    }
}

int main(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[2], "--") != 0) {
        fprintf(stderr, "usage: %s WAITFILE -- PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
        execv(argv[3], &argv[3]);
        perror("execv");
        _exit(127);
    }
    struct stat st;
    int waited = 0;
    while (stat(argv[1], &st) != 0) {
        int status;
        if (waitpid(child, &status, WNOHANG) == child) {
            fprintf(stderr, "child exited before %s appeared\n", argv[1]);
            return 1;
        }
        if (++waited > 2000) { fprintf(stderr, "timed out waiting for %s\n", argv[1]); kill(child, SIGKILL); return 1; }
        struct timespec ten_ms = {0, 10 * 1000 * 1000};
        nanosleep(&ten_ms, NULL);
    }

    if (ptrace(PTRACE_ATTACH, child, NULL, NULL) == 0) {
        int status;
        waitpid(child, &status, __WALL);
        ptrace(PTRACE_DETACH, child, NULL, NULL);
        printf("attach: ok\n");
    } else {
        printf("attach: %s\n", name(errno));
    }

    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)child);
    int fd = open(path, O_RDONLY);
    if (fd >= 0) { printf("mem: ok\n"); close(fd); } else { printf("mem: %s\n", name(errno)); }

    snprintf(path, sizeof path, "/proc/%d/environ", (int)child);
    if (stat(path, &st) == 0) printf("proc-owner: %u\n", (unsigned)st.st_uid);
    fflush(stdout);

    kill(child, SIGKILL);  /* also ends a child left stopped by the attach */
    int status;
    waitpid(child, &status, 0);
    return 0;
}
