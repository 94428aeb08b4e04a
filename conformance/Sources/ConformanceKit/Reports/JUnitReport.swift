import Foundation

/// Writes a run as JUnit XML, one test suite per workflow.
public enum JUnitReport {
    public static func render(_ report: ConformanceReport) -> String {
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += #"<testsuites name="OCI distribution-spec conformance" tests="\#(report.results.count)" failures="\#(report.failed)" skipped="\#(report.skipped)" time="\#(seconds(report.duration))">"# + "\n"
        for workflow in Workflow.allCases {
            let results = report.results.filter { $0.check.workflow == workflow }
            guard !results.isEmpty else { continue }
            let failures = results.filter { if case .failed = $0.outcome { true } else { false } }.count
            let skips = results.filter { if case .skipped = $0.outcome { true } else { false } }.count
            xml += #"  <testsuite name="\#(workflow.rawValue)" tests="\#(results.count)" failures="\#(failures)" skipped="\#(skips)">"# + "\n"
            for result in results {
                let open = #"    <testcase classname="\#(workflow.rawValue).\#(result.check.endpoint)" name="\#(escape(result.check.name))" time="\#(seconds(result.duration))""#
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
