/// Pass/fail/skip counts per feature, in run order: the compatibility matrix at the top of the
/// reports.
public struct FeatureMatrix: Sendable {
    public struct Row: Sendable {
        public let feature: Feature
        public var passed = 0
        public var failed = 0
        public var skipped = 0

        /// `pass`, `FAIL` or `skip` (a feature with failures fails; one with only skips is skipped).
        public var verdict: String { failed > 0 ? "FAIL" : (passed == 0 && skipped > 0 ? "skip" : "pass") }
    }

    public private(set) var rows: [Row] = []

    init(_ results: [CheckResult]) {
        for result in results {
            if !rows.contains(where: { $0.feature == result.check.feature }) { rows.append(Row(feature: result.check.feature)) }
            let index = rows.firstIndex { $0.feature == result.check.feature }!
            switch result.outcome {
            case .passed: rows[index].passed += 1
            case .failed: rows[index].failed += 1
            case .skipped: rows[index].skipped += 1
            }
        }
    }

    /// A fixed-width table: feature, verdict, counts.
    public var text: String {
        let width = max(7, rows.map(\.feature.name.count).max() ?? 0)
        func pad(_ text: String, _ width: Int) -> String { text + String(repeating: " ", count: max(0, width - text.count)) }
        var lines = [pad("feature", width) + "  result  passed  failed  skipped"]
        for row in rows {
            lines.append(pad(row.feature.name, width) + "  " + pad(row.verdict, 6) + "  " + pad("\(row.passed)", 6) + "  " + pad("\(row.failed)", 6) + "  \(row.skipped)")
        }
        return lines.joined(separator: "\n")
    }
}
