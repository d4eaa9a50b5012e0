// sito-convert: Hugging Face model folder (config.json, safetensors, tokenizer) → one `.sito` file.
import ArgumentParser
import SitoCLI
import Foundation
import SitoTools

@main
struct SitoConvert: ParsableCommand {
    static func main() { mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-convert",
        abstract: "Convert a Hugging Face model folder into one self-contained .sito file.",
        discussion: """
        Reads config.json, model.safetensors (or the shards of model.safetensors.index.json; F32, F16, BF16)
        and the tokenizer (sentencepiece.bpe.model or a Unigram tokenizer.json). Supported: \
        \(HFArchitecture.supported.joined(separator: ", ")). The output is written to a temporary file
        next to --output and renamed only when complete; the input is never modified.
        """)

    @Argument(help: "The Hugging Face model folder.")
    var modelFolder: String

    @Option(name: .shortAndLong, help: "The .sito file to write.")
    var output: String

    @Option(help: "Storage type of the weight matrices: f32 (exact), f16 or bf16. Vectors stay f32.")
    var dtype: String = "f32"

    @Flag(help: "Print a JSON summary on stdout.")
    var json = false

    func validate() throws {
        guard ConvertDType(rawValue: dtype) != nil else {
            throw ValidationError("--dtype must be one of \(ConvertDType.allCases.map(\.rawValue).joined(separator: ", ")), not \(dtype)")
        }
    }

    func run() throws {
        var converter = Converter(folder: URL(fileURLWithPath: modelFolder), dtype: ConvertDType(rawValue: dtype)!)
        if ToolExit.stderrIsTerminal && !json {
            let bar = ProgressBar(label: "converting")
            converter.progress = { bar.update($0, $1) }
        }
        let summary: ConversionSummary
        do {
            summary = try converter.convert(to: output)
        } catch {
            ToolExit.fail("sito-convert", error)
        }
        if json {
            ToolExit.printJSON(summary)
        } else {
            print("wrote \(summary.output): \(summary.architecture), \(summary.tensors) tensors, \(summary.bytes) bytes, \(summary.dtype), max length \(summary.maxLength), \(String(format: "%.1f", summary.seconds)) s")
        }
    }
}
