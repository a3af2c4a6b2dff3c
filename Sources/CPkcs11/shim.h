/*
 * PKCS#11 types and constants from p11-kit's self-contained pkcs11.h (Debian's
 * libp11-kit-dev), in its compatibility spelling (CK_RV, CK_ATTRIBUTE, ...). Nothing is
 * linked: a token's module is opened at run time with dlopen (SecmodPkcs11).
 */
#include <p11-kit/pkcs11.h>
