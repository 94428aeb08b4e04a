import Logging
import NIOConcurrencyHelpers
import RegistryModel
import RegistryStorage

/// The free space the storage's file system must keep for the registry to call itself ready
/// (`storage.min_free`): an orchestrator then stops sending pushes before the disk is full,
/// rather than after the first push failed.
public enum FreeSpaceFloor: Sendable, Equatable, CustomStringConvertible {
    case bytes(Int64)
    /// A share of the file system's size, 0 to 100.
    case percent(Double)

    public static let disabled = FreeSpaceFloor.bytes(0)

    public var isDisabled: Bool { self == .disabled || self == .percent(0) }

    /// The floor in bytes on a file system of this size.
    func bytes(of space: FileSystemSpace) -> Int64 {
        switch self {
        case .bytes(let bytes): bytes
        case .percent(let percent): Int64(Double(space.totalBytes) * percent / 100)
        }
    }

    public var description: String {
        switch self {
        case .bytes(let bytes): ByteCount.format(bytes)
        case .percent(let percent): "\(ByteCount.trimmed(percent))%"
        }
    }
}

/// Free space is under ``FreeSpaceFloor``: `/readyz` answers 503 with this as the reason.
public struct FreeSpaceBelowFloor: Error, Sendable, CustomStringConvertible {
    public let space: FileSystemSpace
    public let floor: FreeSpaceFloor

    public var description: String {
        "only \(ByteCount.format(space.availableBytes)) free on the storage's file system, "
            + "below the configured minimum (storage.min_free) of \(floor)"
    }
}

/// Compares free space with the floor at each readiness probe, and logs when it crosses the
/// floor (a warning going under, a notice coming back) rather than at every probe.
final class FreeSpaceWatch: Sendable {
    let floor: FreeSpaceFloor
    private let logger: Logger
    /// Whether the last measurement was under the floor.
    private let wasBelow = NIOLockedValueBox(false)

    init(floor: FreeSpaceFloor, logger: Logger) {
        self.floor = floor
        self.logger = logger
    }

    func check(_ space: FileSystemSpace) throws(FreeSpaceBelowFloor) {
        let below = space.availableBytes < floor.bytes(of: space)
        let changed = wasBelow.withLockedValue { wasBelow in
            defer { wasBelow = below }
            return wasBelow != below
        }
        let metadata: Logger.Metadata = [
            "available": "\(ByteCount.format(space.availableBytes))", "min_free": "\(floor)",
        ]
        if changed && below {
            logger.warning("free space under storage.min_free: reporting not ready", metadata: metadata)
        } else if changed {
            logger.notice("free space back above storage.min_free: reporting ready", metadata: metadata)
        }
        if below { throw FreeSpaceBelowFloor(space: space, floor: floor) }
    }
}
