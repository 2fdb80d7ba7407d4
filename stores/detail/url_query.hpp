#pragma once
// Internal to the store libraries (never installed): taking some query
// options out of a store URL whose remaining options belong to someone else
// (libpq's, or a wrapped store's).

#include <string>
#include <string_view>

namespace jeff::store_detail {

/// A URL split by TakeQueryOptions.
struct SplitUrlQuery {
  std::string rest;   ///< the URL without the options taken (the others kept in order)
  std::string taken;  ///< the options taken, as `a=1&b=2` (empty when none)
};

/// Splits the query of `url` (after its first `?`): each `name[=value]`
/// item whose raw (not decoded) name satisfies `take(std::string_view)` goes
/// to `taken`, the others stay in `rest`. Empty items are dropped.
template <typename Take>
SplitUrlQuery TakeQueryOptions(std::string_view url, Take take) {
  const std::size_t q = url.find('?');
  SplitUrlQuery out{std::string(url.substr(0, q)), {}};
  if (q == std::string_view::npos) return out;
  std::string_view query = url.substr(q + 1);
  char rest_sep = '?';
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty()) continue;
    if (take(item.substr(0, item.find('=')))) {
      if (!out.taken.empty()) out.taken += '&';
      out.taken.append(item);
    } else {
      out.rest += rest_sep;
      out.rest.append(item);
      rest_sep = '&';
    }
  }
  return out;
}

}  // namespace jeff::store_detail
