/* A shared object that only leaves a mark: loading it creates the file named by
 * SECMOD_MARKER. OpenSSLConfigTests names it as a provider module in an OPENSSL_CONF file;
 * the mark appears if a process reads that file (it is not a real provider, so activating it
 * fails after it was loaded). */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void leave_mark(void) {
    const char *path = getenv("SECMOD_MARKER");
    if (path == NULL) return;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
}
