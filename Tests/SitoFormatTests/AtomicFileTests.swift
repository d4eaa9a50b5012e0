// AtomicFileTests.swift: outputs appear complete or not at all (formats/sito.md, "Writing"): abort and
// failure leave the destination as it was and no temporary behind; commit replaces it in one rename;
// an output never overwrites one of the tool's inputs.
import Foundation
import SitoTestSupport
import XCTest
@testable import SitoFormat

#if canImport(Glibc)
import Glibc
#endif

final class AtomicFileTests: XCTestCase {
    private func listing(_ folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    private func inode(_ path: String) -> UInt64? {
        var st = stat()
        return stat(path, &st) == 0 ? UInt64(st.st_ino) : nil
    }

    private func write(_ file: AtomicFile, _ text: String) throws {
        try Array(text.utf8).withUnsafeBytes { try file.write($0) }
    }

    func testCommitReplacesInOneStep() throws {
        let folder = try Tiny.temporaryFolder(self)
        let dest = folder.appendingPathComponent("out.sito")
        try Data("old contents".utf8).write(to: dest)
        let oldInode = inode(dest.path)
        let oldHandle = try FileHandle(forReadingFrom: dest)
        defer { try? oldHandle.close() }

        let out = try AtomicFile(destination: dest.path)
        try write(out, "new contents, longer than the old ones")
        try Array("NEW".utf8).withUnsafeBytes { try out.write($0, at: 0) }
        // Until commit, the destination is untouched and the output has no name in the folder.
        XCTAssertEqual(try String(contentsOf: dest, encoding: .utf8), "old contents")
        XCTAssertEqual(try listing(folder), ["out.sito"])
        try out.commit()

        XCTAssertEqual(try String(contentsOf: dest, encoding: .utf8), "NEW contents, longer than the old ones")
        XCTAssertEqual(try listing(folder), ["out.sito"])
        XCTAssertNotEqual(inode(dest.path), oldInode, "replaced by rename, not rewritten in place")
        // A reader holding the old file keeps reading the old bytes.
        XCTAssertEqual(String(decoding: oldHandle.readDataToEndOfFile(), as: UTF8.self), "old contents")
        out.abort() // after commit: a no-op
        XCTAssertTrue(FileManager.default.fileExists(atPath: dest.path))
    }

    func testCommitCreatesANewFile() throws {
        let folder = try Tiny.temporaryFolder(self)
        let dest = folder.appendingPathComponent("fresh.sito")
        let out = try AtomicFile(destination: dest.path)
        try write(out, "hello")
        try out.commit()
        XCTAssertEqual(try String(contentsOf: dest, encoding: .utf8), "hello")
        XCTAssertEqual(try listing(folder), ["fresh.sito"])
    }

    func testAbortLeavesNoFileAndTheDestinationUnchanged() throws {
        let folder = try Tiny.temporaryFolder(self)
        let fresh = folder.appendingPathComponent("fresh.sito")
        let out = try AtomicFile(destination: fresh.path)
        try write(out, "partial")
        out.abort()
        out.abort()
        XCTAssertEqual(try listing(folder), [])

        let existing = folder.appendingPathComponent("existing.sito")
        try Data("precious".utf8).write(to: existing)
        let before = inode(existing.path)
        let out2 = try AtomicFile(destination: existing.path)
        try write(out2, "partial")
        out2.abort()
        XCTAssertEqual(try String(contentsOf: existing, encoding: .utf8), "precious")
        XCTAssertEqual(inode(existing.path), before)
        XCTAssertEqual(try listing(folder), ["existing.sito"])

        // Dropping the output without commit is an abort.
        do {
            let out3 = try AtomicFile(destination: existing.path)
            try write(out3, "dropped")
        }
        XCTAssertEqual(try String(contentsOf: existing, encoding: .utf8), "precious")
        XCTAssertEqual(try listing(folder), ["existing.sito"])
    }

    func testRefusesToOverwriteAnInput() throws {
        let folder = try Tiny.temporaryFolder(self)
        let sub = folder.appendingPathComponent("sub")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: false)
        let input = sub.appendingPathComponent("model.sito")
        try Data("the input".utf8).write(to: input)
        let hardLink = folder.appendingPathComponent("hard.sito")
        try FileManager.default.linkItem(at: input, to: hardLink)
        let symlink = folder.appendingPathComponent("soft.sito")
        try FileManager.default.createSymbolicLink(at: symlink, withDestinationURL: input)

        let spellings = [input.path, sub.path + "/./model.sito", folder.path + "/sub/../sub/model.sito", hardLink.path, symlink.path]
        for destination in spellings {
            XCTAssertThrowsError(try AtomicFile(destination: destination, inputs: [input.path]), destination) {
                XCTAssertEqual($0 as? SitoFormatError,
                               .writeFailed(path: destination, reason: "refusing to overwrite the input \(input.path)"))
            }
            // The same with the input named by another spelling.
            XCTAssertThrowsError(try AtomicFile(destination: input.path, inputs: ["/nonexistent", destination]), destination)
        }
        XCTAssertEqual(try String(contentsOf: input, encoding: .utf8), "the input")
        XCTAssertEqual(try listing(sub), ["model.sito"])
        // A different file is fine.
        let other = try AtomicFile(destination: folder.appendingPathComponent("other.sito").path, inputs: [input.path])
        other.abort()
    }

