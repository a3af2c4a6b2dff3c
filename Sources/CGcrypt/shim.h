#include <gcrypt.h>

/* gcry_control is variadic, which Swift cannot call: these wrappers are the only callers. */

/* Initialises libgcrypt once, with secure memory for private keys. Returns NULL when the
   library is older than the version we were written against. */
static inline const char *secmod_gcry_initialize(size_t secure_pool_bytes) {
    const char *version = gcry_check_version("1.8.0");
    if (version == NULL) return NULL;
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) return version;
    gcry_control(GCRYCTL_SUSPEND_SECMEM_WARN);
    gcry_control(GCRYCTL_INIT_SECMEM, secure_pool_bytes, 0);
    gcry_control(GCRYCTL_RESUME_SECMEM_WARN);
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    return version;
}
