extension Check {
    static let base: [Check] = [
        Check("baseEndpointAnswers200", "end-1", .base) { context in
            let response = try await context.send(.GET, "/v2/")
            try context.expectStatus(response, 200, for: "GET /v2/")
        },
    ]
}
