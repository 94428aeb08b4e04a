import RegistryStorage

/// One object of a session's data: the bytes `offset ..< offset + size` of the upload.
struct Segment: Sendable, Equatable {
    var key: String
    var offset: Int64
    var size: Int64

    var end: Int64 { offset + size }
}

/// A session's data as a listing shows it: the segments that tile it from offset 0, in order,
/// and any found past a gap (left by a write or a cut that failed half-way), which are garbage:
/// the next write or cut deletes them, and nothing reads them.
struct SessionData: Sendable, Equatable {
    var segments: [Segment]
    var strays: [Segment]

    /// Whether the session has any object at all (`length(of:)` is nil otherwise).
    var isEmpty: Bool { segments.isEmpty && strays.isEmpty }
    /// Bytes the segments hold from offset 0 without a gap.
    var length: Int64 { segments.last?.end ?? 0 }

    /// Sorts `listed` (in any order) into the tiling and the strays.
    init(listed: [Segment]) {
        segments = []
        strays = []
        var end: Int64 = 0
        for segment in listed.sorted(by: { $0.offset < $1.offset }) {
            if segment.offset == end && (segment.size > 0 || segments.isEmpty) && strays.isEmpty {
                segments.append(segment)
                end = segment.end
            } else {
                strays.append(segment)
            }
        }
    }

    /// The objects and ranges within them that hold `range` of the data, in order; they stop at
    /// the data's end when the range goes past it.
    func pieces(covering range: Range<Int64>) -> [ObjectPiece] {
        segments.compactMap { segment in
            let lower = max(range.lowerBound, segment.offset)
            let upper = min(range.upperBound, segment.end)
            guard lower < upper else { return nil }
            return ObjectPiece(key: segment.key, range: (lower - segment.offset)..<(upper - segment.offset))
        }
    }
}

/// Bytes `range` of the object `key`.
struct ObjectPiece: Sendable, Equatable {
    var key: String
    var range: Range<Int64>
}
