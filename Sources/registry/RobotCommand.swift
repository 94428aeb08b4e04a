import ArgumentParser
import Foundation
import RegistryCore
import RegistryServer

/// `registry robot add|list|disable|enable|remove`: robot accounts, kept in the metadata
/// database (not htpasswd); a running registry sees changes within a few seconds.
struct RobotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "robot",
        abstract: "Manage robot accounts (logins for CI systems with only the rights they list).",
        subcommands: [Add.self, List.self, Disable.self, Enable.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Create a robot and print its secret (shown only this once).")

        @Argument(help: "Robot name; robot$ is prefixed (ci -> robot$ci).")
        var name: String

        @Option(help: "Repository globs it may use, comma-separated (ci/**, team/app).")
        var repositories: String

        @Option(help: "What it may do there, comma-separated: pull, push, delete (push needs pull too).")
        var actions: String

        @Option(help: "Expire after this long (90d, 12h); default never.")
        var expires: String?

        @OptionGroup var root: RootOptions

        func run() async throws {
            let (record, secret) = try await root.withRoot { maintenance in
                do {
                    return try await maintenance.robots.add(
                        name: name, repositories: [repositories], actions: [actions], expiresIn: expires)
                } catch let error as RobotAccountError {
                    throw ValidationError(error.description)
                }
            }
            if record.actions.contains("push") && !record.actions.contains("pull") {
                FileHandle.standardError.write(Data("warning: a push needs pull as well; \(record.name) cannot push\n".utf8))
            }
            print("robot \(record.name) created; its secret (shown only now):")
            print(secret)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the robots.")

        @OptionGroup var root: RootOptions

        func run() async throws {
            print(RobotAdministration.table(try await root.withRoot { try await $0.robots.list() }))
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "disable", abstract: "Refuse a robot's logins until enabled.")

        @Argument(help: "Robot name.")
        var name: String

        @OptionGroup var root: RootOptions

        func run() async throws {
            try await RobotCommand.change(root) { try await $0.robots.setDisabled(name, true) }
            print("robot \(name) disabled")
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "enable", abstract: "Let a disabled robot sign in again.")

        @Argument(help: "Robot name.")
        var name: String

        @OptionGroup var root: RootOptions

        func run() async throws {
            try await RobotCommand.change(root) { try await $0.robots.setDisabled(name, false) }
            print("robot \(name) enabled")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remove", abstract: "Delete a robot.", aliases: ["rm"])

        @Argument(help: "Robot name.")
        var name: String

        @OptionGroup var root: RootOptions

        func run() async throws {
            try await RobotCommand.change(root) { try await $0.robots.remove(name) }
            print("robot \(name) removed")
        }
    }

    /// Runs `body` on the root, reporting a robot error as a usage error.
    static func change(_ root: RootOptions, _ body: (RootMaintenance) async throws -> Void) async throws {
        try await root.withRoot { maintenance in
            do {
                try await body(maintenance)
            } catch let error as RobotAccountError {
                throw ValidationError(error.description)
            }
        }
    }
}
