// swift-tools-version:6.1
// Sito: Hugging Face encoder rerankers → verified, mmap-able `.sito` files for CPU inference.
//
// Dependency direction (the runtime side never imports the tools' side):
//   runtime side
//     Sito (the only library product) → SitoFormat, CSitoKernels, COpenBLAS (only with the OpenBLAS trait)
//     SitoCLI (what every sito-* executable shares: exit codes, option groups, documents, output) → Sito
//     sito-rerank, sito-embed (what users ship: scoring only) → SitoCLI, Sito
//     SitoServer (the HTTP server: engine, routes, metrics) → SitoCLI, Sito, Hummingbird, swift-log,
//       swift-metrics, swift-prometheus, swift-service-lifecycle; sito-serve → SitoServer
//   tools side
//     SitoTools (safetensors, config.json, tokenizer.json, HF names, quantization policy, verification, the
//       libsentencepiece check of embedded tokenizers) → SitoCLI, Sito, SitoFormat, CSentencePiece
//     sito-convert, -quantize, -verify, -inspect, -bench, -fuzz → SitoTools
// The runtime is pure Swift (FoundationEssentials at most) over its C kernels, and OpenBLAS when the
// default trait `OpenBLAS` is on. Without it (`--disable-default-traits`, what tools/edge/build.sh does)
// f32 projections run on Sito's own f32 GEMM and the runtime links no library beyond libc/libm.
import PackageDescription

let package = Package(
    name: "Sito",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Sito", targets: ["Sito"]),
        .executable(name: "sito-convert", targets: ["sito-convert"]),
        .executable(name: "sito-inspect", targets: ["sito-inspect"]),
        .executable(name: "sito-verify", targets: ["sito-verify"]),
        .executable(name: "sito-rerank", targets: ["sito-rerank"]),
        .executable(name: "sito-quantize", targets: ["sito-quantize"]),
        .executable(name: "sito-embed", targets: ["sito-embed"]),
        .executable(name: "sito-serve", targets: ["sito-serve"]),
    ],
    traits: [
        .trait(name: "OpenBLAS", description: "f32 projections through OpenBLAS's sgemm (Debian: libopenblas-dev). Off: Sito's own f32 GEMM, no OpenBLAS linked (edge builds)."),
        .default(enabledTraits: ["OpenBLAS"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // sito-serve only (runtime side, no tools' libraries): HTTP, lifecycle, logs, metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // C kernels: checksums, int8/bf16 GEMMs, attention helpers. Scalar reference beside every SIMD path;
        // the SIMD path is chosen at run time from cpuid, per function via __attribute__((target)).
        .target(name: "CSitoKernels", cSettings: [.define("_GNU_SOURCE")]),
        // OpenBLAS's CBLAS interface (Debian: libopenblas-dev).
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        // A C header in front of libsentencepiece's C++ API (Debian: libsentencepiece-dev). Tools only: they
        // check every embedded SentencePiece model with it (SitoTools/SentencePieceCheck.swift).
        .target(name: "CSentencePiece", linkerSettings: [.linkedLibrary("sentencepiece")]),
        // The `.sito` container: layout constants, strict validating reader, streaming writer. Spec: formats/sito.md.
        .target(name: "SitoFormat", dependencies: ["CSitoKernels"]),
        // The runtime: loads `.sito` files and runs them. Nothing else.
        .target(name: "Sito", dependencies: ["SitoFormat", "CSitoKernels",
                                             .target(name: "COpenBLAS", condition: .when(traits: ["OpenBLAS"]))]),
        // The runtime side's command-line layer: exit codes, shared option groups, document streaming, output.
        .target(name: "SitoCLI", dependencies: ["Sito", "SitoFormat", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Everything on the tools' side of the fence.
        .target(name: "SitoTools", dependencies: ["SitoCLI", "Sito", "SitoFormat", "CSentencePiece", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-convert", dependencies: ["SitoTools", "SitoCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-inspect", dependencies: ["SitoTools", "SitoCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-verify", dependencies: ["SitoTools", "SitoCLI", "SitoFormat", "Sito", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-rerank", dependencies: ["SitoCLI", "Sito", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-quantize", dependencies: ["SitoTools", "SitoCLI", "SitoFormat", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-embed", dependencies: ["SitoCLI", "Sito", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The HTTP server (TEI, Cohere/Jina and OpenAI routes) over one loaded model: engine, routes,
        // metrics. A library so tests drive it; sito-serve is its thin command line. Runtime side only.
        .target(name: "SitoServer", dependencies: [
            "Sito", "SitoCLI", "SitoFormat",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
        ]),
        .executableTarget(name: "sito-serve", dependencies: ["SitoServer", "SitoCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // The benchmark: pairs/s, latency, peak RSS and open-to-first-score of a .sito reranker (BENCHMARKS.md).
        .executableTarget(name: "sito-bench", dependencies: ["SitoTools", "SitoCLI", "Sito", "SitoFormat", "CSitoKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // libFuzzer harness of SitoFile and SafetensorsFile; a stub unless built with -DSITO_FUZZ (README, "Fuzzing").
        .executableTarget(name: "sito-fuzz", dependencies: ["SitoTools", "SitoFormat"]),
        // What the test targets share: the deterministic RNG, the lock box, fixture and scratch paths, the
        // runner of the built executables, and the tiny hand-built `.sito` model. Public API of SitoFormat only.
        .target(name: "SitoTestSupport", dependencies: ["SitoFormat"], path: "Tests/SitoTestSupport"),
        .testTarget(name: "CSitoKernelsTests", dependencies: ["CSitoKernels", "SitoTestSupport"]),
        .testTarget(name: "SitoFormatTests", dependencies: ["SitoFormat", "SitoTestSupport"]),
        .testTarget(name: "SitoTests", dependencies: ["Sito", "SitoFormat", "SitoTools", "SitoTestSupport"]),
        // Tests/SitoToolsTests/CLI/ holds every test that runs the built sito-* executables (they share the
        // converted micro model with the hostile-input tests of this target).
        .testTarget(name: "SitoToolsTests", dependencies: ["SitoTools", "SitoCLI", "Sito", "SitoFormat", "SitoTestSupport"]),
        // The server's tests: SitoTools only to convert the fixtures; the server itself never links it.
        .testTarget(name: "SitoServerTests", dependencies: [
            "SitoServer", "Sito", "SitoTools", "SitoTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            // The tests' HTTP/1.1 client (LoopbackHTTPClient.swift), on the NIO modules the server builds
            // anyway: not HummingbirdTesting, whose async-http-client brings NIOSSL and swift-crypto's
            // BoringSSL into the test build.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
