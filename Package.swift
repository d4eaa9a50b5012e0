// swift-tools-version:6.0
// Sito: Hugging Face encoder rerankers → verified, mmap-able `.sito` files for CPU inference.
//
// Dependency direction (see ../shared/STYLE.md, "Dependency direction"):
//   Sito (runtime, the only library product) → SitoFormat, CSitoKernels, COpenBLAS
//   SitoTools (safetensors, config.json, tokenizer.json, HF names, quantization policy, the libsentencepiece
//     check of embedded tokenizers) → Sito, SitoFormat, CSentencePiece
//   sito-* executables → SitoTools, Sito, ArgumentParser
// The runtime never imports SitoTools: it is pure Swift over its C kernels and OpenBLAS.
import PackageDescription

let package = Package(
    name: "Sito",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Sito", targets: ["Sito"]),
        .executable(name: "sito-convert", targets: ["sito-convert"]),
        .executable(name: "sito-inspect", targets: ["sito-inspect"]),
        .executable(name: "sito-verify", targets: ["sito-verify"]),
        .executable(name: "sito-rerank", targets: ["sito-rerank"]),
        .executable(name: "sito-quantize", targets: ["sito-quantize"]),
        .executable(name: "sito-embed", targets: ["sito-embed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        .target(name: "Sito", dependencies: ["SitoFormat", "CSitoKernels", "COpenBLAS"]),
        // Everything on the tools' side of the fence.
        .target(name: "SitoTools", dependencies: ["Sito", "SitoFormat", "CSentencePiece", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-convert", dependencies: ["SitoTools", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-inspect", dependencies: ["SitoTools", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-verify", dependencies: ["SitoTools", "SitoFormat", "Sito", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-rerank", dependencies: ["SitoTools", "Sito", "SitoFormat", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-quantize", dependencies: ["SitoTools", "SitoFormat", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "sito-embed", dependencies: ["SitoTools", "Sito", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // Issue 5's benchmark: pairs/s, latency, peak RSS and open-to-first-score of a .sito reranker (BENCHMARKS.md).
        .executableTarget(name: "sito-bench", dependencies: ["SitoTools", "Sito", "SitoFormat", "CSitoKernels", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        // libFuzzer harness of SitoFile and SafetensorsFile; a stub unless built with -DSITO_FUZZ (README, "Fuzzing").
        .executableTarget(name: "sito-fuzz", dependencies: ["SitoTools", "SitoFormat"]),
        .testTarget(name: "CSitoKernelsTests", dependencies: ["CSitoKernels"]),
        .testTarget(name: "SitoFormatTests", dependencies: ["SitoFormat"]),
        .testTarget(name: "SitoTests", dependencies: ["Sito", "SitoFormat", "SitoTools"]),
        .testTarget(name: "SitoToolsTests", dependencies: ["SitoTools", "Sito", "SitoFormat"]),
    ],
    swiftLanguageModes: [.v6]
)
