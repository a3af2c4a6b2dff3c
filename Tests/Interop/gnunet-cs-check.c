/*
 * libgnunetutil as the referee for swift-secmod's Clause-Schnorr code: the library Taler's C
 * helper, exchange and wallets use derives the nonces, signs, blinds, unblinds and verifies
 * around our values. Compiled by the tests with cc against Debian's libgnunet-dev; never
 * linked into swift-secmod itself. Hex in and out.
 *
 *   gnunet-cs-check public SCALAR
 *       X = x·B (GNUNET_CRYPTO_cs_private_key_get_public).
 *   gnunet-cs-check create FILE
 *       write a new key file as Taler's C helper does (GNUNET_CRYPTO_cs_private_key_generate,
 *       GNUNET_DISK_fn_write with mode 0400); print X.
 *   gnunet-cs-check rderive SCALAR NONCE rw|rm
 *       R0 R1 (GNUNET_CRYPTO_cs_r_derive, cs_r_get_public).
 *   gnunet-cs-check sign SCALAR NONCE rw|rm C0C1
 *       "b s" (GNUNET_CRYPTO_cs_sign_derive with the r of that nonce and seed).
 *   gnunet-cs-check blind PUBLIC R0R1 BLINDSEED MESSAGE
 *       the client's side: "C0C1" (cs_blinding_secrets_derive, cs_calc_blinded_c).
 *   gnunet-cs-check verify PUBLIC R0R1 BLINDSEED MESSAGE B S
 *       unblind s (cs_unblind) with the b-th blinding secret and verify the signature
 *       (s', R'_b) on MESSAGE under PUBLIC (cs_verify): exit 0 if valid, 1 if not.
 *
 * Exit 2 on bad input.
 */
#include <gnunet/gnunet_util_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t from_hex(const char *hex, void *out, size_t want) {
  size_t len = strlen(hex);
  if (len != 2 * want) exit(2);
  for (size_t i = 0; i < want; i++) {
    unsigned int b;
    if (sscanf(hex + 2 * i, "%2x", &b) != 1) exit(2);
    ((unsigned char *) out)[i] = (unsigned char) b;
  }
  return want;
}

static unsigned char *from_hex_any(const char *hex, size_t *n) {
  size_t len = strlen(hex);
  if (len % 2) exit(2);
  *n = len / 2;
  unsigned char *out = malloc(*n ? *n : 1);
  from_hex(hex, out, *n);
  return out;
}

static void print_hex(const void *p, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", ((const unsigned char *) p)[i]);
}

