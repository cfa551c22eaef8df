// Defining properties on objects a plugin may later reach: Object.defineProperty is taken once, as this module
// loads (before any plugin code runs), and every descriptor has no prototype, so that no `get` or `value`
// put on Object.prototype can slip into it.
const { defineProperty } = Object;

/** Makes `target[key]` `value`, neither writable nor configurable; quiet when it is locked already. */
export function lock(target: object, key: PropertyKey, value: unknown): void {
  try {
    defineProperty(
      target,
      key,
      { __proto__: null, value, writable: false, configurable: false } as PropertyDescriptor,
    );
  } catch { /* already locked */ }
}

/** Makes `target[key]` `value`, writable and configurable; quiet when the property is not configurable. */
export function set(target: object, key: PropertyKey, value: unknown): void {
  try {
    defineProperty(
      target,
      key,
      { __proto__: null, value, writable: true, configurable: true } as PropertyDescriptor,
    );
  } catch { /* not configurable */ }
}
