#ifndef CZLIB_SHIM_H
#define CZLIB_SHIM_H

#include <zlib.h>

// zlib's init functions are macros that pass ZLIB_VERSION and sizeof(z_stream), so the library
// can check that it was compiled against the header we use. Swift cannot call function-like
// macros; these wrappers keep that check instead of passing a version string by hand.

static inline int czlib_inflate_init2(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

static inline int czlib_deflate_init2(z_streamp stream, int level, int method, int window_bits,
                                      int mem_level, int strategy) {
    return deflateInit2(stream, level, method, window_bits, mem_level, strategy);
}

#endif
