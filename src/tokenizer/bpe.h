// Byte-level BPE inside one pre-tokenized piece (tiktoken's rule): repeatedly
// merge the adjacent pair whose concatenation has the lowest rank (ties: the
// leftmost pair) until no adjacent concatenation is a token.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/vocab.h"

namespace quarry::tokenizer {

// Appends the ranks of `piece` to `out`. Only merges whose result has a rank
// below `max_rank` are allowed (Vocab::kNone: no limit; used to derive HF merges).
void bpe_encode(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out,
                uint32_t max_rank = Vocab::kNone);

// The two strategies behind bpe_encode, exposed so tests can check they agree:
// a linear scan over a small array (pieces <= 128 bytes) and a heap with a
// linked list (longer pieces).
void bpe_encode_scan(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out);
void bpe_encode_heap(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out);

}  // namespace quarry::tokenizer
