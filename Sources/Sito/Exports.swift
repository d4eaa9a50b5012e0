// Exports.swift: the SitoFormat types that are part of Sito's public API, re-exported on purpose so that
// `import Sito` is enough to use it:
//   - a model's header and its vocabulary (`Reranker.header`, `Embedder.header`, `Model.header`;
//     `header.task == .embedding`, `header.input.maxLength`), which `Tokenizer` is also built from;
//   - `SitoFile` for `Reranker(file:)`, `Embedder(file:)` and `Model(file:)` (a file opened once), with
//     the errors opening a file throws.
// The rest of SitoFormat (the writer, layout constants and limits, the architecture schema) is the
// tools' business: they import SitoFormat themselves.
@_exported import class SitoFormat.SitoFile
@_exported import struct SitoFormat.SitoOpenOptions
@_exported import struct SitoFormat.TensorView
@_exported import enum SitoFormat.SitoFormatError

@_exported import struct SitoFormat.SitoHeader
@_exported import struct SitoFormat.ModelHyperparameters
@_exported import struct SitoFormat.InputRecipe
@_exported import struct SitoFormat.TokenizerInfo
@_exported import struct SitoFormat.SpecialIds
@_exported import struct SitoFormat.AddedToken
@_exported import struct SitoFormat.WordPieceOptions
@_exported import struct SitoFormat.SourceInfo
@_exported import struct SitoFormat.ConverterInfo
@_exported import struct SitoFormat.QuantizationInfo
@_exported import struct SitoFormat.TensorEntry
@_exported import enum SitoFormat.DType
@_exported import enum SitoFormat.TensorLayout

@_exported import protocol SitoFormat.HeaderVocabulary
@_exported import enum SitoFormat.Architecture
@_exported import enum SitoFormat.ModelTask
@_exported import enum SitoFormat.Activation
@_exported import enum SitoFormat.ClassifierHead
@_exported import enum SitoFormat.OutputActivation
@_exported import enum SitoFormat.Pooling
@_exported import enum SitoFormat.RecipeKind
@_exported import enum SitoFormat.Truncation
@_exported import enum SitoFormat.TokenizerKind
@_exported import enum SitoFormat.WhitespaceRule
@_exported import enum SitoFormat.QuantizationType
@_exported import enum SitoFormat.ActivationScheme
