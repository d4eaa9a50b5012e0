// sito-serve: the HTTP server RAG stacks call (TEI's /rerank and /embed, Cohere/Jina's /v1/rerank,
// OpenAI's /v1/embeddings) over one .sito file. A runtime executable: links Sito, SitoCLI and the server
// packages, never the tools' libraries. Everything but the command line is in SitoServer.
import ArgumentParser
import Logging
import SitoCLI
import SitoServer

@main
struct SitoServe: AsyncParsableCommand {
    /// Usage and validation errors exit 2, as in every sito-* tool (ArgumentParser's own code is 64).
    static func main() async { await mainExitingTwoOnBadUsage() }

    static let configuration = CommandConfiguration(
        commandName: "sito-serve",
        abstract: "Serve a .sito reranker or embedding model over HTTP (TEI, Cohere/Jina and OpenAI APIs).",
        discussion: """
        Routes: POST /rerank, /embed (TEI), /v1/rerank (Cohere, Jina), /v1/embeddings (OpenAI); GET /health \
        (503 while the model loads), /info, /metrics (Prometheus). An embedding model on /rerank ranks by \
        cosine similarity, as sito-rerank does; a reranker refuses /embed with 422. Errors are JSON \
        {error, error_type} (formats/serve-api.md). SIGTERM or SIGINT: stop accepting, finish the requests \
        in flight (--shutdown-timeout), exit 0.
        """)

    @Argument(help: "The .sito file.")
    var file: String

    @OptionGroup(title: "Model")
    var model: ModelArguments

    @OptionGroup(title: "Server")
    var serve: ServeArguments

    func run() async throws {
        let level = Logger.Level(rawValue: serve.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "sito-serve")
        let server = SitoServer(configuration: ServerConfiguration(modelPath: file, model: model, serve: serve), logger: logger) { host, port in
            StandardStream.error.write("sito-serve: listening on http://\(host):\(port)\n")
        }
        do {
            try await server.run()
        } catch let error as ServerStartError {
            ToolExit.fail("sito-serve", error)            // the file or the options: 2, as bad input everywhere
        } catch {
            ToolExit.fail("sito-serve", error, code: 1)   // the server itself (e.g. the port is taken)
        }
    }
}
