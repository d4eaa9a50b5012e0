// sito-convert: Hugging Face model folder (config.json, safetensors, tokenizer) → one `.sito` file.
import ArgumentParser
import Foundation
import SitoCLI
import SitoTools

extension ConvertDType: ExpressibleByArgument {}
extension PairRecipe: ExpressibleByArgument {}

@main
struct SitoConvert: SitoTool {
    static let configuration = CommandConfiguration(
        commandName: "sito-convert",
        abstract: "Convert a Hugging Face model folder into one self-contained .sito file.",
        discussion: """
        Reads config.json, model.safetensors (or the shards of model.safetensors.index.json; F32, F16, BF16)
        and the tokenizer (sentencepiece.bpe.model, a Unigram or byte-level BPE tokenizer.json, or vocab.json + \
        merges.txt). Supported: \
        \(HFArchitecture.supported.joined(separator: ", ")). The output is written to a temporary file
        next to --output and renamed only when complete; the input is never modified.
        """)

    @Argument(help: "The Hugging Face model folder.")
    var modelFolder: String

    @Option(name: [.customShort("o"), .customLong("output")], help: "The .sito file to write.")
    var outputPath: String

    @Option(help: "Storage type of the weight matrices: f32 (exact), f16 or bf16. Vectors stay f32.")
    var dtype: ConvertDType = .f32

    @Option(help: "RoBERTa rerankers (byte-level BPE): model-card (\"{query}</s></s>{document}\", cut from the right) or cross-encoder (sentence-transformers' CrossEncoder: <s> query </s></s> document </s>, cut longest-first).")
    var pairRecipe: PairRecipe = .modelCard

    @OptionGroup(title: "Output")
    var output: OutputArguments

    func execute() throws {
        var converter = Converter(folder: URL(fileURLWithPath: modelFolder), dtype: dtype)
        converter.pairRecipe = pairRecipe
        let progress = Progress(tool: Self.toolName, quiet: output.quiet || output.json)
        progress.step("converting \(modelFolder)")
        converter.progress = { progress.update($0 >> 20, of: $1 >> 20, unit: "MiB") }
        let summary = try converter.convert(to: outputPath)
        if output.json {
            ToolExit.printJSON(summary)
        } else {
            print("wrote \(summary.output): \(summary.architecture), \(summary.tensors) tensors, \(summary.bytes) bytes, \(summary.dtype), max length \(summary.maxLength), \(formatFixed(summary.seconds, digits: 1)) s")
        }
    }
}
