/**
 * `node:fs/promises` as plugins see it (the package's import map sends every module's `node:fs/promises`
 * here; src/runtime/ keeps the real one). Outside a plugin worker every export is the real one. Inside, `open`
 * is the module object's, which counts each FileHandle against the plugin's `ResourceLimits.MaxHandles` until
 * it is closed (_budget_node.ts).
 *
 * @module
 */
import fsp from "node:fs/promises";
import { budgetNodeFsPromises, guardNode } from "./_node_bridge.ts"; // the runtime's own (see there)

export * from "node:fs/promises";
export default fsp;

guardNode();
budgetNodeFsPromises(fsp as unknown as Record<string, unknown>);

/** `fsPromises.open`, counted against the plugin's handle budget. */
export const open: typeof fsp.open = fsp.open;

// The other operations, each pending against the budget while it runs (_budget_node.ts NODE_FS_ASYNC).
/** `fsPromises.readFile`, pending against the plugin's handle budget while it runs. */
export const readFile: typeof fsp.readFile = fsp.readFile;
/** `fsPromises.writeFile`, pending against the plugin's handle budget while it runs. */
export const writeFile: typeof fsp.writeFile = fsp.writeFile;
/** `fsPromises.appendFile`, pending against the plugin's handle budget while it runs. */
export const appendFile: typeof fsp.appendFile = fsp.appendFile;
/** `fsPromises.copyFile`, pending against the plugin's handle budget while it runs. */
export const copyFile: typeof fsp.copyFile = fsp.copyFile;
/** `fsPromises.cp`, pending against the plugin's handle budget while it runs. */
export const cp: typeof fsp.cp = fsp.cp;
/** `fsPromises.readdir`, pending against the plugin's handle budget while it runs. */
export const readdir: typeof fsp.readdir = fsp.readdir;
/** `fsPromises.opendir`, pending against the plugin's handle budget while it runs. */
export const opendir: typeof fsp.opendir = fsp.opendir;
/** `fsPromises.stat`, pending against the plugin's handle budget while it runs. */
export const stat: typeof fsp.stat = fsp.stat;
/** `fsPromises.lstat`, pending against the plugin's handle budget while it runs. */
export const lstat: typeof fsp.lstat = fsp.lstat;
/** `fsPromises.statfs`, pending against the plugin's handle budget while it runs. */
export const statfs: typeof fsp.statfs = fsp.statfs;
/** `fsPromises.access`, pending against the plugin's handle budget while it runs. */
export const access: typeof fsp.access = fsp.access;
/** `fsPromises.mkdir`, pending against the plugin's handle budget while it runs. */
export const mkdir: typeof fsp.mkdir = fsp.mkdir;
/** `fsPromises.mkdtemp`, pending against the plugin's handle budget while it runs. */
export const mkdtemp: typeof fsp.mkdtemp = fsp.mkdtemp;
/** `fsPromises.rm`, pending against the plugin's handle budget while it runs. */
export const rm: typeof fsp.rm = fsp.rm;
/** `fsPromises.rmdir`, pending against the plugin's handle budget while it runs. */
export const rmdir: typeof fsp.rmdir = fsp.rmdir;
/** `fsPromises.unlink`, pending against the plugin's handle budget while it runs. */
export const unlink: typeof fsp.unlink = fsp.unlink;
/** `fsPromises.rename`, pending against the plugin's handle budget while it runs. */
export const rename: typeof fsp.rename = fsp.rename;
/** `fsPromises.truncate`, pending against the plugin's handle budget while it runs. */
export const truncate: typeof fsp.truncate = fsp.truncate;
/** `fsPromises.chmod`, pending against the plugin's handle budget while it runs. */
export const chmod: typeof fsp.chmod = fsp.chmod;
/** `fsPromises.chown`, pending against the plugin's handle budget while it runs. */
export const chown: typeof fsp.chown = fsp.chown;
/** `fsPromises.lchown`, pending against the plugin's handle budget while it runs. */
export const lchown: typeof fsp.lchown = fsp.lchown;
/** `fsPromises.utimes`, pending against the plugin's handle budget while it runs. */
export const utimes: typeof fsp.utimes = fsp.utimes;
/** `fsPromises.lutimes`, pending against the plugin's handle budget while it runs. */
export const lutimes: typeof fsp.lutimes = fsp.lutimes;
/** `fsPromises.link`, pending against the plugin's handle budget while it runs. */
export const link: typeof fsp.link = fsp.link;
/** `fsPromises.symlink`, pending against the plugin's handle budget while it runs. */
export const symlink: typeof fsp.symlink = fsp.symlink;
/** `fsPromises.readlink`, pending against the plugin's handle budget while it runs. */
export const readlink: typeof fsp.readlink = fsp.readlink;
/** `fsPromises.realpath`, pending against the plugin's handle budget while it runs. */
export const realpath: typeof fsp.realpath = fsp.realpath;
