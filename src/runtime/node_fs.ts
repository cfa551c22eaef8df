/**
 * `node:fs` as plugins see it (the package's import map sends every module's `node:fs` here; src/runtime/
 * keeps the real one). Outside a plugin worker every export is the real one. Inside, the exports that open or
 * close a descriptor are the module object's, which the runtime counts against the plugin's
 * `ResourceLimits.MaxHandles` (_budget_node.ts): the named exports are bound when node:fs loads, out of reach of
 * a patch on the object.
 *
 * @module
 */
import fs from "node:fs";
import { budgetNodeFs, guardNode } from "./_node_bridge.ts"; // the runtime's own (see there)

export * from "node:fs";
export default fs;

guardNode();
budgetNodeFs(fs as unknown as Record<string, unknown>);

/** `fs.openSync`, counted against the plugin's handle budget. */
export const openSync: typeof fs.openSync = fs.openSync;
/** `fs.open`, counted against the plugin's handle budget. */
export const open: typeof fs.open = fs.open;
/** `fs.closeSync`, releasing what `openSync`/`open` counted. */
export const closeSync: typeof fs.closeSync = fs.closeSync;
/** `fs.close`, releasing what `openSync`/`open` counted. */
export const close: typeof fs.close = fs.close;
/** `fs.watch`, admitted against the plugin's handle budget. */
export const watch: typeof fs.watch = fs.watch;

// The asynchronous operations, each pending against the budget while it runs (_budget_node.ts NODE_FS_ASYNC).
/** `fs.readFile`, pending against the plugin's handle budget while it runs. */
export const readFile: typeof fs.readFile = fs.readFile;
/** `fs.writeFile`, pending against the plugin's handle budget while it runs. */
export const writeFile: typeof fs.writeFile = fs.writeFile;
/** `fs.appendFile`, pending against the plugin's handle budget while it runs. */
export const appendFile: typeof fs.appendFile = fs.appendFile;
/** `fs.copyFile`, pending against the plugin's handle budget while it runs. */
export const copyFile: typeof fs.copyFile = fs.copyFile;
/** `fs.cp`, pending against the plugin's handle budget while it runs. */
export const cp: typeof fs.cp = fs.cp;
/** `fs.readdir`, pending against the plugin's handle budget while it runs. */
export const readdir: typeof fs.readdir = fs.readdir;
/** `fs.opendir`, pending against the plugin's handle budget while it runs. */
export const opendir: typeof fs.opendir = fs.opendir;
/** `fs.stat`, pending against the plugin's handle budget while it runs. */
export const stat: typeof fs.stat = fs.stat;
/** `fs.lstat`, pending against the plugin's handle budget while it runs. */
export const lstat: typeof fs.lstat = fs.lstat;
/** `fs.statfs`, pending against the plugin's handle budget while it runs. */
export const statfs: typeof fs.statfs = fs.statfs;
/** `fs.access`, pending against the plugin's handle budget while it runs. */
export const access: typeof fs.access = fs.access;
/** `fs.mkdir`, pending against the plugin's handle budget while it runs. */
export const mkdir: typeof fs.mkdir = fs.mkdir;
/** `fs.mkdtemp`, pending against the plugin's handle budget while it runs. */
export const mkdtemp: typeof fs.mkdtemp = fs.mkdtemp;
/** `fs.rm`, pending against the plugin's handle budget while it runs. */
export const rm: typeof fs.rm = fs.rm;
/** `fs.rmdir`, pending against the plugin's handle budget while it runs. */
export const rmdir: typeof fs.rmdir = fs.rmdir;
/** `fs.unlink`, pending against the plugin's handle budget while it runs. */
export const unlink: typeof fs.unlink = fs.unlink;
/** `fs.rename`, pending against the plugin's handle budget while it runs. */
export const rename: typeof fs.rename = fs.rename;
/** `fs.truncate`, pending against the plugin's handle budget while it runs. */
export const truncate: typeof fs.truncate = fs.truncate;
/** `fs.chmod`, pending against the plugin's handle budget while it runs. */
export const chmod: typeof fs.chmod = fs.chmod;
/** `fs.chown`, pending against the plugin's handle budget while it runs. */
export const chown: typeof fs.chown = fs.chown;
/** `fs.lchown`, pending against the plugin's handle budget while it runs. */
export const lchown: typeof fs.lchown = fs.lchown;
/** `fs.utimes`, pending against the plugin's handle budget while it runs. */
export const utimes: typeof fs.utimes = fs.utimes;
/** `fs.lutimes`, pending against the plugin's handle budget while it runs. */
export const lutimes: typeof fs.lutimes = fs.lutimes;
/** `fs.link`, pending against the plugin's handle budget while it runs. */
export const link: typeof fs.link = fs.link;
/** `fs.symlink`, pending against the plugin's handle budget while it runs. */
export const symlink: typeof fs.symlink = fs.symlink;
/** `fs.readlink`, pending against the plugin's handle budget while it runs. */
export const readlink: typeof fs.readlink = fs.readlink;
/** `fs.realpath`, pending against the plugin's handle budget while it runs. */
export const realpath: typeof fs.realpath = fs.realpath;
