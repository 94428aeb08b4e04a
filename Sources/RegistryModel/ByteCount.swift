/// Byte counts for people: `512 MiB`, `1.5 GiB`, `2 GiB` (one decimal at most, binary units):
/// the one format of the server's messages, the CLI's reports and the web UI.
public enum ByteCount {
    public static func format(_ bytes: Int64) -> String {
        let units: [(String, Int64)] = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        for (unit, size) in units where bytes >= size {
            return "\(trimmed((Double(bytes) / Double(size) * 10).rounded() / 10)) \(unit)"
        }
        return "\(bytes) B"
    }

    /// `1.5` as `1.5`, `2.0` as `2`.
    public static func trimmed(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? "\(Int64(value))" : "\(value)"
    }
}