    func testRefusesADirectoryOrAMissingFolder() throws {
        let folder = try Tiny.temporaryFolder(self)
        XCTAssertThrowsError(try AtomicFile(destination: folder.path)) {
            XCTAssertEqual($0 as? SitoFormatError, .writeFailed(path: folder.path, reason: "is a directory"))
        }
        let nowhere = folder.appendingPathComponent("missing/out.sito").path
        XCTAssertThrowsError(try AtomicFile(destination: nowhere)) {
            XCTAssertEqual($0 as? SitoFormatError, .writeFailed(path: nowhere, reason: "folder \(folder.path)/missing does not exist"))
        }
    }

    func testSitoWriterRefusesToOverwriteItsInput() throws {
        let url = try Tiny.temporaryFolder(self).appendingPathComponent("m.sito")
        try Tiny.write(Tiny.header(), to: url)
        let before = try Data(contentsOf: url)
        XCTAssertThrowsError(try SitoWriter(destination: url.path, header: Tiny.header(), inputs: [url.path])) {
            guard case .writeFailed(_, let reason)? = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertTrue(reason.contains("refusing to overwrite"), reason)
        }
        XCTAssertEqual(try Data(contentsOf: url), before)
    }

    // MARK: full disk

    /// A 64 KiB tmpfs, unmounted at teardown; skips the test where mounting is not allowed (not root,
    /// no CAP_SYS_ADMIN in a container, macOS).
    private func smallDisk() throws -> URL {
        let folder = try Tiny.temporaryFolder(self)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=64k", "tmpfs", folder.path]
        mount.standardError = FileHandle.nullDevice
        do { try mount.run() } catch { throw XCTSkip("cannot run mount: \(error)") }
        mount.waitUntilExit()
        guard mount.terminationStatus == 0 else { throw XCTSkip("mounting a tmpfs is not allowed here (status \(mount.terminationStatus))") }
        addTeardownBlock {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [folder.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        return folder
    }

    func testFullDiskLeavesTheDestinationUnchanged() throws {
        let disk = try smallDisk()
        let dest = disk.appendingPathComponent("out.sito")
        try Data("precious".utf8).write(to: dest)
        let out = try AtomicFile(destination: dest.path)
        let chunk = [UInt8](repeating: 0xAB, count: 16 << 10)
        XCTAssertThrowsError(try { for _ in 0..<16 { try chunk.withUnsafeBytes { try out.write($0) } } }()) {
            guard case let .writeFailed(path, reason)? = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, dest.path)
            XCTAssertTrue(reason.contains("No space left"), reason)
        }
        out.abort()
        XCTAssertEqual(try String(contentsOf: dest, encoding: .utf8), "precious")
        XCTAssertEqual(try listing(disk), ["out.sito"])
        // The space the unnamed temporary held is free again.
        let again = try AtomicFile(destination: dest.path)
        try chunk.withUnsafeBytes { try again.write($0) }
        try again.commit()
        XCTAssertEqual(try Data(contentsOf: dest).count, chunk.count)
    }

    func testFullDiskDuringSitoWriter() throws {
        let disk = try smallDisk()
        let dest = disk.appendingPathComponent("model.sito")
        try Data("the previous model".utf8).write(to: dest)
        var big = Tiny.model
        big.vocab = 4096 // a 128 KiB word table: more than the disk holds
        var header = Tiny.header(model: big)
        header.tokenizer.specials.mask = 4095
        header.tokenizer.addedTokens = []
        XCTAssertThrowsError(try Tiny.write(header, to: dest)) {
            guard case let .writeFailed(path, reason)? = $0 as? SitoFormatError else { return XCTFail("\($0)") }
            XCTAssertEqual(path, dest.path)
            XCTAssertTrue(reason.contains("No space left"), reason)
        }
        XCTAssertEqual(try String(contentsOf: dest, encoding: .utf8), "the previous model")
        XCTAssertEqual(try listing(disk), ["model.sito"])
        // A model that fits is written over the old file.
        try Tiny.write(Tiny.header(), to: dest)
        XCTAssertNoThrow(try SitoFile(contentsOf: dest, options: SitoOpenOptions(verifyChecksums: true)))
        XCTAssertEqual(try listing(disk), ["model.sito"])
    }
}
