// Errors across the wire: serialized with name, message, code; rebuilt on the other side as the same class
// where that class is known (built-ins, Deno.errors, the host's own), else as an Error carrying that name.
import { PluginHostError, type PluginHostErrorCode } from "../errors.ts";
import type { SerializedError } from "./protocol.ts";

const MAX = 8 * 1024;

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const out: { name: string; message: string; code?: string; stack?: string } = {
      name: String(e.name || "Error").slice(0, 256),
      message: String(e.message).slice(0, MAX),
    };
    if (typeof code === "string" && code.length > 0 && code.length <= 256) out.code = code;
    if (typeof e.stack === "string") out.stack = e.stack.slice(0, MAX);
    return out;
  }
  let message: string;
  try {
    message = typeof e === "string" ? e : JSON.stringify(e) ?? String(e);
  } catch {
    message = String(e);
  }
  return { name: "Error", message: message.slice(0, MAX) };
}

const BUILTINS: Readonly<Record<string, ErrorConstructor>> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const HOST_CODES: ReadonlySet<string> = new Set<PluginHostErrorCode>([
  "METHOD_NOT_FOUND",
  "PERMISSION_DENIED",
  "PLUGIN_NOT_FOUND",
  "PLUGIN_NOT_RUNNING",
  "CALL_TIMEOUT",
  "CALL_ABORTED",
  "REMOTE_ERROR",
]);

export function deserializeError(s: SerializedError, pluginId: string): Error {
  let err: Error;
  const denoErrors = Deno.errors as unknown as Record<string, ErrorConstructor | undefined>;
  if (s.name === "PluginHostError" && s.code && HOST_CODES.has(s.code)) {
    err = new PluginHostError(s.code as PluginHostErrorCode, s.message, { pluginId });
  } else if (Object.hasOwn(BUILTINS, s.name)) {
    err = new BUILTINS[s.name](s.message);
  } else if (Object.hasOwn(denoErrors, s.name) && typeof denoErrors[s.name] === "function") {
    err = new (denoErrors[s.name] as ErrorConstructor)(s.message);
  } else {
    err = new Error(s.message);
    err.name = s.name;
  }
  if (s.code !== undefined && !(err instanceof PluginHostError)) {
    Object.defineProperty(err, "code", {
      value: s.code,
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  // The remote stack says where in the plugin it was thrown; keep it below the local one.
  if (s.stack) err.stack = `${err.stack}\n    --- in plugin "${pluginId}" ---\n${s.stack}`;
  return err;
}
