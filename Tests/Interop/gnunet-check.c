/*
 * An independent referee for swift-secmod's tests: libgnunetutil, the library Taler's own
 * helpers and clients use, checks what our helpers produce. Compiled by the tests with cc
 * against Debian's libgnunet-dev; never linked into swift-secmod itself.
 *
 *   gnunet-check eddsa-verify PURPOSE HEX-SIGNED-BYTES BASE32-PUB BASE32-SIG
 *       exit 0 if libgnunetutil accepts the signature, 1 if not, 2 on bad input
 *   gnunet-check base32 HEX          print libgnunetutil's base32 of the bytes
 *   gnunet-check eddsa-public HEX-SEED   print the base32 public key of a 32-byte seed
 */
#include <gnunet/gnunet_util_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t from_hex(const char *hex, unsigned char **out) {
  size_t n = strlen(hex) / 2;
  *out = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    unsigned int b;
    if (sscanf(hex + 2 * i, "%2x", &b) != 1) exit(2);
    (*out)[i] = (unsigned char) b;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc == 6 && 0 == strcmp(argv[1], "eddsa-verify")) {
    uint32_t purpose = (uint32_t) strtoul(argv[2], NULL, 10);
    unsigned char *signed_bytes;
    size_t n = from_hex(argv[3], &signed_bytes);
    struct GNUNET_CRYPTO_EddsaPublicKey pub;
    struct GNUNET_CRYPTO_EddsaSignature sig;
    if (GNUNET_OK != GNUNET_STRINGS_string_to_data(argv[4], strlen(argv[4]), &pub, sizeof pub)) return 2;
    if (GNUNET_OK != GNUNET_STRINGS_string_to_data(argv[5], strlen(argv[5]), &sig, sizeof sig)) return 2;
    if (n < 8) return 2;
    const struct GNUNET_CRYPTO_EccSignaturePurpose *p = (const void *) signed_bytes;
    if (ntohl(p->size) != n) return 2;
    return GNUNET_OK == GNUNET_CRYPTO_eddsa_verify_(purpose, p, &sig, &pub) ? 0 : 1;
  }
  if (argc == 3 && 0 == strcmp(argv[1], "base32")) {
    unsigned char *data;
    size_t n = from_hex(argv[2], &data);
    char *s = GNUNET_STRINGS_data_to_string_alloc(data, n);
    printf("%s\n", s);
    return 0;
  }
  if (argc == 3 && 0 == strcmp(argv[1], "eddsa-public")) {
    unsigned char *seed;
    if (from_hex(argv[2], &seed) != 32) return 2;
    struct GNUNET_CRYPTO_EddsaPrivateKey priv;
    struct GNUNET_CRYPTO_EddsaPublicKey pub;
    memcpy(priv.d, seed, 32);
    GNUNET_CRYPTO_eddsa_key_get_public(&priv, &pub);
    char *s = GNUNET_STRINGS_data_to_string_alloc(&pub, sizeof pub);
    printf("%s\n", s);
    return 0;
  }
  fprintf(stderr, "usage: see the comment at the top of gnunet-check.c\n");
  return 2;
}
