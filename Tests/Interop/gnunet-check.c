/*
 * An independent referee for swift-secmod's tests: libgnunetutil, the library Taler's own
 * helpers and clients use, checks what our helpers produce. Compiled by the tests with cc
 * against Debian's libgnunet-dev; never linked into swift-secmod itself.
 *
 *   gnunet-check eddsa-verify PURPOSE HEX-SIGNED-BYTES BASE32-PUB BASE32-SIG
 *       exit 0 if libgnunetutil accepts the signature, 1 if not, 2 on bad input
 *   gnunet-check base32 HEX          print libgnunetutil's base32 of the bytes
 *   gnunet-check eddsa-public HEX-SEED   print the base32 public key of a 32-byte seed
 *   gnunet-check sm-key FILE        load or create a key file as Taler's helpers do for
 *       SM_PRIV_KEY (GNUNET_CRYPTO_eddsa_key_from_file); print its base32 public key
 *   gnunet-check key-file FILE      write a fresh key as Taler's EdDSA helper writes one
 *       (GNUNET_DISK_fn_write, mode 0400); print its base32 public key
 *   gnunet-check eddsa-avail SM-FILE KEY-FILE ANCHOR-SECONDS DURATION-US
 *       print, in hex, the AVAIL message Taler's EdDSA helper sends for that key: the
 *       header, the fields, and the SM signature (purpose 1251) made by libgnunetutil
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
  if (argc == 3 && 0 == strcmp(argv[1], "sm-key")) {
    struct GNUNET_CRYPTO_EddsaPrivateKey priv;
    struct GNUNET_CRYPTO_EddsaPublicKey pub;
    if (GNUNET_SYSERR == GNUNET_CRYPTO_eddsa_key_from_file(argv[2], GNUNET_YES, &priv)) return 1;
    GNUNET_CRYPTO_eddsa_key_get_public(&priv, &pub);
    printf("%s\n", GNUNET_STRINGS_data_to_string_alloc(&pub, sizeof pub));
    return 0;
  }
  if (argc == 3 && 0 == strcmp(argv[1], "key-file")) {
    struct GNUNET_CRYPTO_EddsaPrivateKey priv;
    struct GNUNET_CRYPTO_EddsaPublicKey pub;
    GNUNET_CRYPTO_eddsa_key_create(&priv);
    if (GNUNET_OK != GNUNET_DISK_fn_write(argv[2], &priv, sizeof priv, GNUNET_DISK_PERM_USER_READ)) return 1;
    GNUNET_CRYPTO_eddsa_key_get_public(&priv, &pub);
    printf("%s\n", GNUNET_STRINGS_data_to_string_alloc(&pub, sizeof pub));
    return 0;
  }
  if (argc == 6 && 0 == strcmp(argv[1], "eddsa-avail")) {
    struct GNUNET_CRYPTO_EddsaPrivateKey sm, key;
    struct GNUNET_CRYPTO_EddsaPublicKey sm_pub, key_pub;
    if (GNUNET_SYSERR == GNUNET_CRYPTO_eddsa_key_from_file(argv[2], GNUNET_NO, &sm)) return 1;
    if (GNUNET_SYSERR == GNUNET_CRYPTO_eddsa_key_from_file(argv[3], GNUNET_NO, &key)) return 1;
    GNUNET_CRYPTO_eddsa_key_get_public(&sm, &sm_pub);
    GNUNET_CRYPTO_eddsa_key_get_public(&key, &key_pub);
    uint64_t anchor = GNUNET_htonll(strtoull(argv[4], NULL, 10) * 1000000ULL);
    uint64_t duration = GNUNET_htonll(strtoull(argv[5], NULL, 10));
    struct {
      struct GNUNET_CRYPTO_EccSignaturePurpose purpose;
      struct GNUNET_CRYPTO_EddsaPublicKey exchange_pub;
      uint64_t anchor;
      uint64_t duration;
    } __attribute__((packed)) ps;
    ps.purpose.size = htonl(sizeof ps);
    ps.purpose.purpose = htonl(1251);
    ps.exchange_pub = key_pub;
    ps.anchor = anchor;
    ps.duration = duration;
    struct GNUNET_CRYPTO_EddsaSignature sig;
    GNUNET_CRYPTO_eddsa_sign_(&sm, &ps.purpose, &sig);
    unsigned char msg[152];
    uint16_t size = htons(152), type = htons(12);
    uint32_t reserved = 0;
    memcpy(msg, &size, 2); memcpy(msg + 2, &type, 2); memcpy(msg + 4, &reserved, 4);
    memcpy(msg + 8, &anchor, 8); memcpy(msg + 16, &duration, 8);
    memcpy(msg + 24, &sm_pub, 32); memcpy(msg + 56, &sig, 64); memcpy(msg + 120, &key_pub, 32);
    for (int i = 0; i < 152; i++) printf("%02x", msg[i]);
    printf("\n");
    return 0;
  }
  fprintf(stderr, "usage: see the comment at the top of gnunet-check.c\n");
  return 2;
}
