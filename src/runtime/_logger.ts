// The logger a plugin gets. It speaks LogTape's API (message templates with {placeholders}, lazy properties,
// tagged templates, getChild, with) and sends each record to the host, where it is emitted into the host's
// LogTape configuration. It is written here rather than imported from LogTape so that the plugin's thread
// loads nothing from outside the package's runtime folder (its module graph runs under the plugin's grants).
import type { LogProperties, PluginLogger } from "../plugin_api.ts";
import type { LogLevel } from "../rpc/protocol.ts";

/** Where records go: level, category, rendered message, properties. */
export type LogSink = (
  level: LogLevel,
  category: readonly string[],
  message: string,
  properties: LogProperties,
) => void;

const MAX_PROPERTIES = 64;
const MAX_PARTS = 16;

/**
 * A logger name as the host accepts it (src/rpc/protocol.ts: [A-Za-z0-9_.:-], 1 to 64 characters): any other
 * character becomes "_", so a plugin's getChild("my module") still logs, as "my_module". (The host checks
 * again: a plugin that breaks this only loses its own records.)
 */
function part(name: unknown): string {
  return String(name).slice(0, 64).replace(/[^A-Za-z0-9_.:-]/g, "_") || "_";
}

function show(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return Deno.inspect(value, { depth: 4, colors: false });
  } catch {
    return String(value);
  }
}

/** Renders "{name}" placeholders from properties, as LogTape does ("{{" escapes a brace). */
export function renderTemplate(template: string, properties: LogProperties): string {
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, key: string | undefined) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    const k = key!.trim();
    return Object.hasOwn(properties, k) ? show(properties[k]) : match;
  });
}

type Args = [message: string | TemplateStringsArray, ...rest: unknown[]];

/** Creates a logger for `category` whose records go to `sink`. */
export function createLogger(
  sink: LogSink,
  category: readonly string[],
  bound: LogProperties = {},
): PluginLogger {
  const emit = (level: LogLevel, ...[message, ...rest]: Args): void => {
    let text: string;
    let props: LogProperties = bound;
    if (typeof message === "string") {
      const p = rest[0];
      const given = typeof p === "function" ? (p as () => LogProperties)() : p;
      if (given && typeof given === "object") props = { ...bound, ...(given as LogProperties) };
      text = renderTemplate(message, props);
    } else {
      text = message.reduce((acc, part, i) => acc + part + (i < rest.length ? show(rest[i]) : ""), "");
    }
    const limited = Object.fromEntries(Object.entries(props).slice(0, MAX_PROPERTIES));
    sink(level, category, text, limited);
  };
  const logger = {
    trace: (...a: Args) => emit("trace", ...a),
    debug: (...a: Args) => emit("debug", ...a),
    info: (...a: Args) => emit("info", ...a),
    warn: (...a: Args) => emit("warning", ...a),
    warning: (...a: Args) => emit("warning", ...a),
    error: (...a: Args) => emit("error", ...a),
    fatal: (...a: Args) => emit("fatal", ...a),
    getChild: (sub: string | readonly string[]): PluginLogger =>
      createLogger(
        sink,
        [...category, ...(typeof sub === "string" ? [sub] : [...sub])].slice(0, MAX_PARTS).map(part),
        bound,
      ),
    with: (properties: LogProperties): PluginLogger =>
      createLogger(sink, category, { ...bound, ...properties }),
    category,
  };
  return logger as unknown as PluginLogger;
}
