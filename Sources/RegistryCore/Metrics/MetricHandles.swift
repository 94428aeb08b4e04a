import CoreMetrics

// swift-metrics' handle types under names of their own: swift-prometheus has a `Counter` and a
// `Gauge` too, and Foundation a `Timer`.
typealias MetricCounter = CoreMetrics.Counter
typealias MetricGauge = CoreMetrics.Gauge
typealias MetricMeter = CoreMetrics.Meter
typealias MetricTimer = CoreMetrics.Timer
