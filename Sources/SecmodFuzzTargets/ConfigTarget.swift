import Foundation
import SecmodBase
import SecmodConfig
import SecmodSystem

extension FuzzTargets {
    /// A configuration file: parsing with includes from `ConfigSandbox`, then every value
    /// through `$`-expansion and the typed readers. Input that is not UTF-8 goes through the
    /// file reader, which must refuse it.
    public static func config(_ input: [UInt8]) {
        guard ConfigSandbox.admits(input) else { return }
        let sandbox = ConfigSandbox.shared
        var configuration = Configuration(environment: ConfigSandbox.environment)
        guard let text = String(validating: input, as: UTF8.self) else {
            do {
                try Data(input).write(to: URL(fileURLWithPath: sandbox.rawFile))
            } catch {
                fatalError("cannot write \(sandbox.rawFile): \(error)")
            }
            invariant((try? configuration.load(file: sandbox.rawFile)) == nil, "a file that is not UTF-8 was loaded")
            return
        }
        do throws(SecmodError) {
            try configuration.load(text: text, fileName: sandbox.mainFile)
        } catch {
            invariant(error.code == .configSyntax || error.code == .configMissing || error.code == .system || error.code == .configValue,
                      "loading failed with \(error.code): \(error.message)")
            return
        }
        ConfigChecks.reparse(configuration)
        ConfigChecks.values(configuration)
    }
}

enum ConfigChecks {
    /// The options as a file: each section that has options, each option as
    /// `NAME = "value"`, so that any value — leading quotes and spaces included — comes back.
    static func serialized(_ configuration: Configuration) -> String {
        var text = ""
        for section in configuration.sectionNames {
            let options = configuration.optionNames(in: section)
            guard !options.isEmpty else { continue }
            text += "[\(section)]\n"
            for option in options {
                text += "\(option) = \"\(configuration.rawValue(section: section, option: option) ?? "")\"\n"
            }
        }
        return text
    }

    /// What was parsed, written out and parsed again, is the same: sections and options
    /// with their first spelling, in order, with their values.
    static func reparse(_ configuration: Configuration) {
        let text = serialized(configuration)
        var again = Configuration(environment: ConfigSandbox.environment)
        do throws(SecmodError) {
            try again.load(text: text, fileName: ConfigSandbox.shared.mainFile)
        } catch {
            invariant(false, "the configuration written out does not parse: \(error.message)\n\(text)")
        }
        func populated(_ c: Configuration) -> [String] { c.sectionNames.filter { !c.optionNames(in: $0).isEmpty } }
        invariant(populated(again) == populated(configuration), "sections differ after writing out and parsing again")
        for section in populated(configuration) {
            let options = configuration.optionNames(in: section)
            invariant(again.optionNames(in: section) == options, "options of [\(section)] differ after parsing again")
            for option in options {
                invariant(again.rawValue(section: section, option: option) == configuration.rawValue(section: section, option: option),
                          "[\(section)] \(option) differs after parsing again")
            }
        }
    }

    /// Every typed reader on every value. Errors are expected; crashes, hangs and these
    /// broken promises are not.
    static func values(_ configuration: Configuration) {
        for section in configuration.sectionNames {
            for option in configuration.optionNames(in: section) {
                let raw = configuration.rawValue(section: section, option: option) ?? ""
                if let expanded = try? configuration.string(section: section, option: option), !raw.unicodeScalars.contains("$") {
                    invariant(expanded == raw, "[\(section)] \(option): expansion changed a value without '$'")
                }
                _ = try? configuration.filename(section: section, option: option)
                if let time = try? configuration.time(section: section, option: option) {
                    invariant((try? parseRelativeTime(formatRelativeTime(time))) == time,
                              "relative time \(time) does not survive formatting")
                }
                _ = try? configuration.number(section: section, option: option)
                _ = try? configuration.size(section: section, option: option)
                _ = try? configuration.yesno(section: section, option: option)
                _ = try? configuration.choice(section: section, option: option, among: ["RSA", "CS", "EdDSA"])
            }
        }
    }
}
