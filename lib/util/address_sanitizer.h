#pragma once
// Whether this translation unit is built with AddressSanitizer (scripts/sanitize.sh): gcc says so
// with __SANITIZE_ADDRESS__, clang with __has_feature. MOPT_ADDRESS_SANITIZER is for #if, where ASan's
// own functions are needed; kAddressSanitizer for ordinary code.
#if defined(__SANITIZE_ADDRESS__)
#define MOPT_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MOPT_ADDRESS_SANITIZER 1
#endif
#endif

namespace mopt {
#ifdef MOPT_ADDRESS_SANITIZER
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
}  // namespace mopt
