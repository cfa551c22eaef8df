// Calls from other hosts to this one's plugins: each request is checked like a Worker's message, reaches only
// a plugin the fleet is offered (Clusterable, Running or dormant), and is bounded by the caller's timeout and
// this host's CallTimeout, whichever is shorter. Whatever happens, the request gets an answer (one over
// max_payload through the spill bucket, src/cluster/_spill.ts).
import { PluginHostError } from "../errors.ts";
import type { Msg } from "../_npm/nats.ts";
import type { PluginHandle } from "../plugin/types.ts";
import { serializeError } from "../rpc/_wire_errors.ts";
import { encodeFrame } from "./_codec.ts";
import type { Spill } from "./_spill.ts";
import { type CallReply, FLEET_PROTOCOL, parseCallRequest } from "./protocol.ts";

/** Whether the fleet may call `p`: it declares Clusterable and serves (or starts on need). */
export function isOffered(p: PluginHandle): boolean {
  return p.manifest.capabilities.includes("Clusterable") &&
    (p.state === "Running" || p.dormant !== undefined);
}

/** Answers one request from the fleet. */
export async function serveCall(
  msg: Msg,
  plugins: (id: string) => PluginHandle | undefined,
  callTimeoutMs: number,
  spill: Spill,
  onBadMessage: (error: PluginHostError) => void,
): Promise<void> {
  let reply: CallReply;
  try {
    const read = spill.read(msg.data);
    const req = parseCallRequest(read instanceof Promise ? await read : read);
    const p = plugins(req.plugin);
    if (!p || !isOffered(p)) {
      throw new PluginHostError(
        "PLUGIN_NOT_FOUND",
        `This host offers no plugin "${req.plugin}" to the fleet`,
      );
    }
    // The caller's bound when it is the shorter; else the plugin's own CallTimeout, with no timer of ours.
    const value = req.timeoutMs < callTimeoutMs
      ? await p.request(req.method, req.args, { timeoutMs: req.timeoutMs })
      : await p.request(req.method, req.args);
    reply = { v: FLEET_PROTOCOL, ok: true, value };
  } catch (e) {
    if (e instanceof PluginHostError && e.code === "PROTOCOL_ERROR") onBadMessage(e);
    reply = { v: FLEET_PROTOCOL, ok: false, error: bare(e) };
  }
  if (!msg.reply) return; // a publish, not a request: nobody to answer
  let frame: Uint8Array;
  try {
    const out = spill.out(encodeFrame(reply)); // over max_payload: through the spill bucket
    frame = out instanceof Promise ? await out : out;
  } catch (e) { // a result the wire cannot carry (a Map, a function, too many bytes...)
    frame = encodeFrame({ v: FLEET_PROTOCOL, ok: false, error: bare(e) });
  }
  msg.respond(frame);
}

// Without its stack: the fleet learns what failed, not this host's file paths.
function bare(e: unknown): ReturnType<typeof serializeError> {
  const { stack: _, ...rest } = serializeError(e);
  return rest;
}
