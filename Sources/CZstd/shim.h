#ifndef CZSTD_SHIM_H
#define CZSTD_SHIM_H

#include <zstd.h>
// ZSTD_getErrorCode and the ZSTD_ErrorCode values, to tell a too-large window from corrupt data.
#include <zstd_errors.h>

#endif
