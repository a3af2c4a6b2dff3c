// taler-exchange-secmod-cs: holds the exchange's Clause-Schnorr denomination keys.
#if canImport(Glibc)
import Glibc
#endif

exit(CsHelper.main())
