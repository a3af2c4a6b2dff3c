/* Referee for the helpers' -T and -t options: parses them with libgnunetutil's own
 * GNUNET_GETOPT_option_timetravel and GNUNET_GETOPT_option_timestamp, the options Taler's
 * helpers declare, and prints "offset <µs> time <µs>", or exits 2 when GNUnet refuses them.
 * Usage: gnunet-time-check [-T OFFSET] [-t TIMESTAMP] */
#include <gnunet/gnunet_util_lib.h>
#include <stdio.h>

static struct GNUNET_TIME_Timestamp start;

static void run(void *cls, char *const *args, const char *cfgfile,
                const struct GNUNET_CONFIGURATION_Handle *cfg) {
  (void)cls; (void)args; (void)cfgfile; (void)cfg;
  printf("offset %lld time %llu\n", GNUNET_TIME_get_offset(),
         (unsigned long long)start.abs_time.abs_value_us);
}

int main(int argc, char **argv) {
  struct GNUNET_GETOPT_CommandLineOption options[] = {
    GNUNET_GETOPT_option_timetravel('T', "timetravel"),
    GNUNET_GETOPT_option_timestamp('t', "time", "TIMESTAMP", "the time of the first update", &start),
    GNUNET_GETOPT_OPTION_END
  };
  int ret = GNUNET_PROGRAM_run(argc, argv, "gnunet-time-check", "referee", options, &run, NULL);
  return ret == GNUNET_OK ? 0 : 2;
}
