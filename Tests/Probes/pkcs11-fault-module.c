/* A PKCS#11 module that forwards to a real one (SoftHSM in the tests) and injects
 * failures, delays and hangs on command, for TokenFailureTests: a token that errors, hangs
 * or disappears cannot be had from SoftHSM itself.
 *
 * Environment:
 *   SECMOD_P11_REAL     the real module's path.
 *   SECMOD_P11_CONTROL  a file read at every call (absent or empty: pass everything
 *                       through), with lines of key=value:
 *                         ops=sign,open,generate,create,find,destroy,login,all
 *                                     which calls the fault applies to (default all)
 *                         rv=<n>      fail them with this CK_RV (decimal or 0x hex)
 *                         rv.<op>=<n> this op fails with this CK_RV instead
 *                         delay_ms=<n>  sleep this long first, then pass through (or fail)
 *                         hang=1      block while the file still says hang=1
 *                         after=<n>   let the first n matching calls of this process
 *                                     through untouched (a fault part-way through a run)
 *                         removed=1   the token is gone: C_GetSlotList lists no token,
 *                                     every call on a session fails CKR_DEVICE_REMOVED and
 *                                     C_OpenSession CKR_TOKEN_NOT_PRESENT
 *   SECMOD_P11_COUNT    a file; one line ("<call>") is appended per injected fault.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST real;
static CK_FUNCTION_LIST wrapped;

struct control {
    char ops[256];
    unsigned long rv;
    long delay_ms;
    int hang;
    int removed;
    long after;
    char op_rv[8][2][32];
    int op_rvs;
};

static void read_control(struct control *c) {
    memset(c, 0, sizeof *c);
    strcpy(c->ops, "all");
    const char *path = getenv("SECMOD_P11_CONTROL");
    if (!path) return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, "ops=", 4)) snprintf(c->ops, sizeof c->ops, "%.200s", line + 4);
        else if (!strncmp(line, "rv=", 3)) c->rv = strtoul(line + 3, NULL, 0);
        else if (!strncmp(line, "delay_ms=", 9)) c->delay_ms = strtol(line + 9, NULL, 10);
        else if (!strcmp(line, "hang=1")) c->hang = 1;
        else if (!strcmp(line, "removed=1")) c->removed = 1;
        else if (!strncmp(line, "after=", 6)) c->after = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "rv.", 3) && strchr(line, '=') && c->op_rvs < 8) {
            char *eq = strchr(line, '=');
            *eq = 0;
            snprintf(c->op_rv[c->op_rvs][0], 32, "%.30s", line + 3);
            snprintf(c->op_rv[c->op_rvs][1], 32, "%.30s", eq + 1);
            c->op_rvs++;
        }
    }
    fclose(f);
}

static int applies(const struct control *c, const char *op) {
    if (!strcmp(c->ops, "all")) return 1;
    char list[260];
    snprintf(list, sizeof list, ",%s,", c->ops);
    char needle[64];
    snprintf(needle, sizeof needle, ",%s,", op);
    return strstr(list, needle) != NULL;
}

static void count(const char *call) {
    const char *path = getenv("SECMOD_P11_COUNT");
    if (!path) return;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "%s\n", call);
    fclose(f);
}

/* CKR_OK to go on to the real call, or the CK_RV to return instead. */
static CK_RV fault(const char *op, const char *call, CK_RV removed_rv) {
    struct control c;
    read_control(&c);
    if (c.removed) { count(call); return removed_rv; }
    if (!applies(&c, op)) return CKR_OK;
    static long matched;
    if (++matched <= c.after) return CKR_OK;
    if (c.delay_ms > 0) {
        struct timespec t = { c.delay_ms / 1000, (c.delay_ms % 1000) * 1000000L };
        nanosleep(&t, NULL);
    }
    if (c.hang) {
        count(call);
        do {
            usleep(10000);
            read_control(&c);
        } while (c.hang);
        return CKR_OK;
    }
    for (int i = 0; i < c.op_rvs; i++) {
        if (!strcmp(c.op_rv[i][0], op)) { count(call); return strtoul(c.op_rv[i][1], NULL, 0); }
    }
    if (c.rv) { count(call); return c.rv; }
    return CKR_OK;
}

#define FAULT(op, call, removed_rv) do { CK_RV f_ = fault(op, call, removed_rv); if (f_ != CKR_OK) return f_; } while (0)

