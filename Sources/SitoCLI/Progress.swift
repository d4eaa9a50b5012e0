// Progress.swift: signs of life on stderr for long steps. On a terminal, a bar redrawn in place; when
// stderr is a file or a pipe, a plain line when a step starts and at most one line per 10% of it (and
// none for steps that finish within a second); nothing at all with --quiet.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reports the steps of one tool run on stderr.
public final class Progress {
    private let tool: String
    private let quiet: Bool
    private let terminal: Bool
    private var label = ""
    private var started = 0.0
    private var lastPercent = -1
    private var announced = false

    public init(tool: String, quiet: Bool, terminal: Bool = StandardStream.error.isTerminal) {
        self.tool = tool
        self.quiet = quiet
        self.terminal = terminal
    }

    /// Seconds since an arbitrary fixed point (CLOCK_MONOTONIC).
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Starts a step (e.g. "loading model.sito"); a plain line on stderr at once.
    public func step(_ label: String) {
        self.label = label
        started = Progress.now()
        lastPercent = -1
        announced = false
        if quiet { return }
        if !terminal {
            StandardStream.error.write("\(tool): \(label)\n")
            announced = true
        }
    }

    /// `done` of `total` units of the current step are finished.
    public func update(_ done: Int, of total: Int, unit: String) {
        if quiet || total <= 0 { return }
        let percent = min(100, done * 100 / total)
        if terminal {
            if percent == lastPercent { return }
            lastPercent = percent
            let width = 30
            let bar = String(repeating: "#", count: percent * width / 100) + String(repeating: ".", count: width - percent * width / 100)
            StandardStream.error.write("\r\(tool): \(label) [\(bar)] \(done)/\(total) \(unit)")
            if done >= total { StandardStream.error.write("\n") }
        } else {
            let tenth = percent / 10
            if tenth == lastPercent || Progress.now() - started < 1 { return }
            lastPercent = tenth
            StandardStream.error.write("\(tool): \(label): \(done)/\(total) \(unit)\n")
        }
    }
}

/// A one-line progress bar on stderr, redrawn at most every 1% (the tools' long writes).
public final class ProgressBar {
    private let label: String
    private var lastPercent = -1

    public init(label: String) { self.label = label }

    public func update(_ done: Int, _ total: Int) {
        let percent = total > 0 ? done * 100 / total : 100
        if percent == lastPercent { return }
        lastPercent = percent
        let width = 30
        let filled = percent * width / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        StandardStream.error.write("\r\(label) [\(bar)] \(percent)%")
        if done >= total { StandardStream.error.write("\n") }
    }
}
