import RegistryStorage

extension RootMaintenance {
    /// The robot accounts of this registry.
    public var robots: RobotAdministration { RobotAdministration(store: database) }

    /// `registry audit`: the newest `query.limit` records that match, oldest first, as a table
    /// or a JSON array.
    public func audit(_ query: AuditQuery, json: Bool) async throws -> String {
        var query = query
        query.newestFirst = true
        let records = try await database.auditRecords(query).reversed()
        return json ? try AuditReport.json(Array(records)) : AuditReport.table(Array(records))
    }
}
