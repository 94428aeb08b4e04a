import Foundation

/// Writes a run as one self-contained HTML page: a summary, the feature matrix (features x
/// pass/fail counts), every check by feature, and for each failed
/// check the requests it made and the responses it got (headers and the first bytes of bodies,
/// credentials redacted), so that it can be sent to the registry's maintainers.
public enum HTMLReport {
    public static func render(_ report: ConformanceReport) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>OCI conformance: \(escape(report.registry))</title>
            <style>
            body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
            table{border-collapse:collapse}td,th{padding:.25em .75em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
            .pass{color:#176f2c}.fail{color:#b00020;font-weight:bold}.skip{color:#8a6d00}
            pre{background:#f6f6f6;padding:.75em;overflow:auto;font-size:12px;white-space:pre-wrap}
            details{margin:.5em 0 1.5em}
            </style></head><body>
            <h1>OCI distribution-spec conformance</h1>
            <p>Registry: <code>\(escape(report.registry))</code><br>
            Spec: <b>\(report.spec.rawValue)</b><br>
            Result: <b>\(escape(report.summary))</b> in \(JUnitReport.seconds(report.duration)) s</p>
            <h2>Features</h2>
            <table class="matrix"><tr><th>Feature</th><th>Result</th><th>Passed</th><th>Failed</th><th>Skipped</th></tr>

            """
        for row in report.matrix.rows {
            let css = row.failed > 0 ? "fail" : (row.verdict == "skip" ? "skip" : "pass")
            html += "<tr><td><a href=\"#\(anchor(row.feature.name))\">\(escape(row.feature.name))</a></td><td class=\"\(css)\">\(row.verdict)</td>"
            html += "<td>\(row.passed)</td><td>\(row.failed)</td><td>\(row.skipped)</td></tr>\n"
        }
        html += "</table>\n<h2>Checks</h2>\n"
        for row in report.matrix.rows {
            html += "<h3 id=\"\(anchor(row.feature.name))\">\(escape(row.feature.name))</h3>\n"
            html += "<table><tr><th>Result</th><th>Check</th><th>Endpoint</th><th>Detail</th></tr>\n"
            for result in report.results where result.check.feature == row.feature {
                let (label, css, detail): (String, String, String) =
                    switch result.outcome {
                    case .passed: ("PASS", "pass", "")
                    case .failed(let message): ("FAIL", "fail", message)
                    case .skipped(let reason): ("SKIP", "skip", reason)
                    }
                html += "<tr><td class=\"\(css)\">\(label)</td><td>\(escape(result.check.name))</td><td>\(result.check.endpoint)</td>"
                html += "<td>\(escape(detail))</td></tr>\n"
            }
            html += "</table>\n"
        }
        let failures = report.results.filter { if case .failed = $0.outcome { true } else { false } }
        if !failures.isEmpty {
            html += "<h2>Failed checks: requests and responses</h2>\n"
            for result in failures {
                html += "<h3 class=\"fail\">\(escape(result.check.name)) <small>[\(escape(result.check.feature.name)), \(result.check.endpoint)]</small></h3>\n"
                if case .failed(let message) = result.outcome { html += "<p>\(escape(message))</p>\n" }
                html += "<details open><summary>\(result.exchanges.count) exchange(s)</summary>\n"
                for exchange in result.exchanges {
                    html += "<pre>\(escape(transcript(exchange)))</pre>\n"
                }
                html += "</details>\n"
            }
        }
        return html + "</body></html>\n"
    }

    static func transcript(_ exchange: Exchange) -> String {
        var text = "> \(exchange.method) \(exchange.url)\n"
        for (name, value) in exchange.requestHeaders { text += "> \(name): \(value)\n" }
        if let length = exchange.requestBodyLength {
            text += ">\n> [\(length) bytes] \(preview(exchange.requestBodyPreview, total: length))\n"
        }
        if let error = exchange.error {
            return text + "! \(error)\n"
        }
        text += "\n< \(exchange.status.map(String.init) ?? "?")\n"
        for (name, value) in exchange.responseHeaders { text += "< \(name): \(value)\n" }
        if exchange.responseBodyLength > 0 {
            text += "<\n< [\(exchange.responseBodyLength) bytes] \(preview(exchange.responseBodyPreview, total: exchange.responseBodyLength))\n"
        }
        return text
    }

    /// Text bodies as text; binary ones as a hex prefix.
    static func preview(_ bytes: [UInt8], total: Int) -> String {
        let printable = bytes.allSatisfy { $0 == 9 || $0 == 10 || $0 == 13 || (32..<127).contains($0) }
        let more = total > bytes.count ? " ..." : ""
        if printable { return String(decoding: bytes, as: UTF8.self) + more }
        return bytes.prefix(64).map { String(format: "%02x", $0) }.joined() + (total > 64 ? " ..." : "")
    }

    static func escape(_ text: String) -> String { JUnitReport.escape(text) }

    /// An HTML id for a feature's section.
    static func anchor(_ name: String) -> String {
        "feature-" + String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}
