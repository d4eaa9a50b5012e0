// HostileSupport.swift: how the hostile-input tests (HostileInputTests.swift) break what they start from
// (the micro model, MicroModel.swift): outcome counting, the hang watchdog, safetensors and JSON mutations.
//
// Deterministic: every mutation comes from SplitMix64 with a fixed seed, and every JSON document is
// written with sorted keys, so a failing case number means the same bytes on every run.
import Foundation
import Sito
import SitoFormat
import SitoTestSupport
@testable import SitoTools
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Counts how each case ended, and prints one line a CI log reader can grep.
struct Outcomes {
    let name: String
    var counts: [String: Int] = [:]
    /// Cases run (set by the runner); outcomes recorded (a case may record one per entry point it reaches).
    var cases = 0
    var recorded = 0

    init(_ name: String) { self.name = name }

    mutating func valid(_ what: String = "valid") {
        recorded += 1
        counts[what, default: 0] += 1
    }

    mutating func error(_ error: Error) {
        recorded += 1
        // "SafetensorsError.overlap", "ConversionError.badConfig", ...: type and case, no payload.
        let caseName = String(describing: error).prefix { $0 != "(" && $0 != ":" }
        // SITO_HOSTILE_SHOW=<substring>: print the full message of matching outcomes while debugging.
        if let show = ProcessInfo.processInfo.environment["SITO_HOSTILE_SHOW"], "\(type(of: error)).\(caseName)".contains(show) {
            print("HostileInputTests.\(name) case \(cases): \((error as? LocalizedError)?.errorDescription ?? "\(error)")")
        }
        counts["\(type(of: error)).\(caseName)", default: 0] += 1
    }

    func report(seconds: Double) {
        let top = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("HostileInputTests.\(name): \(cases) cases, 0 crashes, 0 hangs, \(String(format: "%.1f", seconds)) s; outcomes: \(top)")
    }
}

/// A case that runs longer than `limit` seconds is a hang: the watchdog names it and aborts the process
/// (a hang in CI becomes a crash with a case number instead of a job that never ends).
final class Watchdog: Sendable {
    private struct State {
        var label = ""
        var started = Date()
        var stopped = false
    }
    private let state = Locked(State())
    let limit: TimeInterval

    init(limit: TimeInterval = 30) {
        self.limit = limit
        let thread = Thread { [weak self] in
            while let self {
                Thread.sleep(forTimeInterval: 0.5)
                let (done, what, age) = self.state.withLock { ($0.stopped, $0.label, Date().timeIntervalSince($0.started)) }
                if done { return }
                if age > self.limit {
                    FileHandle.standardError.write(Data("HostileInputTests: case \(what) ran \(Int(age)) s: a hang\n".utf8))
                    abort()
                }
            }
        }
        thread.start()
    }

    func begin(_ what: String) {
        state.withLock {
            $0.label = what
            $0.started = Date()
        }
    }

    func stop() {
        state.withLock { $0.stopped = true }
    }
}

/// Peak resident memory of this process so far, in MiB (Linux ru_maxrss is in KiB).
func peakRSSMiB() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) / 1024
}

// MARK: - safetensors

/// A safetensors tensor to write.
struct RawTensor {
    var name: String
    var dtype: String
    var shape: [Int]
    var data: [UInt8]
}

/// The bytes of a safetensors file: u64 LE header length, the JSON header (sorted names), the data.
func safetensorsBytes(_ tensors: [RawTensor], metadata: [String: String]? = ["format": "pt"]) -> [UInt8] {
    var header: [String: Any] = [:]
    var offset = 0
    var data: [UInt8] = []
    for t in tensors.sorted(by: { $0.name < $1.name }) {
        header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.data.count]]
        offset += t.data.count
        data += t.data
    }
    if let metadata { header["__metadata__"] = metadata }
    let json = [UInt8](try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
    var out: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out += $0 }
    return out + json + data
}

/// Header JSON bytes, data start and total size of a safetensors byte string (nil when unreadable).
func splitSafetensors(_ bytes: [UInt8]) -> (json: [UInt8], dataStart: Int)? {
    guard bytes.count >= 8 else { return nil }
    let n = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
    guard n <= UInt64(bytes.count - 8) else { return nil }
    return (Array(bytes[8..<(8 + Int(n))]), 8 + Int(n))
}

// MARK: - JSON mutations

/// Paths into a JSON tree: object keys and array indices.
enum JSONStep: CustomStringConvertible {
    case key(String)
    case index(Int)
    var description: String {
        switch self {
        case let .key(k): return ".\(k)"
        case let .index(i): return "[\(i)]"
        }
    }
}

/// Every path in `value`, depth first, keys sorted (deterministic). Arrays longer than `arraySample`
/// contribute their first few and last element only, so a 64-entry vocabulary does not drown the rest.
func jsonPaths(_ value: Any, arraySample: Int = 6) -> [[JSONStep]] {
    var out: [[JSONStep]] = []
    func walk(_ v: Any, _ path: [JSONStep]) {
        if let o = v as? [String: Any] {
            for k in o.keys.sorted() {
                out.append(path + [.key(k)])
                walk(o[k]!, path + [.key(k)])
            }
        } else if let a = v as? [Any] {
            var indices = Array(0..<min(a.count, arraySample))
            if a.count > arraySample { indices.append(a.count - 1) }
            for i in indices {
                out.append(path + [.index(i)])
                walk(a[i], path + [.index(i)])
            }
        }
    }
    walk(value, [])
    return out
}

