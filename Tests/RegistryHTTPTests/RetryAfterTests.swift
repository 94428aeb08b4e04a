@testable import RegistryHTTP
import RegistryModel
import Testing

@Suite("429 answers")
struct RetryAfterTests {
    @Test func everyTooManyRequestsAnswerSaysWhenToComeBack() {
        let answer = ErrorResponse.make(RegistryError(.tooManyRequests), for: .GET)
        #expect(answer.status.code == 429)
        #expect(answer.headers["Retry-After"] == ["\(ErrorResponse.defaultRetryAfterSeconds)"])
    }

    @Test func aLimitsOwnDelayIsKeptAndNotRepeated() {
        let answer = ErrorResponse.make(RegistryError(.tooManyRequests, headers: [("Retry-After", "30")]), for: .HEAD)
        #expect(answer.headers["Retry-After"] == ["30"])
    }
}
