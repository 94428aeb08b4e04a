/// Sizes the streaming codecs share.
enum CodecBuffers {
    /// The most a codec hands its sink at once. Output never accumulates beyond this, however
    /// large the layer or however well it compresses.
    static let outputChunkSize = 64 * 1024

    /// The most input given to zlib in one call: its `avail_in` is a 32-bit `uInt`, so larger
    /// buffers are fed in slices of this size.
    static let maxZlibInputSlice = 1 << 30
}
