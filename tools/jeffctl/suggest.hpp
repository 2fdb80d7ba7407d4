#pragma once
// "Did you mean ...?" for a mistyped command: the nearest known word by
// edit distance.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace jeff::ctl {

// A word the user may have meant, and what to suggest for it.
struct Candidate {
  std::string word;        // compared with what was typed: "sessions"
  std::string suggestion;  // shown: "jeffctl sessions"
};

// Edits (insertions, deletions, substitutions, swaps of adjacent
// characters) that turn `a` into `b`: the optimal string alignment distance.
std::size_t EditDistance(std::string_view a, std::string_view b);

// The suggestion of the candidate nearest to `typed`, the first one on a
// tie, when it is close enough to be a typo: at most 2 edits, and at most a
// third of the longer word's length when that is more (1 edit for words of
// up to 3 characters). std::nullopt when none is.
std::optional<std::string> Nearest(std::string_view typed, std::span<const Candidate> candidates);

}  // namespace jeff::ctl
