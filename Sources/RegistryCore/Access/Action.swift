/// What a request does to a repository, as access rules name it.
public enum Action: String, Sendable, CaseIterable, Hashable, Comparable {
    case pull
    case push
    case delete

    public static func < (lhs: Action, rhs: Action) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}