static CK_RV w_GetSlotList(CK_BBOOL present, CK_SLOT_ID *list, CK_ULONG *count_) {
    struct control c;
    read_control(&c);
    if (c.removed && present) { *count_ = 0; return CKR_OK; }
    return real.C_GetSlotList(present, list, count_);
}

static CK_RV w_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, void *app, CK_NOTIFY notify, CK_SESSION_HANDLE *session) {
    FAULT("open", "C_OpenSession", CKR_TOKEN_NOT_PRESENT);
    return real.C_OpenSession(slot, flags, app, notify, session);
}

static CK_RV w_Login(CK_SESSION_HANDLE s, CK_USER_TYPE user, unsigned char *pin, CK_ULONG pin_len) {
    FAULT("login", "C_Login", CKR_DEVICE_REMOVED);
    return real.C_Login(s, user, pin, pin_len);
}

static CK_RV w_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_OBJECT_HANDLE key) {
    FAULT("sign", "C_SignInit", CKR_DEVICE_REMOVED);
    return real.C_SignInit(s, m, key);
}

static CK_RV w_Sign(CK_SESSION_HANDLE s, unsigned char *data, CK_ULONG len, unsigned char *sig, CK_ULONG *sig_len) {
    CK_RV f = fault("sign", "C_Sign", CKR_DEVICE_REMOVED);
    if (f != CKR_OK) {
        /* A failed C_Sign ends the operation, as the standard says: the real module must
         * forget it too, or the session's next C_SignInit gets CKR_OPERATION_ACTIVE. */
        unsigned char scratch[1024];
        CK_ULONG n = sizeof scratch;
        real.C_Sign(s, data, len, scratch, &n);
        return f;
    }
    return real.C_Sign(s, data, len, sig, sig_len);
}

static CK_RV w_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM *m, CK_ATTRIBUTE *pub, CK_ULONG npub,
                               CK_ATTRIBUTE *priv, CK_ULONG npriv, CK_OBJECT_HANDLE *hpub, CK_OBJECT_HANDLE *hpriv) {
    FAULT("generate", "C_GenerateKeyPair", CKR_DEVICE_REMOVED);
    return real.C_GenerateKeyPair(s, m, pub, npub, priv, npriv, hpub, hpriv);
}

static CK_RV w_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n) {
    FAULT("find", "C_FindObjectsInit", CKR_DEVICE_REMOVED);
    return real.C_FindObjectsInit(s, t, n);
}

static CK_RV w_CreateObject(CK_SESSION_HANDLE s, CK_ATTRIBUTE *t, CK_ULONG n, CK_OBJECT_HANDLE *o) {
    FAULT("create", "C_CreateObject", CKR_DEVICE_REMOVED);
    return real.C_CreateObject(s, t, n, o);
}

static CK_RV w_DestroyObject(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o) {
    FAULT("destroy", "C_DestroyObject", CKR_DEVICE_REMOVED);
    return real.C_DestroyObject(s, o);
}

static CK_RV w_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE *t, CK_ULONG n) {
    FAULT("attribute", "C_GetAttributeValue", CKR_DEVICE_REMOVED);
    return real.C_GetAttributeValue(s, o, t, n);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST **list) {
    static int loaded;
    if (!loaded) {
        const char *path = getenv("SECMOD_P11_REAL");
        void *h = path ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
        if (!h) return CKR_GENERAL_ERROR;
        CK_RV (*get)(CK_FUNCTION_LIST **) = (CK_RV (*)(CK_FUNCTION_LIST **))dlsym(h, "C_GetFunctionList");
        CK_FUNCTION_LIST *r;
        if (!get || get(&r) != CKR_OK) return CKR_GENERAL_ERROR;
        real = *r;
        wrapped = *r;
        wrapped.C_GetSlotList = w_GetSlotList;
        wrapped.C_OpenSession = w_OpenSession;
        wrapped.C_Login = w_Login;
        wrapped.C_SignInit = w_SignInit;
        wrapped.C_Sign = w_Sign;
        wrapped.C_GenerateKeyPair = w_GenerateKeyPair;
        wrapped.C_FindObjectsInit = w_FindObjectsInit;
        wrapped.C_DestroyObject = w_DestroyObject;
        wrapped.C_CreateObject = w_CreateObject;
        wrapped.C_GetAttributeValue = w_GetAttributeValue;
        loaded = 1;
    }
    *list = &wrapped;
    return CKR_OK;
}
