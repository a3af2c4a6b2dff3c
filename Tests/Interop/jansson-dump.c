/* Referee for the offline documents' bytes: prints the JSON value in FILE exactly as
 * taler-exchange-offline prints its output, json_dumpf(value, stdout, JSON_INDENT(2)), with
 * no trailing newline (offline-documents.md §4.1). Exit 1 if jansson rejects the input.
 * Usage: jansson-dump FILE */
#include <jansson.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  json_error_t error;
  json_t *value = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &error);
  if (value == NULL) { fprintf(stderr, "%s\n", error.text); return 1; }
  if (json_dumpf(value, stdout, JSON_INDENT(2)) != 0) return 1;
  json_decref(value);
  return 0;
}