static const char *seed_of(const char *use) {
  if (0 == strcmp(use, "rw")) return "rw";
  if (0 == strcmp(use, "rm")) return "rm";
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *cmd = argv[1];
  if (0 == strcmp(cmd, "public") && argc == 3) {
    struct GNUNET_CRYPTO_CsPrivateKey priv;
    struct GNUNET_CRYPTO_CsPublicKey pub;
    from_hex(argv[2], &priv, sizeof priv);
    GNUNET_CRYPTO_cs_private_key_get_public(&priv, &pub);
    print_hex(&pub, sizeof pub);
    printf("\n");
    return 0;
  }
  if (0 == strcmp(cmd, "create") && argc == 3) {
    struct GNUNET_CRYPTO_CsPrivateKey priv;
    struct GNUNET_CRYPTO_CsPublicKey pub;
    GNUNET_CRYPTO_cs_private_key_generate(&priv);
    if (GNUNET_OK != GNUNET_DISK_fn_write(argv[2], &priv, sizeof priv, GNUNET_DISK_PERM_USER_READ)) return 1;
    GNUNET_CRYPTO_cs_private_key_get_public(&priv, &pub);
    print_hex(&pub, sizeof pub);
    printf("\n");
    return 0;
  }
  if (0 == strcmp(cmd, "rderive") && argc == 5) {
    struct GNUNET_CRYPTO_CsPrivateKey priv;
    struct GNUNET_CRYPTO_CsNonce nonce;
    struct GNUNET_CRYPTO_CsRSecret r[2];
    struct GNUNET_CRYPTO_CsRPublic rp[2];
    from_hex(argv[2], &priv, sizeof priv);
    from_hex(argv[3], &nonce, sizeof nonce);
    GNUNET_CRYPTO_cs_r_derive(&nonce, seed_of(argv[4]), &priv, r);
    GNUNET_CRYPTO_cs_r_get_public(&r[0], &rp[0]);
    GNUNET_CRYPTO_cs_r_get_public(&r[1], &rp[1]);
    print_hex(&rp[0], sizeof rp[0]);
    print_hex(&rp[1], sizeof rp[1]);
    printf("\n");
    return 0;
  }
  if (0 == strcmp(cmd, "sign") && argc == 6) {
    struct GNUNET_CRYPTO_CsPrivateKey priv;
    struct GNUNET_CRYPTO_CsNonce nonce;
    struct GNUNET_CRYPTO_CsRSecret r[2];
    struct GNUNET_CRYPTO_CsC c[2];
    struct GNUNET_CRYPTO_CsBlindS s;
    from_hex(argv[2], &priv, sizeof priv);
    from_hex(argv[3], &nonce, sizeof nonce);
    from_hex(argv[5], c, sizeof c);
    GNUNET_CRYPTO_cs_r_derive(&nonce, seed_of(argv[4]), &priv, r);
    unsigned int b = GNUNET_CRYPTO_cs_sign_derive(&priv, r, c, &nonce, &s);
    printf("%u ", b);
    print_hex(&s, sizeof s);
    printf("\n");
    return 0;
  }
  if (0 == strcmp(cmd, "blind") && argc == 6) {
    struct GNUNET_CRYPTO_CsPublicKey pub;
    struct GNUNET_CRYPTO_CsRPublic rp[2], blinded_r[2];
    struct GNUNET_CRYPTO_CsNonce blind_seed;
    struct GNUNET_CRYPTO_CsBlindingSecret bs[2];
    struct GNUNET_CRYPTO_CsC c[2];
    size_t msg_len;
    from_hex(argv[2], &pub, sizeof pub);
    from_hex(argv[3], rp, sizeof rp);
    from_hex(argv[4], &blind_seed, sizeof blind_seed);
    unsigned char *msg = from_hex_any(argv[5], &msg_len);
    GNUNET_CRYPTO_cs_blinding_secrets_derive(&blind_seed, bs);
    GNUNET_CRYPTO_cs_calc_blinded_c(bs, rp, &pub, msg, msg_len, c, blinded_r);
    print_hex(c, sizeof c);
    printf("\n");
    return 0;
  }
  if (0 == strcmp(cmd, "verify") && argc == 8) {
    struct GNUNET_CRYPTO_CsPublicKey pub;
    struct GNUNET_CRYPTO_CsRPublic rp[2], blinded_r[2];
    struct GNUNET_CRYPTO_CsNonce blind_seed;
    struct GNUNET_CRYPTO_CsBlindingSecret bs[2];
    struct GNUNET_CRYPTO_CsC c[2];
    struct GNUNET_CRYPTO_CsBlindS blind_s;
    struct GNUNET_CRYPTO_CsSignature sig;
    size_t msg_len;
    from_hex(argv[2], &pub, sizeof pub);
    from_hex(argv[3], rp, sizeof rp);
    from_hex(argv[4], &blind_seed, sizeof blind_seed);
    unsigned char *msg = from_hex_any(argv[5], &msg_len);
    unsigned int b = (unsigned int) atoi(argv[6]);
    if (b > 1) return 2;
    from_hex(argv[7], &blind_s, sizeof blind_s);
    GNUNET_CRYPTO_cs_blinding_secrets_derive(&blind_seed, bs);
    GNUNET_CRYPTO_cs_calc_blinded_c(bs, rp, &pub, msg, msg_len, c, blinded_r);
    GNUNET_CRYPTO_cs_unblind(&blind_s, &bs[b], &sig.s_scalar);
    sig.r_point = blinded_r[b];
    return GNUNET_OK == GNUNET_CRYPTO_cs_verify(&sig, &pub, msg, msg_len) ? 0 : 1;
  }
  return 2;
}
