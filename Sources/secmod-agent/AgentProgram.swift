import SecmodHelperMain

/// Kept out of `main.swift`: top-level code there is main-actor code, and the engine's
/// threads must not inherit that.
enum AgentProgram {
    static func main() -> Int32 { HelperMain.runAgent() }
}
