#include "suggest.hpp"

#include <algorithm>
#include <vector>

namespace jeff::ctl {

std::size_t EditDistance(std::string_view a, std::string_view b) {
  // Three rows of the dynamic programme: i-2, i-1 and i.
  std::vector<std::size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        current[j] = std::min(current[j], before[j - 2] + 1);
      }
    }
    std::swap(before, previous);
    std::swap(previous, current);
  }
  return previous[b.size()];
}

std::optional<std::string> Nearest(std::string_view typed, std::span<const Candidate> candidates) {
  const Candidate* best = nullptr;
  std::size_t best_distance = 0;
  for (const Candidate& candidate : candidates) {
    const std::size_t distance = EditDistance(typed, candidate.word);
    const std::size_t longer = std::max(typed.size(), candidate.word.size());
    const std::size_t allowed = longer <= 3 ? 1 : std::max<std::size_t>(2, longer / 3);
    if (distance > allowed || distance >= longer) continue;
    if (best == nullptr || distance < best_distance) {
      best = &candidate;
      best_distance = distance;
    }
  }
  if (best == nullptr) return std::nullopt;
  return best->suggestion;
}

}  // namespace jeff::ctl
