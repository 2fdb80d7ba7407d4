#pragma once
// Where to go after logging in (`/login?next=...`): only a path on this
// site, so that a link to the login page cannot send the user elsewhere.

#include <optional>
#include <string>
#include <string_view>

namespace example {

// `next` when it is a path of this origin: it starts with one "/", the
// second character is neither "/" nor "\" (`//evil.com` and `/\evil.com` are
// other hosts to a browser), and it has no backslash, no control character
// (browsers drop tabs and newlines, so "/\t/evil.com" would become
// "//evil.com"), no space and at most 2000 bytes. std::nullopt otherwise.
std::optional<std::string> SafeNextPath(std::string_view next);

// "/login?next=<path, percent-encoded>" for a request to `path` (with its
// query, if any); just "/login" for "/" and anything SafeNextPath refuses.
// `signed_out` adds "signed_out=1" first: the login page then says that this
// device's session ended.
std::string LoginPathFor(std::string_view path, bool signed_out = false);

}  // namespace example
