import Logging

/// A log handler that hands each event at `logLevel` or above to `record`: what the tests'
/// log recorders are built on.
struct RecordingLogHandler: LogHandler {
    let record: @Sendable (LogEvent) -> Void
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level

    init(level: Logger.Level, record: @escaping @Sendable (LogEvent) -> Void) {
        self.logLevel = level
        self.record = record
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        record(event)
    }
}
