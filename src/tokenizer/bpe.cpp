#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>

namespace quarry::tokenizer {
namespace {

constexpr uint32_t kNone = Vocab::kNone;

// Short pieces: boundaries in a small array, a linear scan for the minimum.
// O(n^2) but n is small and everything stays in L1.
void bpe_small(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out,
               uint32_t max_rank) {
  const size_t n = piece.size();
  uint32_t start[129];  // part i spans [start[i], start[i+1])
  uint32_t rank[128];   // rank of part i joined with part i+1
  size_t m = n;         // number of parts
  auto pair_rank = [&](size_t i) -> uint32_t {
    const uint32_t r = vocab.find(piece.data() + start[i], start[i + 2] - start[i]);
    return r < max_rank ? r : kNone;
  };
  for (size_t i = 0; i <= n; ++i) start[i] = static_cast<uint32_t>(i);
  for (size_t i = 0; i + 1 < m; ++i) rank[i] = pair_rank(i);
  while (m > 1) {
    uint32_t best = kNone;
    size_t k = 0;
    for (size_t i = 0; i + 1 < m; ++i) {
      if (rank[i] < best) {
        best = rank[i];
        k = i;
      }
    }
    if (best == kNone) break;
    // Merge parts k and k+1: drop boundary k+1 and the pair rank k+1.
    std::copy(start + k + 2, start + m + 1, start + k + 1);
    if (k + 2 < m) std::copy(rank + k + 2, rank + m - 1, rank + k + 1);
    --m;
    if (k + 1 < m) rank[k] = pair_rank(k);
    if (k > 0) rank[k - 1] = pair_rank(k - 1);
  }
  for (size_t i = 0; i < m; ++i) {
    out.push_back(vocab.find(piece.data() + start[i], start[i + 1] - start[i]));
  }
}

// Long pieces (e.g. 1000 spaces): a doubly linked list of parts and a min-heap
// of candidate merges with lazy invalidation. Same result as bpe_small: the
// heap orders by (rank, position), i.e. lowest rank, then leftmost.
void bpe_large(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out,
               uint32_t max_rank) {
  const uint32_t n = static_cast<uint32_t>(piece.size());
  std::vector<uint32_t> next(n), prev(n);
  std::vector<bool> alive(n, true);
  for (uint32_t i = 0; i < n; ++i) {
    next[i] = i + 1;  // n means "end"
    prev[i] = i == 0 ? kNone : i - 1;
  }
  auto end_of = [&](uint32_t i) { return next[i]; };  // part i spans [i, next[i])
  struct Cand {
    uint32_t rank, pos, end;  // merge of the part at pos with its successor, ending at end
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](uint32_t i) {
    if (i == kNone || next[i] >= n) return;
    const uint32_t e = end_of(next[i]);
    const uint32_t r = vocab.find(piece.data() + i, e - i);
    if (r < max_rank) heap.push({r, i, e});
  };
  for (uint32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    if (!alive[c.pos] || next[c.pos] >= n || end_of(next[c.pos]) != c.end) continue;
    const uint32_t right = next[c.pos];
    alive[right] = false;
    next[c.pos] = next[right];
    if (next[c.pos] < n) prev[next[c.pos]] = c.pos;
    push(c.pos);
    push(prev[c.pos]);
  }
  for (uint32_t i = 0; i < n; i = next[i]) out.push_back(vocab.find(piece.data() + i, next[i] - i));
}

}  // namespace

void bpe_encode(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out,
                uint32_t max_rank) {
  if (piece.empty()) return;
  if (piece.size() == 1) {
    out.push_back(vocab.byte_rank(static_cast<unsigned char>(piece[0])));
    return;
  }
  if (const uint32_t whole = vocab.find(piece); whole != kNone && whole < max_rank) {
    out.push_back(whole);
    return;
  }
  if (piece.size() <= 128) {
    bpe_small(vocab, piece, out, max_rank);
  } else {
    bpe_large(vocab, piece, out, max_rank);
  }
}

void bpe_encode_scan(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out) {
  if (piece.empty()) return;
  if (piece.size() > 128) {
    bpe_large(vocab, piece, out, kNone);
    return;
  }
  bpe_small(vocab, piece, out, kNone);
}

void bpe_encode_heap(const Vocab& vocab, std::string_view piece, std::vector<uint32_t>& out) {
  if (!piece.empty()) bpe_large(vocab, piece, out, kNone);
}

}  // namespace quarry::tokenizer
