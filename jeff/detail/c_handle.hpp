#pragma once
// Internal: std::unique_ptr ownership of C library handles (RAII for
// OpenSSL objects and the like): `CHandle<EVP_PKEY, EVP_PKEY_free>`.

#include <memory>

namespace jeff::detail {

template <typename T, void (*Free)(T*)>
struct CDeleter {
  void operator()(T* p) const noexcept { Free(p); }
};

template <typename T, void (*Free)(T*)>
using CHandle = std::unique_ptr<T, CDeleter<T, Free>>;

}  // namespace jeff::detail
