/// Which checks a run consists of, in the order they run: feature by feature, the sha512 form
/// of a feature right after its sha256 form.
public enum CheckCatalog {
    /// Every check of the main-branch spec, unfiltered.
    public static var all: [Check] { writing }

    /// The checks `configuration` selects (spec version, features, workflows, read-only).
    public static func checks(for configuration: ConformanceConfiguration) -> [Check] {
        let candidates = configuration.readOnly.map(Check.readOnly) ?? writing
        return candidates.filter { check in
            check.since <= configuration.spec
                && configuration.workflows.contains(check.workflow)
                && (configuration.features.isEmpty || configuration.features.contains(where: check.feature.matches))
        }
    }

    /// The features of a run of `spec`, in report order.
    public static func features(for spec: SpecVersion) -> [Feature] {
        var seen: [Feature] = []
        for check in writing where check.since <= spec && !seen.contains(check.feature) { seen.append(check.feature) }
        return seen
    }

    private static var writing: [Check] {
        let perAlgorithm: [(DigestAlgorithm) -> [Check]] = [
            Check.manifestPull, Check.blobPull, Check.blobRange, Check.monolithicPush, Check.chunkedPush,
            Check.digestVerification, Check.blobMount, Check.manifestPush, Check.contentVariants, Check.multiTagPush,
        ]
        var checks = Check.base
        for (position, family) in perAlgorithm.enumerated() {
            for algorithm in DigestAlgorithm.allCases { checks += family(algorithm) }
            // The dev-only blob features sit next to the blob-push ones.
            if position == 5 { checks += Check.digestAlgorithm + Check.uploadCancel }
        }
        return checks + Check.invalidReferences + Check.tagsList + Check.tagPaging + Check.referrers + Check.contentManagement
    }
}
