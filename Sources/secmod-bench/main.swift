// secmod-bench: throughput and latency of the security-module helpers.
// Everything lives in BenchMain: top-level code here would be main-actor code.
#if canImport(Glibc)
import Glibc
#endif

exit(BenchMain.main(arguments: Array(CommandLine.arguments.dropFirst())))
