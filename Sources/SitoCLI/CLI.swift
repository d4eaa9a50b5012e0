// CLI.swift: the one way a sito-* executable runs. ArgumentParser parses (usage errors exit 2, like every
// other bad input), every argument must be valid UTF-8, `execute()` does the work, and whatever it throws
// becomes one line on stderr naming the file and the problem, with exit code 2 (ToolExit).
import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Sito

/// A sito-* executable. Conform, write `execute()`, and mark the type `@main`.
public protocol SitoTool: ParsableCommand {
    /// The work. Throw errors meant for the user (`LocalizedError`s naming the file), `ValidationError`
    /// for a usage problem found late, or ArgumentParser's `ExitCode` for a deliberate exit status (e.g.
    /// sito-verify's 1 when a check ran and failed).
    func execute() throws
}

extension SitoTool {
    /// The name in messages: the command name (`sito-rerank`).
    public static var toolName: String { configuration.commandName ?? "sito" }

    public func run() throws {
        do {
            try execute()
        } catch let exit as ExitCode {
            throw exit
        } catch {
            ToolExit.fail(Self.toolName, error)
        }
    }

    public static func main() { mainExitingTwoOnBadUsage() }
}

/// `--attention automatic|f32|bf16`.
extension AttentionPrecision: ExpressibleByArgument {}

/// `--truncation-direction right|left`.
extension TruncationSide: ExpressibleByArgument {}

/// An argument that is not valid UTF-8 (Swift would silently turn it into U+FFFD).
public struct InvalidArgumentEncoding: Error, CustomStringConvertible {
    public let position: Int
    public var description: String {
        "argument \(position) is not valid UTF-8 (texts and paths given as arguments must be UTF-8; a file given with --documents or --input may be checked line by line)"
    }
}

/// Index (1-based) of the first command-line argument that is not valid UTF-8, if any.
public func firstArgumentNotUTF8() -> Int? {
    for i in 1..<Int(CommandLine.argc) {
        guard let p = CommandLine.unsafeArgv[i] else { continue }
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(p).assumingMemoryBound(to: UInt8.self), count: strlen(p))
        if String(validating: bytes, as: UTF8.self) == nil { return i }
    }
    return nil
}

extension ParsableCommand {
    /// The entry point of every sito-* tool: ArgumentParser's, except that usage and validation errors
    /// (ArgumentParser's exit code 64) and arguments that are not UTF-8 exit with `ToolExit.badInput` (2),
    /// as every other bad input does.
    public static func mainExitingTwoOnBadUsage() {
        var command = parseExitingTwoOnBadUsage()
        do {
            try command.run()
        } catch {
            exitTwoOnBadUsage(error)
        }
    }

    /// The command line parsed (and validated); exits 2 for arguments that are not UTF-8 or do not parse.
    static func parseExitingTwoOnBadUsage() -> ParsableCommand {
        if let position = firstArgumentNotUTF8() {
            StandardStream.error.write("\(configuration.commandName ?? "sito"): error: \(InvalidArgumentEncoding(position: position))\n")
            Glibc.exit(ToolExit.badInput)
        }
        do {
            return try parseAsRoot()
        } catch {
            exitTwoOnBadUsage(error)
        }
    }

    /// Exits for `error`: 2 for a usage or validation error, ArgumentParser's code and message otherwise.
    static func exitTwoOnBadUsage(_ error: Error) -> Never {
        if exitCode(for: error) == .validationFailure {
            StandardStream.error.write(fullMessage(for: error) + "\n")
            Glibc.exit(ToolExit.badInput)
        }
        exit(withError: error)
    }
}

extension AsyncParsableCommand {
    /// The entry point of the async tools (sito-serve), with the exit codes of `mainExitingTwoOnBadUsage()`.
    public static func mainExitingTwoOnBadUsage() async {
        var command = parseExitingTwoOnBadUsage()
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exitTwoOnBadUsage(error)
        }
    }
}

extension ToolExit {
    /// Runs `body`; on a thrown error prints `tool: error: <description>` to stderr and exits with `code`
    /// (`badInput`, 2, unless the caller says otherwise). Throw only errors meant for the user from
    /// `body` — not ArgumentParser's `ExitCode`, which this would print as an error.
    public static func run<T>(_ tool: String, code: Int32 = badInput, _ body: () throws -> T) -> T {
        do {
            return try body()
        } catch {
            fail(tool, error, code: code)
        }
    }
}
