// sentencepiece_shim.cpp: extern "C" wrappers around sentencepiece::SentencePieceProcessor
// (declared in include/CSentencePiece.h). No exception escapes into Swift: every entry point catches.
#include "CSentencePiece.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

struct sito_sp_processor {
    sentencepiece::SentencePieceProcessor processor;
};

static void write_error(char *error, size_t capacity, const std::string &message) {
    if (error == nullptr || capacity == 0) return;
    size_t n = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), n);
    error[n] = '\0';
}

extern "C" sito_sp_processor *sito_sp_load(const void *bytes, size_t length, char *error, size_t error_capacity) {
    try {
        auto *p = new sito_sp_processor();
        const auto status = p->processor.LoadFromSerializedProto(
            absl::string_view(static_cast<const char *>(bytes), length));
        if (!status.ok()) {
            write_error(error, error_capacity, status.ToString());
            delete p;
            return nullptr;
        }
        return p;
    } catch (const std::exception &e) {
        write_error(error, error_capacity, std::string("libsentencepiece threw: ") + e.what());
    } catch (...) {
        write_error(error, error_capacity, "libsentencepiece threw an unknown exception");
    }
    return nullptr;
}

extern "C" void sito_sp_free(sito_sp_processor *processor) { delete processor; }

extern "C" int32_t sito_sp_piece_count(const sito_sp_processor *processor) {
    return processor->processor.GetPieceSize();
}

extern "C" int32_t sito_sp_piece_to_id(const sito_sp_processor *processor, const char *piece, size_t length) {
    try {
        return processor->processor.PieceToId(absl::string_view(piece, length));
    } catch (...) {
        return processor->processor.unk_id();
    }
}

extern "C" int32_t sito_sp_unk_id(const sito_sp_processor *processor) { return processor->processor.unk_id(); }

extern "C" int64_t sito_sp_id_to_piece(const sito_sp_processor *processor, int32_t id, char *out, size_t capacity) {
    try {
        if (id < 0 || id >= processor->processor.GetPieceSize()) return -1;
        const std::string &piece = processor->processor.IdToPiece(id);
        if (piece.size() <= capacity && out != nullptr) std::memcpy(out, piece.data(), piece.size());
        return static_cast<int64_t>(piece.size());
    } catch (...) {
        return -1;
    }
}

extern "C" int64_t sito_sp_encode(const sito_sp_processor *processor, const char *text, size_t length,
                                  int32_t *out, size_t capacity) {
    try {
        std::vector<int> ids;
        const auto status = processor->processor.Encode(absl::string_view(text, length), &ids);
        if (!status.ok()) return -1;
        if (ids.size() <= capacity && out != nullptr) {
            for (size_t i = 0; i < ids.size(); ++i) out[i] = static_cast<int32_t>(ids[i]);
        }
        return static_cast<int64_t>(ids.size());
    } catch (...) {
        return -1;
    }
}
