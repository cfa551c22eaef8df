// The cold-start baseline: a bare Deno Worker that loads a module (the same one a bench plugin has) and
// answers with its method names. No runtime, no hardening, no protocol.
const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<string>) => void) | null;
  postMessage(message: unknown): void;
};
scope.onmessage = async (e) => {
  const url = e.data; // non-literal, as the plugin runtime loads plugins
  const mod = await import(url) as { default: { methods: Record<string, unknown> } };
  scope.postMessage(Object.keys(mod.default.methods));
};
