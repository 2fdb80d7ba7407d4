#pragma once
/// \file
/// JEFF_API marks the public API of the jeff libraries. Every library is
/// built with hidden symbol visibility (`-fvisibility=hidden
/// -fvisibility-inlines-hidden`), so a shared library exports exactly the
/// declarations that carry JEFF_API: the functions and classes of the
/// installed headers, never anything in `detail/`. The same attribute is
/// right when building and when using the library, static or shared, so a
/// user defines nothing.
///
/// Every public header includes this one before any code of its own, so a
/// program compiled as C++17 or older stops with one clear message first.

#if (defined(_MSVC_LANG) ? _MSVC_LANG : __cplusplus) < 202002L
#error "jeff needs C++20: compile with -std=c++20 (GCC, Clang) or /std:c++20 (MSVC)"
#endif

#if defined(__GNUC__) || defined(__clang__)
/// Exported from the shared libraries (ELF default visibility).
#define JEFF_API __attribute__((visibility("default")))
/// Kept out of the export table even inside a JEFF_API class (the private
/// implementation of a pimpl class, whose nested members would otherwise
/// inherit the class's visibility).
#define JEFF_HIDDEN __attribute__((visibility("hidden")))
#else
/// Nothing to mark on toolchains without ELF visibility.
#define JEFF_API
/// Nothing to mark on toolchains without ELF visibility.
#define JEFF_HIDDEN
#endif
