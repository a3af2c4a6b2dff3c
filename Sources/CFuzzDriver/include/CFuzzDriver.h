#ifndef CFUZZDRIVER_H
#define CFUZZDRIVER_H
/*
 * The link between secmod-fuzz and libFuzzer. libFuzzer is only present when the binary is
 * built with -sanitize=fuzzer; its entry point is declared weak here so that the ordinary
 * build links without it and secmod-fuzz falls back to replaying files.
 */
#include <stddef.h>
#include <stdint.h>

/* What secmod_fuzz_run_driver returns when libFuzzer is not linked in. */
#define SECMOD_FUZZ_NO_DRIVER (-32768)

typedef int (*secmod_fuzz_callback)(const uint8_t *data, size_t size);

/* Whether this binary was built with -sanitize=fuzzer. */
int secmod_fuzz_driver_linked(void);

/* LLVMFuzzerRunDriver, or SECMOD_FUZZ_NO_DRIVER without libFuzzer. */
int secmod_fuzz_run_driver(int *argc, char ***argv, secmod_fuzz_callback callback);

#endif
