// _node_builtins.ts, imported deferred (_harden.ts says why). Its own module so that the runtime's bundle
// (scripts/bundle_runtime.ts), whose bundler cannot read `import defer`, loads it beside itself, as it is.
import defer * as builtins from "./_node_builtins.ts";

export { builtins };
