// RobertaGoldenTests.swift: RobertaForSequenceClassification with a byte-level BPE tokenizer (issue 14)
// against transformers. The fixture roberta-tiny (tools/make_fixture.py: random weights over the trained
// BPE vocabulary of Tests/Fixtures/roberta-tokenizer) is converted and run on
// Tests/Fixtures/goldens/roberta-tiny.golden.json (tools/make_goldens.py with tools/pairs.py --set roberta:
// the model card's "{query}</s></s>{document}" recipe, pairs up to 512 tokens, truncated pairs included):
// f32 must give 0 token mismatches and max |Δlogit| ≤ 1e-4. The same folder holding only vocab.json +
// merges.txt converts to the same tokenizer. int8 and bf16 files load and score; their loss is printed.
// A bare RobertaModel with sentence-transformers pooling (roberta-tiny-embed) matches transformers'
// pooled embeddings.
import Foundation
import SitoTestSupport
import Sito
import SitoFormat
import SitoTools
import XCTest

final class RobertaGoldenTests: XCTestCase {
    static let fixture = "roberta-tiny"
    static let goldenName = "roberta-tiny.golden.json"

    /// `folder` (default: the fixture) converted to f32 in a fresh folder; the caller removes the folder.
    func convert(_ folder: URL? = nil) throws -> URL {
        let source = try folder ?? Fixtures.model(RobertaGoldenTests.fixture)
        let out = try Fixtures.temporaryFolder().appendingPathComponent("\(RobertaGoldenTests.fixture).sito")
        _ = try Converter(folder: source).convert(to: out.path)
        return out
    }

