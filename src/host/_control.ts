/**
 * Internal: an operator's control of one plugin: start, stop, enable, disable. Each lifts a quarantine and keeps
 * dependencies in order.
 *
 * @module
 */

import type { PluginHandle } from "../plugin/types.ts";
import type { HostState } from "./_state.ts";

/** `PluginHost.startPlugin`. */
export async function startPlugin(s: HostState, id: string): Promise<PluginHandle> {
  const p = s.get(id);
  s.healer?.reset(id); // an operator's start lifts a quarantine
  s.deps.assertStartable(id);
  await p.start();
  await s.deps.idle(); // dependents waiting for it are back
  return p;
}

/** `PluginHost.stopPlugin`. */
export async function stopPlugin(s: HostState, id: string): Promise<PluginHandle> {
  const p = s.get(id);
  s.healer?.reset(id);
  const dependentsFirst = s.deps.beforeStop(id); // dependents that need it stop first
  if (dependentsFirst) await dependentsFirst;
  await p.unload();
  return p;
}

/** `PluginHost.enable`. */
export async function enable(s: HostState, id: string): Promise<PluginHandle> {
  s.disabled.delete(id);
  return await startPlugin(s, id);
}

/** `PluginHost.disable`. */
export async function disable(s: HostState, id: string): Promise<PluginHandle> {
  s.disabled.add(id);
  return await stopPlugin(s, id);
}
