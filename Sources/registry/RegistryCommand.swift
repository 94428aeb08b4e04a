import ArgumentParser

@main
struct RegistryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "registry",
        abstract: "An OCI distribution-spec v1.1 container image registry.",
        subcommands: [ServeCommand.self, MirrorCommand.self, GCCommand.self, ScrubCommand.self, DUCommand.self, RMCommand.self, MigrateCommand.self, MigrateSchemaCommand.self, CertCommand.self, UserCommand.self, RobotCommand.self, AuditCommand.self, InspectCommand.self, HistoryCommand.self, VerifyCommand.self, SquashCommand.self],
        defaultSubcommand: nil
    )
}
