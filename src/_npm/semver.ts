// semver, versions and ranges: stands in for @std/semver (src/_npm/README.md).
// Full npm: specifiers on purpose: an embedding host has no import map of ours (README.md here).
// deno-lint-ignore-file no-import-prefix
import semver from "npm:semver@^7.8.6";
export default semver;
