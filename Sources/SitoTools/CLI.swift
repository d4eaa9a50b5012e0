// CLI.swift: the shared way a sito-* executable runs its work: errors become one line on stderr (the
// error's LocalizedError.errorDescription, which names the file) and an exit code (see ToolExit).
import ArgumentParser
import Foundation
import Sito

/// `--attention automatic|f32|bf16` of sito-verify and sito-bench (RerankerOptions.attention).
extension AttentionPrecision: ExpressibleByArgument {}

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

    /// Prints `tool: warning: <message>` on stderr and carries on.
    public static func warn(_ tool: String, _ message: String) {
        FileHandle.standardError.write(Data("\(tool): warning: \(message)\n".utf8))
    }
}

extension ParsableCommand {
    /// The entry point of every sito-* tool: ArgumentParser's, except that usage and validation errors
    /// (ArgumentParser's exit code 64) exit with `ToolExit.badInput` (2), as every other bad input does.
    public static func mainExitingTwoOnBadUsage() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(ToolExit.badInput)
            }
            exit(withError: error)
        }
    }
}
