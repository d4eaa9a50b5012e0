// sito-bench: measures a .sito reranker or embedding model on pre-tokenized full-length sequences:
// throughput, latency percentiles, open-to-first-score time and peak memory.
//
// One invocation measures ONE workload, so the process's peak RSS (getrusage, printed at the end) is that
// workload's peak; tools/bench/run.py runs one process per (file, workload) and collects the JSON lines.
//
//   sito-bench model.sito --workload 32x128 --repeats 5 --warmup 1 [--json]
//   sito-bench model.sito --workload open            # open-to-first-score (one text pair) of a fresh process
//
// Inputs: `pairs` sequences of exactly `length` tokens: <s>=0, random ids in [4, vocab - 2] (never
// <mask> = vocab - 1), </s>=2; drawn with SplitMix64 from --seed, pair p using stream seed + p, so
// tools/bench/peers.py draws the very same ids (it implements the same generator).
// Timing: each repetition is one Reranker.logits(inputIds:) call over the whole workload (the runtime
// packs the pairs itself); pairs/s = pairs / seconds of that call. Median and percentiles over the timed
// repetitions, after `warmup` untimed ones.
import ArgumentParser
import CSitoKernels
import Foundation
import Sito
import SitoCLI
import SitoFormat
import SitoTools

/// SplitMix64, identical to tools/bench/peers.py's `splitmix64`.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The benchmark's token ids: `pairs` × `length`, <s> … </s>, random ids in [4, vocab - 2].
func benchIds(pairs: Int, length: Int, vocab: Int, seed: UInt64) -> [[Int32]] {
    (0..<pairs).map { p in
        var rng = SplitMix64(state: seed &+ UInt64(p))
        var ids = [Int32](repeating: 0, count: length)
        for i in 1..<(length - 1) { ids[i] = Int32(4 + Int(rng.next() % UInt64(vocab - 5))) }
        ids[length - 1] = 2
        return ids
    }
}

/// VmHWM from /proc/self/status (the high-water mark of this process's memory; ru_maxrss can carry a
/// parent's peak across fork + exec), else getrusage's ru_maxrss.
func peakRSSBytes() -> Int {
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
       let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
       let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") {
        return kb * 1024
    }
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Int(usage.ru_maxrss) * 1024   // Linux: kilobytes
}

/// User + system CPU seconds of this process so far (all threads).
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Linear-interpolated percentile of sorted values (numpy's default).
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    if sorted.isEmpty { return .nan }
    let pos = q * Double(sorted.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - Double(lo))
}

@main
struct SitoBench: ParsableCommand {
    static func main() { mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-bench",
        abstract: "Measure pairs/s, latency and peak RSS of a .sito reranker on pre-tokenized pairs.",
        discussion: "One workload per process (so the peak RSS is the workload's). --workload PAIRSxLENGTH, e.g. 32x128, or 'open' for open-to-first-score.")

    @Argument(help: "The .sito reranker.")
    var file: String

    @Option(help: "PAIRSxLENGTH (e.g. 32x128, 1x8192) or 'open'.")
    var workload: String = "32x128"

    @Option(help: "Timed repetitions (the median is reported).")
    var repeats: Int = 5

    @Option(help: "Untimed repetitions first.")
    var warmup: Int = 1

    @Option(help: "Seed of the token ids (tools/bench/peers.py uses the same generator).")
    var seed: UInt64 = 1234

    @Option(help: "A label for the JSON line (e.g. the dtype or the build).")
    var label: String?

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    @Option(help: "Attention operands: automatic (bf16 for bf16/int8 layers, f32 otherwise), f32 or bf16.")
    var attention: AttentionPrecision = .automatic

