import Foundation

/// Writes a run as JUnit XML, one test suite per feature.
public enum JUnitReport {
    public static func render(_ report: ConformanceReport) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuites name="OCI distribution-spec conformance" tests="\#(report.results.count)" failures="\#(report.failed)" skipped="\#(report.skipped)" time="\#(seconds(report.duration))">"# + "\n"
        for row in report.matrix.rows {
            let results = report.results.filter { $0.check.feature == row.feature }
            let suite = escape(row.feature.name)
            xml += #"  <testsuite name="\#(suite)" tests="\#(results.count)" failures="\#(row.failed)" skipped="\#(row.skipped)">"# + "\n"
            for result in results {
                let open = #"    <testcase classname="\#(suite).\#(result.check.endpoint)" name="\#(escape(result.check.name))" time="\#(seconds(result.duration))""#
                switch result.outcome {
                case .passed:
                    xml += open + "/>\n"
                case .failed(let message):
                    xml += open + ">\n      <failure message=\"\(escape(message))\"/>\n    </testcase>\n"
                case .skipped(let reason):
                    xml += open + ">\n      <skipped message=\"\(escape(reason))\"/>\n    </testcase>\n"
                }
            }
            xml += "  </testsuite>\n"
        }
        return xml + "</testsuites>\n"
    }

    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        return String(format: "%.3f", Double(seconds) + Double(attoseconds) / 1e18)
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }
}
