// taler-exchange-secmod-eddsa: holds the exchange's online signing keys.
#if canImport(Glibc)
import Glibc
#endif

exit(EddsaHelper.main())
