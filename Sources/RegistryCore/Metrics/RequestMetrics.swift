import CoreMetrics
import NIOConcurrencyHelpers
import RegistryModel

/// Requests by route, method and status class (a counter), and their latency by route and method
/// (a histogram). A handle is made the first time its label combination occurs and kept in a
/// fixed table: after that, counting a request is one short lock to find it and atomic adds.
/// Only combinations that occurred are exported, not the hundreds that could.
final class RequestMetrics: Sendable {
    static let durationBuckets: [Duration] = [
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    private struct RepositoryKey: Hashable {
        var index: Int
        var repository: String
    }

    private struct Handles {
        var counters: [MetricCounter?]
        var timers: [MetricTimer?]
        var counterByRepository: [RepositoryKey: MetricCounter] = [:]
    }

    private let factory: any MetricsFactory
    private let perRepository: Bool
    private let handles: NIOLockedValueBox<Handles>

    init(factory: any MetricsFactory, perRepository: Bool) {
        self.factory = factory
        self.perRepository = perRepository
        handles = NIOLockedValueBox(Handles(
            counters: Array(repeating: nil, count: RequestRoute.count * RequestMethod.count * StatusClass.count),
            timers: Array(repeating: nil, count: RequestRoute.count * RequestMethod.count)))
    }

    /// The `repository` label of a request: its repository when the request succeeded (or
    /// redirected), otherwise empty, so that requests for names that do not exist (typos,
    /// scanners) cannot add series.
    func repositoryLabel(_ repository: String?, statusClass: StatusClass) -> String {
        guard statusClass == .success || statusClass == .redirection, let repository, RepositoryName(repository) != nil else {
            return ""
        }
        return repository
    }

    func record(route: RequestRoute, method: RequestMethod, status: StatusClass, duration: Duration, repository: String?) {
        let timerIndex = route.ordinal * RequestMethod.count + method.ordinal
        let counterIndex = timerIndex * StatusClass.count + status.ordinal
        let factory = self.factory
        let (counter, timer) = handles.withLockedValue { handles -> (MetricCounter, MetricTimer) in
            let timer = handles.timers[timerIndex] ?? {
                let made = MetricTimer(
                    label: RegistryMetrics.Names.requestDuration,
                    dimensions: [("route", route.rawValue), ("method", method.rawValue)], factory: factory)
                handles.timers[timerIndex] = made
                return made
            }()
            func make(_ extra: [(String, String)]) -> MetricCounter {
                MetricCounter(
                    label: RegistryMetrics.Names.requests,
                    dimensions: [("route", route.rawValue), ("method", method.rawValue), ("status", status.rawValue)] + extra,
                    factory: factory)
            }
            if let repository {
                let key = RepositoryKey(index: counterIndex, repository: repository)
                if let counter = handles.counterByRepository[key] { return (counter, timer) }
                let made = make([("repository", repository)])
                handles.counterByRepository[key] = made
                return (made, timer)
            }
            if let counter = handles.counters[counterIndex] { return (counter, timer) }
            let made = make([])
            handles.counters[counterIndex] = made
            return (made, timer)
        }
        counter.increment()
        timer.recordNanoseconds(duration.nanoseconds)
    }
}

/// A byte counter, with a `repository` label when metrics are per repository.
final class RepositoryCounter: Sendable {
    private let name: String
    private let factory: any MetricsFactory
    private let total: MetricCounter?
    private let byRepository = NIOLockedValueBox<[String: MetricCounter]>([:])

    init(_ name: String, factory: any MetricsFactory, perRepository: Bool) {
        self.name = name
        self.factory = factory
        total = perRepository ? nil : MetricCounter(label: name, factory: factory)
    }

    /// `repository` nil: the total (metrics not per repository).
    func increment(by bytes: Int64, repository: String?) {
        if let total {
            total.increment(by: bytes)
            return
        }
        let name = self.name, factory = self.factory, repository = repository ?? ""
        let counter = byRepository.withLockedValue { counters in
            if let counter = counters[repository] { return counter }
            let made = MetricCounter(label: name, dimensions: [("repository", repository)], factory: factory)
            counters[repository] = made
            return made
        }
        counter.increment(by: bytes)
    }
}

// Positions in the handle table; `count` of each set.
extension RequestRoute {
    static let count = allCases.count
    var ordinal: Int {
        switch self {
        case .base: 0
        case .blob: 1
        case .upload: 2
        case .manifest: 3
        case .tags: 4
        case .catalog: 5
        case .referrers: 6
        case .token: 7
        case .admin: 8
        case .health: 9
        case .metrics: 10
        case .other: 11
        }
    }
}

extension RequestMethod {
    static let count = allCases.count
    var ordinal: Int {
        switch self {
        case .GET: 0
        case .HEAD: 1
        case .POST: 2
        case .PUT: 3
        case .PATCH: 4
        case .DELETE: 5
        case .other: 6
        }
    }
}

extension StatusClass {
    static let count = allCases.count
    var ordinal: Int {
        switch self {
        case .informational: 0
        case .success: 1
        case .redirection: 2
        case .clientError: 3
        case .serverError: 4
        }
    }
}
