/// Where the codecs and `TarWriter` put their output: called with one piece at a time, at most
/// 64 KiB for the codecs. The buffer is only valid during the call; copy what must outlive it.
/// Whatever the sink throws stops the operation and propagates unchanged.
public typealias ByteSink = (UnsafeRawBufferPointer) throws -> Void
