import RegistryCore
import RegistryTestSupport

/// Logins for the tests' registries.
enum TestUsers {
    /// A fresh htpasswd file in which each of `users` signs in with the password `<user>-pw`
    /// (bcrypt cost 4, the lowest: the tests log in often). Returns its path.
    static func htpasswd(_ users: String...) throws -> String {
        let path = try TestRegistry.makeTemporaryDirectory() + "/htpasswd"
        for user in users {
            try Htpasswd.setPassword("\(user)-pw", for: user, in: path, cost: 4)
        }
        return path
    }
}
