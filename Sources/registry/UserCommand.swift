import ArgumentParser
import Foundation
import RegistryCore

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage the users of an htpasswd file (bcrypt).",
        subcommands: [Add.self, Remove.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add", abstract: "Add a user or change its password; the password is read from standard input.")

        @Argument(help: "User name.")
        var name: String

        @Option(help: "The htpasswd file (created if missing).")
        var htpasswd: String

        func run() throws {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw ValidationError("give the password on standard input")
            }
            // bcrypt reads only up to a NUL byte, and the registry refuses logins containing one.
            guard !line.utf8.contains(0), !name.utf8.contains(0) else {
                throw ValidationError("user names and passwords may not contain NUL bytes")
            }
            try Htpasswd.setPassword(line, for: name, in: htpasswd)
            print("user \(name) saved in \(htpasswd)")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a user.")

        @Argument(help: "User name.")
        var name: String

        @Option(help: "The htpasswd file.")
        var htpasswd: String

        func run() throws {
            guard try Htpasswd.removeUser(name, from: htpasswd) else {
                throw ValidationError("no user \(name) in \(htpasswd)")
            }
            print("user \(name) removed from \(htpasswd)")
        }
    }
}
