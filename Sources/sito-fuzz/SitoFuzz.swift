// sito-fuzz: the libFuzzer harness of the two readers that parse untrusted bytes first: the `.sito`
// loader (SitoFile: preamble, header JSON, directory, schema) and the safetensors header parser
// (SafetensorsFile). README "Fuzzing" has the commands and the recorded runs.
//
// The first byte of an input picks the target and options, the rest is the file:
//   bit 0: 0 = .sito, 1 = safetensors
//   bit 1: .sito only: checkSchema off (sito-inspect's mode)
//   bit 2: .sito only: verifyChecksums on
// The bytes are written to one file in /dev/shm (or the temp folder) and opened by path, so the real
// open/fstat/mmap/pread code runs, not a test-only entry point.
//
// A normal `swift build` compiles this file without SITO_FUZZ: a stub that says how to build the
// harness. The fuzzer build (the fuzzer runtime provides `main`):
//   swift build -c release --scratch-path .build-fuzz --product sito-fuzz \
//     -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DSITO_FUZZ
#if SITO_FUZZ
import Foundation
import SitoFormat
import SitoTools

#if canImport(Glibc)
import Glibc
#endif

/// The file every input is written to: one per process (libFuzzer workers are processes).
private let scratchPath: String = {
    let folder = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return "\(folder)/sito-fuzz-\(getpid()).bin"
}()

nonisolated(unsafe) private var scratchFD: Int32 = -1  // written once, by the single fuzzing thread

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard let data, size >= 1 else { return 0 }
    if scratchFD < 0 {
        scratchFD = open(scratchPath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(scratchFD >= 0, "cannot create \(scratchPath)")
        atexit { unlink(scratchPath) }
    }
    let selector = data[0]
    guard ftruncate(scratchFD, 0) == 0, pwrite(scratchFD, data + 1, size - 1, 0) == size - 1 else { return 0 }
    if selector & 1 == 0 {
        let options = SitoOpenOptions(verifyChecksums: selector & 4 != 0, checkSchema: selector & 2 == 0)
        if let file = try? SitoFile(contentsOf: URL(fileURLWithPath: scratchPath), options: options) {
            // A file that opens is trusted by the hot paths: touch every tensor view it hands out.
            for entry in file.header.tensors {
                if let view = file.tensor(entry.name), view.bytes.count > 0 {
                    _ = view.bytes[0] &+ view.bytes[view.bytes.count - 1]
                }
            }
        }
    } else {
        if let st = try? SafetensorsFile(path: scratchPath) {
            // Every accepted tensor lies inside the file: read its last byte.
            for t in st.tensors where t.bytes > 0 {
                var byte: UInt8 = 0
                precondition(pread(scratchFD, &byte, 1, off_t(t.fileOffset + t.bytes - 1)) == 1, "tensor \(t.name) past the end")
            }
        }
    }
    return 0
}

/// libFuzzer's driver (compiler-rt FuzzerDriver.cpp: `int LLVMFuzzerRunDriver(int *argc, char ***argv,
/// int (*UserCb)(const uint8_t *Data, size_t Size))`). Declared by symbol name: its arguments are
/// pointers and its result an int, which the Swift and C calling conventions pass identically.
@_silgen_name("LLVMFuzzerRunDriver")
private func llvmFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                                 _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The process entry point. SwiftPM links a Linux executable with `main` aliased to `<module>_main`
/// (`--defsym main=sito_fuzz_main`, so that tests can link executables), which keeps libFuzzer's own
/// `main` out: this one hands control to libFuzzer's driver with the callback above.
@_cdecl("sito_fuzz_main")
public func sitoFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc
    var argv = argv
    return llvmFuzzerRunDriver(&argc, &argv, fuzzOne)
}
#else
import Foundation

/// The normal build's stub (an @main type, not top-level code: the fuzzer build parses this file as a
/// library, where top-level expressions are errors even in an inactive #if branch).
@main
struct SitoFuzzStub {
    static func main() {
        FileHandle.standardError.write(Data("""
            sito-fuzz is a libFuzzer harness; this is a normal build of it. Build the harness with:
              swift build -c release --scratch-path .build-fuzz --product sito-fuzz \\
                -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DSITO_FUZZ
            and see README, "Fuzzing".

            """.utf8))
        exit(2)
    }
}
#endif
