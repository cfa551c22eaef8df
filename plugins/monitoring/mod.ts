// Monitoring: every check reads a snapshot of all plugins from the host's "host.metrics" service and compares
// it with the thresholds in the settings. A crossed threshold raises an alert once (a warning log record and an
// entry in alerts()); it is resolved (an info record) at the first check where the plugin is back under it.
import { definePlugin, type PluginContext } from "@dotcompute/plugins/plugin";

/** One crossed threshold. */
export interface Alert {
  /** The plugin concerned. */
  readonly plugin: string;
  /** What crossed: "errors", "latency", "restarts" or "state" (the plugin is Failed). */
  readonly metric: "errors" | "latency" | "restarts" | "state";
  readonly value: number | string;
  readonly threshold: number | string;
  /** When it was raised (ms since the epoch). */
  readonly since: number;
  readonly message: string;
}

/** The settings' thresholds. */
export interface Thresholds {
  readonly errorsPerCheck: number;
  readonly p95LatencyMs: number;
  readonly restarts: number;
}

interface Snapshot {
  readonly at: number;
  readonly plugins: readonly {
    readonly id: string;
    readonly state: string;
    readonly metrics: {
      readonly errors: number;
      readonly restarts: number;
      readonly latencyMs: { p95: number };
    };
  }[];
}

const DEFAULTS: Thresholds = { errorsPerCheck: 10, p95LatencyMs: 1000, restarts: 3 };
let ctx: PluginContext;
let thresholds: Thresholds = DEFAULTS;
let timer: ReturnType<typeof setInterval> | undefined;
const active = new Map<string, Alert>();
const lastErrors = new Map<string, number>();

function readSettings(settings: Readonly<Record<string, unknown>>): void {
  thresholds = { ...DEFAULTS, ...(settings.thresholds as Partial<Thresholds> | undefined) };
}

/** Compares one snapshot with the thresholds; returns the alerts raised by it. */
function evaluate(snap: Snapshot): Alert[] {
  const crossed = new Map<string, Omit<Alert, "since" | "message">>();
  for (const p of snap.plugins) {
    if (p.id === ctx.id) continue;
    const m = p.metrics;
    const errors = m.errors - (lastErrors.get(p.id) ?? 0);
    lastErrors.set(p.id, m.errors);
    const found: Omit<Alert, "since" | "message">[] = [];
    if (errors > thresholds.errorsPerCheck) {
      found.push({ plugin: p.id, metric: "errors", value: errors, threshold: thresholds.errorsPerCheck });
    }
    if (m.latencyMs.p95 > thresholds.p95LatencyMs) {
      found.push({
        plugin: p.id,
        metric: "latency",
        value: m.latencyMs.p95,
        threshold: thresholds.p95LatencyMs,
      });
    }
    if (m.restarts > thresholds.restarts) {
      found.push({ plugin: p.id, metric: "restarts", value: m.restarts, threshold: thresholds.restarts });
    }
    if (p.state === "Failed") {
      found.push({ plugin: p.id, metric: "state", value: p.state, threshold: "not Failed" });
    }
    for (const a of found) crossed.set(`${a.plugin}/${a.metric}`, a);
  }
  const raised: Alert[] = [];
  for (const [key, a] of crossed) {
    if (active.has(key)) continue;
    const alert = {
      ...a,
      since: snap.at,
      message: `${a.plugin}: ${a.metric} ${a.value} over ${a.threshold}`,
    };
    active.set(key, alert);
    raised.push(alert);
    ctx.metrics.counter("alerts_raised").add();
    ctx.log.warn("alert: {message}", { ...alert });
  }
  for (const [key, a] of active) {
    if (crossed.has(key)) continue;
    active.delete(key);
    ctx.log.info("resolved: {message}", { ...a });
  }
  return raised;
}

async function check(): Promise<Alert[]> {
  return evaluate(await ctx.plugins.call("host.metrics", "snapshot") as Snapshot);
}

export default definePlugin({
  validateSettings(settings: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    const interval = settings.intervalMs;
    if (!Number.isSafeInteger(interval) || (interval as number) < 0) {
      problems.push(`"intervalMs" must be a whole number ≥ 0, got ${JSON.stringify(interval)}`);
    }
    const t = (settings.thresholds ?? {}) as Record<string, unknown>;
    for (const [name, v] of Object.entries(t)) {
      if (!(name in DEFAULTS)) {
        problems.push(`"thresholds.${name}" is unknown (known: ${Object.keys(DEFAULTS)})`);
      } else if (typeof v !== "number" || !(v >= 0)) {
        problems.push(`"thresholds.${name}" must be a number ≥ 0`);
      }
    }
    return problems;
  },
  initialize(c: PluginContext): void {
    ctx = c;
    readSettings(c.settings);
  },
  start(c: PluginContext): void {
    const interval = Number(c.settings.intervalMs);
    if (interval > 0) {
      timer = setInterval(() => {
        check().catch((e) => c.log.error("check failed: {message}", { message: String(e?.message ?? e) }));
      }, interval);
    }
  },
  stop(): void {
    clearInterval(timer);
  },
  configure(settings: Readonly<Record<string, unknown>>): void {
    readSettings(settings);
  },
  health() {
    return { status: "healthy" as const, details: { activeAlerts: active.size } };
  },
  methods: {
    /** Checks now; returns the alerts this check raised (alerts already active are not raised again). */
    check,
    /** The alerts active now, oldest first. */
    alerts(): Alert[] {
      return [...active.values()];
    },
    /** The thresholds in force. */
    thresholds(): Thresholds {
      return thresholds;
    },
  },
});
