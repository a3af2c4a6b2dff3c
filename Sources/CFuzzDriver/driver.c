#include "CFuzzDriver.h"

/* Weak: resolves to NULL unless libclang_rt.fuzzer is linked in. */
extern int LLVMFuzzerRunDriver(int *argc, char ***argv,
                               int (*callback)(const uint8_t *data, size_t size)) __attribute__((weak));

int secmod_fuzz_driver_linked(void) {
    return LLVMFuzzerRunDriver != NULL;
}

int secmod_fuzz_run_driver(int *argc, char ***argv, secmod_fuzz_callback callback) {
    if (LLVMFuzzerRunDriver == NULL) return SECMOD_FUZZ_NO_DRIVER;
    return LLVMFuzzerRunDriver(argc, argv, callback);
}

/*
 * -sanitize=fuzzer links libFuzzer's own main(), which refers to this symbol; secmod-fuzz
 * keeps its own main and calls LLVMFuzzerRunDriver instead, so this is never called. Weak,
 * so that it cannot clash with a fuzz target that does define it.
 */
__attribute__((weak)) int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    (void)data;
    (void)size;
    return 0;
}
