/*
 * libgnunetutil as the referee for swift-secmod's RSA code: the same library Taler's C
 * helper and the exchange use reads our key files, writes key files for us to read, and
 * blinds, unblinds and verifies around our blind signatures. Compiled by the tests with cc
 * against Debian's libgnunet-dev; never linked into swift-secmod itself.
 *
 *   gnunet-rsa-check public FILE
 *       decode a key file (GNUNET_CRYPTO_rsa_private_key_decode); print the hex of its
 *       public key encoding. Exit 1 if libgnunetutil rejects the file.
 *   gnunet-rsa-check create BITS FILE
 *       write a new key file as Taler's helper does (GNUNET_CRYPTO_rsa_private_key_create,
 *       _encode, GNUNET_DISK_fn_write with mode 0400); print the hex
 *       of its public key encoding.
 *   gnunet-rsa-check sign FILE HEX-M
 *       print libgnunetutil's own blind signature of m (GNUNET_CRYPTO_rsa_sign_blinded,
 *       signature encoding in hex). Exit 1 if it refuses to sign.
 *   gnunet-rsa-check blind HEX-PUBLIC-KEY
 *       pick a random message hash and blinding key; print "HASH BKS BLINDED" in hex.
 *   gnunet-rsa-check verify HEX-PUBLIC-KEY HEX-HASH HEX-BKS HEX-BLIND-SIGNATURE
 *       unblind the signature and verify it on the hash: exit 0 if valid, 1 if not.
 *
 * Exit 2 on bad input.
 */
#include <gnunet/gnunet_util_lib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t from_hex(const char *hex, unsigned char **out) {
  size_t len = strlen(hex);
  if (len % 2) exit(2);
  size_t n = len / 2;
  *out = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++) {
    unsigned int b;
    if (sscanf(hex + 2 * i, "%2x", &b) != 1) exit(2);
    (*out)[i] = (unsigned char) b;
  }
  return n;
}

static void print_hex(const void *data, size_t n) {
  for (size_t i = 0; i < n; i++) printf("%02x", ((const unsigned char *) data)[i]);
}

static void print_public(const struct GNUNET_CRYPTO_RsaPublicKey *pub) {
  void *buf;
  size_t n = GNUNET_CRYPTO_rsa_public_key_encode(pub, &buf);
  print_hex(buf, n);
  GNUNET_free(buf);
}

static size_t read_file(const char *path, unsigned char **out) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) exit(2);
  size_t cap = 1 << 16, n = 0;
  *out = malloc(cap);
  n = fread(*out, 1, cap, f);
  fclose(f);
  return n;
}

static struct GNUNET_CRYPTO_RsaPublicKey *decode_public(const char *hex) {
  unsigned char *bytes;
  size_t n = from_hex(hex, &bytes);
  struct GNUNET_CRYPTO_RsaPublicKey *pub = GNUNET_CRYPTO_rsa_public_key_decode((const char *) bytes, n);
  if (pub == NULL) exit(2);
  return pub;
}

int main(int argc, char **argv) {
  if (argc == 3 && 0 == strcmp(argv[1], "public")) {
    unsigned char *buf;
    size_t n = read_file(argv[2], &buf);
    struct GNUNET_CRYPTO_RsaPrivateKey *key = GNUNET_CRYPTO_rsa_private_key_decode(buf, n);
    if (key == NULL) return 1;
    struct GNUNET_CRYPTO_RsaPublicKey *pub = GNUNET_CRYPTO_rsa_private_key_get_public(key);
    print_public(pub);
    printf("\n");
    return 0;
  }
  if (argc == 4 && 0 == strcmp(argv[1], "create")) {
    struct GNUNET_CRYPTO_RsaPrivateKey *key = GNUNET_CRYPTO_rsa_private_key_create((unsigned int) atoi(argv[2]));
    void *buf;
    size_t n = GNUNET_CRYPTO_rsa_private_key_encode(key, &buf);
    /* As Taler's RSA helper stores a key: GNUNET_DISK_fn_write, mode 0400. */
    if (GNUNET_OK != GNUNET_DISK_fn_write(argv[3], buf, n, GNUNET_DISK_PERM_USER_READ)) return 2;
    print_public(GNUNET_CRYPTO_rsa_private_key_get_public(key));
    printf("\n");
    return 0;
  }
  if (argc == 4 && 0 == strcmp(argv[1], "sign")) {
    unsigned char *buf, *m;
    size_t n = read_file(argv[2], &buf);
    size_t mlen = from_hex(argv[3], &m);
    struct GNUNET_CRYPTO_RsaPrivateKey *key = GNUNET_CRYPTO_rsa_private_key_decode(buf, n);
    if (key == NULL) return 2;
    struct GNUNET_CRYPTO_RsaSignature *sig = GNUNET_CRYPTO_rsa_sign_blinded(key, m, mlen);
    if (sig == NULL) return 1;
    void *enc;
    size_t elen = GNUNET_CRYPTO_rsa_signature_encode(sig, &enc);
    print_hex(enc, elen);
    printf("\n");
    return 0;
  }
  if (argc == 3 && 0 == strcmp(argv[1], "blind")) {
    struct GNUNET_CRYPTO_RsaPublicKey *pub = decode_public(argv[2]);
    struct GNUNET_HashCode hash;
    struct GNUNET_CRYPTO_RsaBlindingKeySecret bks;
    GNUNET_CRYPTO_random_block(GNUNET_CRYPTO_QUALITY_WEAK, &hash, sizeof hash);
    GNUNET_CRYPTO_random_block(GNUNET_CRYPTO_QUALITY_WEAK, &bks, sizeof bks);
    void *blinded;
    size_t blen;
    if (GNUNET_YES != GNUNET_CRYPTO_rsa_blind(&hash, &bks, pub, &blinded, &blen)) return 1;
    print_hex(&hash, sizeof hash);
    printf(" ");
    print_hex(&bks, sizeof bks);
    printf(" ");
    print_hex(blinded, blen);
    printf("\n");
    return 0;
  }
  if (argc == 6 && 0 == strcmp(argv[1], "verify")) {
    struct GNUNET_CRYPTO_RsaPublicKey *pub = decode_public(argv[2]);
    unsigned char *hash_bytes, *bks_bytes, *sig_bytes;
    struct GNUNET_HashCode hash;
    struct GNUNET_CRYPTO_RsaBlindingKeySecret bks;
    if (from_hex(argv[3], &hash_bytes) != sizeof hash || from_hex(argv[4], &bks_bytes) != sizeof bks) return 2;
    memcpy(&hash, hash_bytes, sizeof hash);
    memcpy(&bks, bks_bytes, sizeof bks);
    size_t slen = from_hex(argv[5], &sig_bytes);
    struct GNUNET_CRYPTO_RsaSignature *blind_sig = GNUNET_CRYPTO_rsa_signature_decode(sig_bytes, slen);
    if (blind_sig == NULL) return 2;
    struct GNUNET_CRYPTO_RsaSignature *sig = GNUNET_CRYPTO_rsa_unblind(blind_sig, &bks, pub);
    if (sig == NULL) return 1;
    return GNUNET_OK == GNUNET_CRYPTO_rsa_verify(&hash, sig, pub) ? 0 : 1;
  }
  fprintf(stderr, "usage: see the comment at the top of gnunet-rsa-check.c\n");
  return 2;
}
