// secmod-agent: a key vault serving the ssh-agent protocol.
#if canImport(Glibc)
import Glibc
#endif

exit(AgentProgram.main())