    @Option(help: "Threads the model runs on at once (default: one per core).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        if workload != "open" && parse(workload) == nil { throw ValidationError("--workload must be PAIRSxLENGTH (e.g. 32x128) or 'open'") }
        if repeats < 1 { throw ValidationError("--repeats must be ≥ 1") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0") }
    }

    func parse(_ w: String) -> (pairs: Int, length: Int)? {
        let parts = w.lowercased().split(separator: "x")
        guard parts.count == 2, let p = Int(parts[0]), let l = Int(parts[1]), p >= 1, l >= 3 else { return nil }
        return (p, l)
    }

    struct Result: Encodable {
        let engine = "sito"
        let label: String
        let file: String
        let fileBytes: Int
        let workload: String
        let pairs: Int
        let length: Int
        let repeats: Int
        let seconds: [Double]
        /// CPU seconds (user + system, all threads) of each timed repetition: on a shared, loaded machine
        /// pairs / (median CPU seconds / cores) is a less noisy view of the same work.
        let cpuSeconds: [Double]
        let cores: Int
        /// The model's threads (--threads, or the cores).
        let threads: Int
        let medianPairsPerSecond: Double
        let p50Ms: Double
        let p90Ms: Double
        let openSeconds: Double
        let firstScoreSeconds: Double
        let peakRSSBytes: Int
        let isa: String
        let attention: String
        let openblasCoretype: String
        let firstLogit: Float
    }

    func run() throws {
        ToolExit.run("sito-bench") {
            let url = URL(fileURLWithPath: file)
            let fileBytes = ((try? FileManager.default.attributesOfItem(atPath: file)[.size]) as? Int) ?? 0
            let t0 = now()
            // Rerankers run Reranker.logits; embedding models Embedder.embed — same packing.
            let reranker: Reranker?, embedder: Embedder?
            switch try Model(contentsOf: url, options: ModelOptions(attention: attention, threads: threads)) {
            case .reranker(let r): (reranker, embedder) = (r, nil)
            case .embedder(let e): (reranker, embedder) = (nil, e)
            }
            let t1 = now()
            let header = reranker?.header ?? embedder!.header
            let vocab = header.model.vocab
            func forward(_ ids: [[Int32]]) throws -> [[Float]] {
                if let reranker { return try reranker.logits(inputIds: ids) }
                return try embedder!.embed(inputIds: ids)
            }
            var seconds: [Double] = [], cpu: [Double] = []
            var pairs = 1, length = 16
            let firstScore: Double
            var firstLogit: Float = .nan
            if workload == "open" {
                // Open-to-first-score: open, then score one short text pair (tokenizer included).
                if let reranker {
                    firstLogit = try reranker.score(query: "Jak dożyć 100 lat?", documents: ["Zdrowa dieta i ruch pomagają żyć dłużej."])[0].logit
                } else {
                    firstLogit = try embedder!.embed(["Zdrowa dieta i ruch pomagają żyć dłużej."])[0][0]
                }
                firstScore = now() - t0
                seconds = [firstScore]
            } else {
                (pairs, length) = parse(workload)!
                let ids = benchIds(pairs: pairs, length: length, vocab: vocab, seed: seed)
                // The first call is the first warm-up repetition (timed only when --warmup 0).
                let f0 = now(), c0 = cpuSeconds()
                firstLogit = try forward(ids)[0][0]
                firstScore = now() - t0
                if warmup == 0 { seconds.append(now() - f0); cpu.append(cpuSeconds() - c0) }
                for _ in 1..<max(1, warmup) { _ = try forward(ids) }
                while seconds.count < repeats {
                    let s = now(), c = cpuSeconds()
                    _ = try forward(ids)
                    seconds.append(now() - s)
                    cpu.append(cpuSeconds() - c)
                }
            }
            let sorted = seconds.sorted()
            let median = percentile(sorted, 0.5)
            let r = Result(label: label ?? header.architecture.rawValue, file: file, fileBytes: fileBytes, workload: workload,
                           pairs: pairs, length: length, repeats: seconds.count, seconds: seconds, cpuSeconds: cpu, cores: ProcessInfo.processInfo.activeProcessorCount,
                           threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                           medianPairsPerSecond: Double(pairs) / median, p50Ms: median * 1000, p90Ms: percentile(sorted, 0.9) * 1000,
                           openSeconds: t1 - t0, firstScoreSeconds: firstScore, peakRSSBytes: peakRSSBytes(),
                           isa: String(cString: sito_kernels_isa_name(sito_kernels_isa())), attention: attention.rawValue,
                           openblasCoretype: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "",
                           firstLogit: firstLogit)
            if json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.sortedKeys]
                print(String(decoding: try enc.encode(r), as: UTF8.self))
            } else {
                print(String(format: "%@ %@: %.3f pairs/s (median of %d), p50 %.1f ms, p90 %.1f ms, open %.3f s, first score %.3f s, peak RSS %.1f MB",
                             file, workload, r.medianPairsPerSecond, r.repeats, r.p50Ms, r.p90Ms, r.openSeconds, r.firstScoreSeconds,
                             Double(r.peakRSSBytes) / 1e6))
            }
        }
    }
}
