// Test helpers for the OpenTelemetry metrics: a real SDK MeterProvider with
// a reader collected on demand, and lookups into what it collected.
import {
  AggregationTemporality,
  type DataPoint,
  type Histogram,
  MeterProvider,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import type { Meter } from "@opentelemetry/api";

/** A reader collected by the test itself (no timer, no exporter thread). */
class OnDemandReader extends MetricReader {
  constructor(temporality: AggregationTemporality) {
    super({ aggregationTemporalitySelector: () => temporality });
  }
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** One collection: the metrics by name. */
export class Collected {
  readonly byName = new Map<
    string,
    ResourceMetrics["scopeMetrics"][number]["metrics"][number]
  >();

  constructor(rm: ResourceMetrics) {
    for (const scope of rm.scopeMetrics) {
      for (const m of scope.metrics) this.byName.set(m.descriptor.name, m);
    }
  }

  /** The data points of `name` whose attributes include `attrs`. */
  points(
    name: string,
    attrs: Record<string, unknown> = {},
  ): DataPoint<unknown>[] {
    const m = this.byName.get(name);
    if (m === undefined) return [];
    return (m.dataPoints as DataPoint<unknown>[]).filter((p) =>
      Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)
    );
  }

  /** The one value of `name` with `attrs`, or undefined if none. */
  value(name: string, attrs: Record<string, unknown>): number | undefined {
    const ps = this.points(name, attrs);
    if (ps.length > 1) throw new Error(`${ps.length} points for ${name}`);
    return ps[0]?.value as number | undefined;
  }

  /** The histogram of `name` with `attrs`, or undefined if none. */
  histogram(
    name: string,
    attrs: Record<string, unknown>,
  ): Histogram | undefined {
    const ps = this.points(name, attrs);
    if (ps.length > 1) throw new Error(`${ps.length} points for ${name}`);
    return ps[0]?.value as Histogram | undefined;
  }
}

/** A MeterProvider with an on-demand reader (cumulative, unless `delta`). */
export class Metrics {
  readonly reader: OnDemandReader;
  readonly provider: MeterProvider;
  readonly meter: Meter;

  constructor(delta = false) {
    this.reader = new OnDemandReader(
      delta ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE,
    );
    this.provider = new MeterProvider({ readers: [this.reader] });
    this.meter = this.provider.getMeter("proxy-pattern-pool-test");
  }

  async collect(): Promise<Collected> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length !== 0) throw errors[0];
    return new Collected(resourceMetrics);
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}
