// taler-exchange-secmod-rsa: holds the exchange's RSA denomination keys.
#if canImport(Glibc)
import Glibc
#endif

exit(RsaHelper.main())