    func testHeaderDescribesARobertaReranker() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let h = try SitoFile(contentsOf: out).header
        XCTAssertEqual(h.architecture, .xlmRoberta)  // the same graph
        XCTAssertEqual(h.model.head, .roberta)
        XCTAssertEqual(h.model.positionOffset, 2)
        XCTAssertEqual(h.model.vocab, 8000)
        XCTAssertEqual(h.model.layerNormEps, 1e-5)
        XCTAssertEqual(h.input.recipe, .joinedPair)
        XCTAssertEqual(h.input.separator, "</s></s>")
        XCTAssertEqual(h.input.maxLength, 512)
        XCTAssertEqual(h.tokenizer.kind, .bpe)
        XCTAssertEqual(h.tokenizer.tensor, "tokenizer.bpe")
        XCTAssertEqual(h.tokenizer.whitespace, .byteLevel)
        XCTAssertEqual(h.tokenizer.bpe, BPEOptions(addPrefixSpace: false, ignoreMerges: false))
    }

    func testF32MatchesTransformers() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let goldenPath = Fixtures.golden(RobertaGoldenTests.goldenName)
        let golden = try GoldenFile.load(path: goldenPath)
        XCTAssertEqual(golden.maxLength, 512)
        let reranker = try Reranker(contentsOf: out, options: ModelOptions(maxLength: golden.maxLength))
        let r = try Verifier.verify(reranker, golden: golden, goldenPath: goldenPath)
        print("roberta-tiny f32: \(r.cases) cases, \(r.tokenChecked) tokenized, \(r.tokenMismatches) token mismatches, max |Δ| \(r.maxAbsError) (case \(r.worstCase ?? -1)), mean |Δ| \(r.meanAbsError), spearman \(r.spearman ?? -1), top1 \(r.top1Agreement ?? -1)")
        for m in r.firstMismatches {
            print("case \(m.caseIndex) [\(golden.cases[m.caseIndex].tag ?? "")]: first difference at \(m.firstDifference): expected \(m.expected.prefix(40)) got \(m.actual.prefix(40))")
        }
        XCTAssertGreaterThanOrEqual(r.cases, 370)
        XCTAssertEqual(r.tokenChecked, golden.cases.filter { $0.query != nil }.count)
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertLessThanOrEqual(r.maxAbsError, 1e-4)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
        // The golden reaches the 512-token limit with truncated pairs.
        let full = golden.cases.filter { $0.query != nil && $0.inputIds?.count == 512 }
        XCTAssertGreaterThanOrEqual(full.count, 5)
        for c in full {
            XCTAssertTrue(try reranker.encode(query: c.query!, document: c.document!).truncated, c.tag ?? "")
        }
    }

    /// A bare `RobertaModel` with sentence-transformers' mean pooling + Normalize (roberta-tiny-embed,
    /// Tests/Fixtures/goldens/roberta-tiny-embed.golden.json: 530 sentences, cut at max_seq_length 128).
    func testEmbeddingModelMatchesTransformers() throws {
        let folder = try Fixtures.model("roberta-tiny-embed")
        let out = try convert(folder)
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let h = try SitoFile(contentsOf: out).header
        XCTAssertEqual(h.architecture, .xlmRoberta)
        XCTAssertEqual(h.task, .embedding)
        XCTAssertEqual(h.model.head, ClassifierHead.none)
        XCTAssertEqual(h.input.recipe, .single)
        XCTAssertEqual(h.tokenizer.kind, .bpe)
        let goldenPath = Fixtures.golden("roberta-tiny-embed.golden.json")
        let golden = try GoldenFile.load(path: goldenPath)
        let embedder = try Embedder(contentsOf: out)
        XCTAssertEqual(embedder.header.model.pooling, .mean)
        XCTAssertTrue(embedder.header.model.normalize)
        XCTAssertEqual(embedder.maxLength, 128)
        let r = try EmbeddingVerifier.verify(embedder, golden: golden, goldenPath: goldenPath)
        print("roberta-tiny-embed f32: \(r.cases) cases, \(r.tokenMismatches) token mismatches, cosine min \(r.minCosine) mean \(r.meanCosine), retrieval top-1 \(r.retrievalTop1 ?? -1)")
        XCTAssertGreaterThanOrEqual(r.cases, 500)
        XCTAssertEqual(r.tokenMismatches, 0)
        XCTAssertGreaterThanOrEqual(r.minCosine, 0.99999)
        XCTAssertTrue(r.passed, r.failures.joined(separator: "; "))
    }

    /// `pairRecipe: .crossEncoder` writes the `pair` recipe (<s> A </s></s> B </s>, longest-first), whose
    /// ids match tokenizers' on the parity file's pairs; XLM-R (SentencePiece) folders refuse it.
    func testCrossEncoderPairRecipe() throws {
        var converter = Converter(folder: try Fixtures.model(RobertaGoldenTests.fixture))
        converter.pairRecipe = .crossEncoder
        let dir = try Fixtures.temporaryFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("pair.sito")
        _ = try converter.convert(to: out.path)
        let reranker = try Reranker(contentsOf: out)
        XCTAssertEqual(reranker.header.input.recipe, .pair)
        XCTAssertEqual(reranker.header.input.truncation, .longestFirst)
        let parity = try BPEParityTests.parity()
        var checked = 0
        for p in parity.pairs {
            guard let want = p.pair else { continue }
            XCTAssertEqual(try reranker.tokenizer.encodePair(query: p.query, document: p.document, maxLength: p.maxLength).ids, BPEParityTests.ids(want))
            checked += 1
        }
        XCTAssertGreaterThanOrEqual(checked, 300)
        var xlmr = Converter(folder: try Fixtures.model("xlmr-tiny"))
        xlmr.pairRecipe = .crossEncoder
        XCTAssertThrowsError(try xlmr.convert(to: dir.appendingPathComponent("xlmr.sito").path))
    }

    /// The older RoBERTa layout: vocab.json + merges.txt (+ tokenizer_config.json), no tokenizer.json.
    func testVocabAndMergesFolderConvertsToTheSameTokenizer() throws {
        let source = try Fixtures.copyModel(RobertaGoldenTests.fixture)
        defer { try? FileManager.default.removeItem(at: source.deletingLastPathComponent()) }
        let a = try convert()
        defer { try? FileManager.default.removeItem(at: a.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: source.appendingPathComponent("tokenizer.json"))
        let b = try convert(source)
        defer { try? FileManager.default.removeItem(at: b.deletingLastPathComponent()) }
        let fa = try SitoFile(contentsOf: a), fb = try SitoFile(contentsOf: b)
        XCTAssertEqual(fa.header.tokenizer, fb.header.tokenizer)
        XCTAssertEqual(fa.header.input, fb.header.input)
        let ta = try XCTUnwrap(fa.tensor("tokenizer.bpe")), tb = try XCTUnwrap(fb.tensor("tokenizer.bpe"))
        XCTAssertEqual(ta.entry.xxh64, tb.entry.xxh64)
        XCTAssertTrue(ta.bytes.elementsEqual(tb.bytes))
    }

    /// int8 and bf16 through the Quantizer API: the files load and score every golden case; the loss
    /// against transformers f32 is printed (README's table).
    func testQuantizedFilesLoadAndScore() throws {
        let out = try convert()
        defer { try? FileManager.default.removeItem(at: out.deletingLastPathComponent()) }
        let goldenPath = Fixtures.golden(RobertaGoldenTests.goldenName)
        let golden = try GoldenFile.load(path: goldenPath)
        for type in [QuantizationType.int8, .bf16] {
            let q = out.deletingLastPathComponent().appendingPathComponent("\(RobertaGoldenTests.fixture).\(type.rawValue).sito")
            _ = try Quantizer(type: type).quantize(input: out.path, output: q.path)
            let reranker = try Reranker(contentsOf: q, options: ModelOptions(verifyChecksums: true))
            XCTAssertEqual(reranker.header.tokenizer.kind, .bpe)
            let r = try Verifier.verify(reranker, golden: golden, goldenPath: goldenPath)
            print("roberta-tiny \(type.rawValue): \(r.cases) cases, \(r.tokenMismatches) token mismatches, max |Δ| \(r.maxAbsError), mean |Δ| \(r.meanAbsError), spearman \(r.spearman ?? -1), top1 \(r.top1Agreement ?? -1), ndcg@10 \(r.ndcg10 ?? -1)")
            XCTAssertEqual(r.tokenMismatches, 0)
            XCTAssertEqual(r.logitsChecked, golden.cases.count)
            XCTAssertTrue(r.maxAbsError.isFinite)
        }
    }
}
