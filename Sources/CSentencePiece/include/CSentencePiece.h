// CSentencePiece.h: a C header in front of libsentencepiece's C++ API (Debian libsentencepiece-dev,
// tested with 0.1.97). Only what the tools' check of embedded models needs (SitoTools/SentencePieceCheck.swift;
// the runtime does not link it): load a serialized ModelProto, encode UTF-8 text to piece ids, and look
// pieces up. Implemented in sentencepiece_shim.cpp; no C++ type crosses this header.
//
// Thread safety: after sito_sp_load returns, every function taking a `const sito_sp_processor *` may be
// called from any number of threads at once (SentencePieceProcessor::Encode is const and keeps no state).
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// An opaque loaded sentencepiece::SentencePieceProcessor.
typedef struct sito_sp_processor sito_sp_processor;

/// Parses a serialized sentencepiece ModelProto (`bytes`, `length` bytes; copied, need not outlive the
/// call). Returns NULL on failure and writes a NUL-terminated reason (truncated to `error_capacity`
/// bytes) into `error` when `error` is not NULL.
sito_sp_processor *sito_sp_load(const void *bytes, size_t length, char *error, size_t error_capacity);

/// Frees a processor from sito_sp_load. NULL is allowed.
void sito_sp_free(sito_sp_processor *processor);

/// Number of pieces in the model (ids are 0 ..< count).
int32_t sito_sp_piece_count(const sito_sp_processor *processor);

/// Id of the piece whose UTF-8 text is `piece` (`length` bytes), or the unknown id when there is none.
int32_t sito_sp_piece_to_id(const sito_sp_processor *processor, const char *piece, size_t length);

/// Id of the unknown piece.
int32_t sito_sp_unk_id(const sito_sp_processor *processor);

/// Copies the UTF-8 text of piece `id` into `out` (not NUL-terminated) when it fits in `capacity`
/// bytes. Returns the text's length in bytes (possibly > capacity: nothing is copied then), or -1 when
/// `id` is out of range.
int64_t sito_sp_id_to_piece(const sito_sp_processor *processor, int32_t id, char *out, size_t capacity);

/// Encodes `length` bytes of UTF-8 `text` with the model's normalizer and Viterbi segmentation and
/// writes the piece ids to `out` when they fit in `capacity`. Returns the number of ids (possibly >
/// capacity: nothing is written then; never more than the number of code points in `text`), or -1 on
/// error (the text is not valid UTF-8 or libsentencepiece reported a failure).
int64_t sito_sp_encode(const sito_sp_processor *processor, const char *text, size_t length,
                       int32_t *out, size_t capacity);

#ifdef __cplusplus
}
#endif
