// OutputSafety.swift: whether a tool may write its output at a path — the one rule sito-convert and
// sito-quantize share, checked before any work starts. A tool never writes over a file it reads or may
// read (same file under any spelling: relative, `..`, `.`, `//`, a symlinked folder, the output itself a
// symlink, a hard link — compared by resolved path and by device and inode), never replaces an existing
// file that is not a `.sito` file, and needs an existing, writable folder. The write itself stays
// atomic (SitoFormat's AtomicFile, which also refuses its inputs by inode at the moment it opens).
import Foundation
import SitoFormat

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file a tool reads or may read, and what it is to the tool (for the message).
public struct ProtectedInput: Sendable, Equatable {
    public let path: String
    /// e.g. "the model's config.json, which sito-convert reads".
    public let role: String

    public init(path: String, role: String) {
        self.path = path
        self.role = role
    }
}

/// Why an output path was refused. Every message names the output as the user gave it.
public enum OutputRefusal: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    case emptyPath
    case isInput(output: String, input: String, role: String)
    case notSito(output: String, start: [UInt8])
    case notPlan(output: String)
    case notRegularFile(output: String)
    case isFolder(output: String)
    case folderMissing(output: String, folder: String)
    case folderIsNotAFolder(output: String, folder: String)
    case folderNotWritable(output: String, folder: String, reason: String)

    public var errorDescription: String? {
        switch self {
        case .emptyPath:
            return "the output path is empty"
        case let .isInput(output, input, role):
            return "\(output): refusing to overwrite the input \(input) (\(role)); choose an output outside the files the tool reads"
        case let .notSito(output, start):
            let shown = start.isEmpty ? "it is empty" : "it starts with [\(start.map { String(format: "%02x", $0) }.joined(separator: " "))], not \"SITO\""
            return "\(output): refusing to replace an existing file that is not a .sito file (\(shown)); remove it or choose another output"
        case let .notPlan(output):
            return "\(output): refusing to replace an existing file that is not a Sito plan file; remove it or choose another output"
        case let .notRegularFile(output):
            return "\(output): refusing to replace something that is not a regular file"
        case let .isFolder(output):
            return "\(output): is a folder; the output must name a file"
        case let .folderMissing(output, folder):
            return "\(output): cannot write the output: folder \(folder) does not exist"
        case let .folderIsNotAFolder(output, folder):
            return "\(output): cannot write the output: \(folder) is not a folder"
        case let .folderNotWritable(output, folder, reason):
            return "\(output): cannot write the output: folder \(folder) is not writable (\(reason))"
        }
    }

    public var description: String { errorDescription ?? "output refused" }
}

/// What a tool writes, which decides what existing file it may replace: a file of the same kind only.
public enum OutputKind: Sendable {
    /// A `.sito` file (starts with "SITO").
    case sito
    /// A plan file (`sito-plan/1` JSON; PlanFile).
    case plan
}

public enum OutputSafety {
    /// Throws an `OutputRefusal` unless `output` may be written: not one of `inputs` (by resolved path,
    /// and by device and inode when both exist), not an existing file of another kind than `kind`, not a folder, in an
    /// existing writable folder.
    public static func check(output: String, inputs: [ProtectedInput], kind: OutputKind = .sito) throws {
        guard !output.isEmpty else { throw OutputRefusal.emptyPath }
        let destination = resolved(output)
        var outStat = stat()
        let exists = stat(output, &outStat) == 0
        for input in inputs {
            if resolved(input.path) == destination { throw OutputRefusal.isInput(output: output, input: input.path, role: input.role) }
            var inStat = stat()
            if exists, stat(input.path, &inStat) == 0, inStat.st_dev == outStat.st_dev, inStat.st_ino == outStat.st_ino {
                throw OutputRefusal.isInput(output: output, input: input.path, role: input.role)
            }
        }
        if exists {
            switch outStat.st_mode & S_IFMT {
            case S_IFDIR: throw OutputRefusal.isFolder(output: output)
            case S_IFREG:
                switch kind {
                case .sito:
                    let start = firstBytes(output, count: SitoLayout.magic.count)
                    if start != SitoLayout.magic { throw OutputRefusal.notSito(output: output, start: start ?? []) }
                case .plan:
                    if !PlanFile.isPlan(path: output) { throw OutputRefusal.notPlan(output: output) }
                }
            default: throw OutputRefusal.notRegularFile(output: output)
            }
        } else if output.hasSuffix("/") || lastComponent(output) == "." || lastComponent(output) == ".." {
            throw OutputRefusal.isFolder(output: output)
        }
        // The folder the output is created in, as the kernel will find it (AtomicFile opens it).
        let folder = parent(output)
        var folderStat = stat()
        guard stat(folder, &folderStat) == 0 else {
            if errno == ENOTDIR { throw OutputRefusal.folderIsNotAFolder(output: output, folder: folder) }
            throw OutputRefusal.folderMissing(output: output, folder: folder)
        }
        guard folderStat.st_mode & S_IFMT == S_IFDIR else { throw OutputRefusal.folderIsNotAFolder(output: output, folder: folder) }
        guard access(folder, W_OK | X_OK) == 0 else {
            throw OutputRefusal.folderNotWritable(output: output, folder: folder, reason: String(cString: strerror(errno)))
        }
    }

    /// The canonical absolute path of `path`: symlinks followed (the file's own too, when it is one),
    /// `.`, `..` and repeated slashes removed; for a file that does not exist, its resolved folder and its
    /// name. Two spellings of one file give the same string.
    public static func resolved(_ path: String) -> String {
        var current = absolute(path)
        for _ in 0..<40 {   // symlink hops (the kernel's limit)
            if let real = realpath(current, nil) {
                defer { free(real) }
                return String(cString: real)
            }
            // The path does not exist (or is a dangling symlink): resolve its folder, keep its name.
            let name = lastComponent(current)
            let folderPath = parent(current)
            let folder: String
            if let real = realpath(folderPath, nil) {
                folder = String(cString: real)
                free(real)
            } else {
                return normalized(current)
            }
            let joined = folder == "/" ? "/" + name : folder + "/" + name
            if name == "." || name == ".." { return normalized(joined) }
            // A dangling symlink: follow its text (relative to its folder).
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(joined, &buffer, Int(PATH_MAX))
            guard n > 0 else { return joined }
            let target = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            current = target.hasPrefix("/") ? target : folder + "/" + target
        }
        return normalized(current)
    }

    /// First `count` bytes of a file (fewer if it is shorter); nil if it cannot be read.
    static func firstBytes(_ path: String, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, count) }
        return n < 0 ? nil : Array(bytes[0..<n])
    }

    private static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        return FileManager.default.currentDirectoryPath + "/" + path
    }

    /// The last non-empty component ("a/b//" → "b").
    private static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? "/"
    }

    /// The folder part as the kernel reads it: everything before the last component ("." for none).
    private static func parent(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1 && p.hasSuffix("/") { p = p.dropLast() }
        guard let slash = p.lastIndex(of: "/") else { return "." }
        let folder = p[..<slash]
        return folder.isEmpty ? "/" : String(folder)
    }

    /// Lexical clean-up of an absolute path whose folders do not exist (nothing to resolve there).
    private static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/") where c != "." {
            if c == ".." { _ = parts.popLast() } else { parts.append(c) }
        }
        return "/" + parts.joined(separator: "/")
    }
}