/// `root` with the value at `path` replaced by `f(old)` (nil: removed).
func jsonEdit(_ root: Any, _ path: ArraySlice<JSONStep>, _ f: (Any) -> Any?) -> Any {
    guard let step = path.first else { return f(root) ?? NSNull() }
    switch step {
    case let .key(k):
        guard var o = root as? [String: Any], let child = o[k] else { return root }
        if path.count == 1 {
            o[k] = f(child)
        } else {
            o[k] = jsonEdit(child, path.dropFirst(), f)
        }
        return o
    case let .index(i):
        guard var a = root as? [Any], i < a.count else { return root }
        if path.count == 1 {
            if let v = f(a[i]) { a[i] = v } else { a.remove(at: i) }
        } else {
            a[i] = jsonEdit(a[i], path.dropFirst(), f)
        }
        return a
    }
}

/// Values a hostile writer puts where a number, string, list or object belongs. Numbers that do not fit
/// a Double exactly are injected as text (`HostileJSON.literal`).
// nonisolated(unsafe): a constant of immutable values ([Any] is not Sendable by type, only by use).
nonisolated(unsafe) let hostileValues: [Any] = [
    0, -1, 1, 2, 63, 64, -64, 255, 65536, 2_147_483_648, 4_294_967_296, 1 << 40, (1 << 40) + 1, 1 << 53,
    Int.max, Int.min, Int.max - 1023, -Double.greatestFiniteMagnitude, Double.greatestFiniteMagnitude, 1.5, -0.0,
    1e-300, "", "x", "NaN", "\u{0}", String(repeating: "a", count: 300), NSNull(), true, false, [Any](), [String: Any](),
    [0, 0], [-1, 1], [1, 0], [Int.max, Int.max], [0, Int.max], [Int.max - 7, Int.max],
    [1 << 32, 1 << 32], [1 << 31, 1 << 31, 1 << 31], [-1], [0], [1, 1, 1, 1, 1, 1, 1, 1, 1],
]

/// Numbers no Double holds: written into the JSON text directly.
let hostileLiterals = ["9223372036854775807", "9223372036854775808", "-9223372036854775809",
                       "18446744073709551616", "1e400", "-1e400", "123456789012345678901234567890", "1.0e-400",
                       "0.1e1", "-0", "1E2"]

/// One structural or textual mutation of a JSON document. `keyBias` (when non-empty) makes paths whose
/// last key is one of these names three times as likely to be picked.
func mutateJSON(_ original: Any, _ rng: inout SplitMix64, keyBias: Set<String> = []) -> [UInt8] {
    let text = [UInt8](try! JSONSerialization.data(withJSONObject: original, options: [.sortedKeys]))
    var paths = jsonPaths(original)
    if !keyBias.isEmpty {
        for p in paths { if case let .key(k)? = p.last, keyBias.contains(k) { paths += [p, p] } }
    }
    func serialize(_ v: Any) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])).map([UInt8].init) ?? text
    }
    switch rng.below(9) {
    case 0, 1: // a hostile value at a path
        let path = rng.pick(paths)
        let value = rng.pick(hostileValues)
        return serialize(jsonEdit(original, path[...]) { _ in value })
    case 2: // a key or element removed
        return serialize(jsonEdit(original, rng.pick(paths)[...]) { _ in nil })
    case 3: // a value moved to another place (right type, wrong place; or wrong type)
        let from = rng.pick(paths), to = rng.pick(paths)
        var moved: Any = NSNull()
        _ = jsonEdit(original, from[...]) { v in moved = v; return v }
        return serialize(jsonEdit(original, to[...]) { _ in moved })
    case 4: // a number literal no Double holds, in place of a run of digits
        var out = text
        let runs = digitRuns(out)
        guard !runs.isEmpty else { return out }
        out.replaceSubrange(rng.pick(runs), with: Array(rng.pick(hostileLiterals).utf8))
        return out
    case 5: // truncated
        return Array(text.prefix(rng.below(text.count)))
    case 6: // one flipped bit
        var out = text
        out[rng.below(out.count)] ^= UInt8(1 << rng.below(8))
        return out
    case 7: // a few random bytes
        var out = text
        for _ in 0..<(1 + rng.below(4)) { out[rng.below(out.count)] = UInt8(truncatingIfNeeded: rng.next()) }
        return out
    default: // an array or object duplicated in place (duplicate keys, longer lists)
        let path = rng.pick(paths)
        return serialize(jsonEdit(original, path[...]) { v in
            if let a = v as? [Any] { return a + a }
            if let o = v as? [String: Any] { return [o, o] }
            return [v, v]
        })
    }
}
