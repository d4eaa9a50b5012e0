// AtomicFile.swift: how every Sito tool writes its output (formats/sito.md, "Writing").
// The bytes go to an unnamed file in the destination's folder (Linux O_TMPFILE; a hidden named
// temporary elsewhere), are fsynced, and only then get the destination's name by a rename. A full disk,
// an error or a kill before `commit` leaves the destination as it was and no partial file behind.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public final class AtomicFile {
    public let destination: String
    private var fd: Int32
    /// Name of the visible temporary when O_TMPFILE was not available; nil for an unnamed file.
    private var namedTemporary: String?
    private var done = false

    /// Opens an output for `destination`. Refuses when `destination` is one of `inputs` (same file,
    /// whatever the path spelling).
    public init(destination: String, inputs: [String] = []) throws {
        self.destination = destination
        var destStat = stat()
        if stat(destination, &destStat) == 0 {
            if (destStat.st_mode & S_IFMT) == S_IFDIR {
                throw SitoFormatError.writeFailed(path: destination, reason: "is a directory")
            }
            for input in inputs {
                var inStat = stat()
                if stat(input, &inStat) == 0, inStat.st_dev == destStat.st_dev, inStat.st_ino == destStat.st_ino {
                    throw SitoFormatError.writeFailed(path: destination, reason: "refusing to overwrite the input \(input)")
                }
            }
        }
        let url = URL(fileURLWithPath: destination)
        let folder = url.deletingLastPathComponent().path
        var folderStat = stat()
        guard stat(folder, &folderStat) == 0, (folderStat.st_mode & S_IFMT) == S_IFDIR else {
            throw SitoFormatError.writeFailed(path: destination, reason: "folder \(folder) does not exist")
        }
        #if os(Linux)
        // O_TMPFILE is a composite C macro Swift does not import: __O_TMPFILE (020000000 on x86-64 and
        // arm64) | O_DIRECTORY. Filesystems without support answer EOPNOTSUPP/EISDIR; we fall back.
        let oTmpfile: Int32 = 0o20_000_000 | O_DIRECTORY
        let unnamed = Glibc.open(folder, oTmpfile | O_WRONLY | O_CLOEXEC, 0o644)
        #else
        let unnamed: Int32 = -1
        #endif
        if unnamed >= 0 {
            fd = unnamed
            namedTemporary = nil
        } else {
            let temp = folder + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            let named = Glibc.open(temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o644)
            if named < 0 {
                throw SitoFormatError.writeFailed(path: destination, reason: "cannot create a temporary file in \(folder): \(String(cString: strerror(errno)))")
            }
            fd = named
            namedTemporary = temp
        }
    }

    deinit { abort() }

    private func failure(_ what: String) -> SitoFormatError {
        .writeFailed(path: destination, reason: "\(what): \(String(cString: strerror(errno)))")
    }

    /// Appends all of `bytes` at the current position.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var p = bytes.baseAddress
        var left = bytes.count
        while left > 0, let q = p {
            let n = Glibc.write(fd, q, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            p = q + n
            left -= n
        }
    }

    /// Writes `bytes` at absolute `offset` without moving the append position.
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            done += n
        }
    }

    /// fsyncs, names the file `destination` (replacing any previous file there) and syncs the folder.
    public func commit() throws {
        precondition(!done, "AtomicFile committed twice")
        if fsync(fd) != 0 { throw failure("fsync") }
        let folder = URL(fileURLWithPath: destination).deletingLastPathComponent().path
        if let temp = namedTemporary {
            if rename(temp, destination) != 0 { throw failure("rename") }
        } else {
            // Give the unnamed file a hidden name, then rename it over the destination (linkat cannot replace).
            let temp = folder + "/." + URL(fileURLWithPath: destination).lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            if linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, temp, AT_SYMLINK_FOLLOW) != 0 { throw failure("link") }
            if rename(temp, destination) != 0 {
                let saved = errno
                unlink(temp)
                errno = saved
                throw failure("rename")
            }
        }
        close(fd)
        fd = -1
        done = true
        let dirfd = Glibc.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    /// Discards the output. Safe to call more than once; called by deinit.
    public func abort() {
        if done { return }
        done = true
        if fd >= 0 { close(fd); fd = -1 }
        if let temp = namedTemporary { unlink(temp) }
    }
}
