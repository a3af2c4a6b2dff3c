/*
 * libgnunetutil's own configuration parser as the referee for SecmodConfig: loads the
 * defaults directory and then a file the way Taler's programs do (GNUNET_CONFIGURATION_load:
 * config.d first, then the file), and prints the filename options a helper resolves.
 * Compiled by the tests with cc against Debian's libgnunet-dev; never linked into
 * swift-secmod itself.
 *
 *   gnunet-config-check DEFAULTS_DIR FILE SECTION OPTION [SECTION OPTION ...]
 *       prints one line per option: the expanded filename, or "<unset>".
 *       Exit 1 if the file does not parse.
 */
#include <gnunet/gnunet_util_lib.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc < 5 || (argc - 3) % 2 != 0) {
    fprintf(stderr, "usage: see the comment at the top of gnunet-config-check.c\n");
    return 2;
  }
  GNUNET_log_setup("gnunet-config-check", "ERROR", NULL);
  struct GNUNET_CONFIGURATION_Handle *cfg = GNUNET_CONFIGURATION_create();
  if (GNUNET_OK != GNUNET_CONFIGURATION_load_from(cfg, argv[1])) return 1;
  if (GNUNET_OK != GNUNET_CONFIGURATION_parse(cfg, argv[2])) return 1;
  for (int i = 3; i + 1 < argc; i += 2) {
    char *value = NULL;
    if (GNUNET_OK == GNUNET_CONFIGURATION_get_value_filename(cfg, argv[i], argv[i + 1], &value)) {
      printf("%s\n", value);
      GNUNET_free(value);
    } else {
      printf("<unset>\n");
    }
  }
  GNUNET_CONFIGURATION_destroy(cfg);
  return 0;
}
