// Settings: the manifest's defaults deep-merged with the host configuration's (the config wins).

function isPlain(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** Deep-merges plain objects; arrays and scalars from `override` replace those of `base`. */
export function mergeSettings(
  base: Readonly<Record<string, unknown>>,
  override: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  // A Map, then own properties: a "__proto__" key from the config's settings must not set a prototype.
  const out = new Map<string, unknown>(Object.entries(base));
  for (const [k, v] of Object.entries(override)) {
    const was = out.get(k);
    out.set(k, isPlain(v) && isPlain(was) ? mergeSettings(was, v) : v);
  }
  return Object.fromEntries(out);
}
