/*
 * PKCS#11 types and constants from p11-kit's self-contained pkcs11.h (Debian's
 * libp11-kit-dev), in its compatibility spelling (CK_RV, CK_ATTRIBUTE, ...). Nothing is
 * linked: a token's module is opened at run time with dlopen (SecmodPkcs11). Named from
 * /usr/include, where Debian puts it, so that no pkg-config (and no -lp11-kit) is needed.
 */
#include <p11-kit-1/p11-kit/pkcs11.h>
