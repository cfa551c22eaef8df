// Finds every import a JS/TS module's text can make, without running it: `import … from "x"`, `export … from
// "x"`, `import "x"`, literal `import("x")` and `require("x")`, and flags `import(expr)` / `require(expr)`
// whose target the text does not settle. Used by the host before a plugin starts and by the runtime's import
// hook (_import_hook.ts), so it must be sound: an import it misses is one nobody checks.
//
// The one place where a JS lexer needs the parser is a `/`: division or the start of a regex literal. A wrong
// guess either way can swallow code (a regex read as code meets a quote and skips the next import; code read as
// a regex hides it). Where the previous token does not settle it (`)`, `}`, `++`, `!`, `yield`, `of`, …) the
// scanner follows BOTH readings and reports the union, visiting each (position, reading, template depth) once.
// `<!--` (a comment in CommonJS scripts, an operator in modules) is read both ways too.

/** One import site found in a module's text. */
export interface ImportSite {
  /** The specifier as the code gives it, escapes decoded; undefined for a computed one. */
  readonly specifier?: string;
  /** Where the `import`/`export`/`require` keyword is, as an offset into the text. */
  readonly at: number;
  /** `static` (import/export declarations), `dynamic` (`import()`), `require`. */
  readonly kind: "static" | "dynamic" | "require";
}

/** A line and column (both 1-based) of an offset in `text`. */
export function lineCol(text: string, at: number): { line: number; col: number } {
  let line = 1, start = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: at - start + 1 };
}

const REGEX_AFTER = new Set([
  "return",
  "typeof",
  "instanceof",
  "in",
  "new",
  "delete",
  "void",
  "throw",
  "case",
  "do",
  "else",
  "extends",
]);
// Reserved in modules but names in CommonJS scripts (or, for `of`, anywhere).
const EITHER_AFTER = new Set(["yield", "await", "let", "of", "static", "async"]);

const isIdStart = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 36 || c === 95 || c === 92 || c > 127;
const isIdPart = (c: number): boolean => isIdStart(c) || (c >= 48 && c <= 57);
const isLineEnd = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;

type Re = 0 | 1 | 2; // division | regex | either
interface State {
  readonly pos: number;
  readonly re: Re;
  readonly afterDot: boolean;
  readonly templates: readonly number[]; // open `${` depths, innermost last
}

/** Skips blanks and comments from `i`; returns the next significant offset. */
function skip(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || isLineEnd(c) || c === 11 || c === 12 || c === 0xa0 || c === 0xfeff) i++;
    else if (c === 47 && text.charCodeAt(i + 1) === 47) i = lineEnd(text, i);
    else if (c === 47 && text.charCodeAt(i + 1) === 42) {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
    } else if (c === 35 && i === 0 && text.charCodeAt(1) === 33) i = lineEnd(text, i); // hashbang
    else if (c > 127 && /\s/.test(text[i])) i++;
    else return i;
  }
}

function lineEnd(text: string, i: number): number {
  while (i < text.length && !isLineEnd(text.charCodeAt(i))) i++;
  return i;
}

/** Where a literal ends, as `stop` tells it of the character `c` at `at`; undefined: read on. */
type Stop = (c: number, at: number) => { end: number; open: boolean } | undefined;

/** Reads cooked characters (escapes resolved) from `i` until `stop` ends the literal, or the text ends. */
function readCooked(text: string, i: number, stop: Stop): { value: string; end: number; open: boolean } {
  let value = "";
  while (i < text.length) {
    const c = text.charCodeAt(i);
    const end = stop(c, i);
    if (end) return { value, ...end };
    if (c === 92) {
      const e = readEscape(text, i);
      value += e.value;
      i = e.end;
    } else {
      value += text[i];
      i++;
    }
  }
  return { value, end: i, open: false };
}

/** Reads a quoted string from `i` (at the quote); returns its cooked value and end. Ends at a line break. */
function readString(text: string, i: number): { value: string; end: number } {
  const q = text.charCodeAt(i);
  const { value, end } = readCooked(text, i + 1, (c, at) =>
    c === q
      ? { end: at + 1, open: false }
      // unterminated: a syntax error, read no further
      : c === 10 || c === 13
      ? { end: at, open: false }
      : undefined);
  return { value, end };
}

const SIMPLE: Record<string, string> = { n: "\n", t: "\t", r: "\r", b: "\b", f: "\f", v: "\v" };

/** Decodes the escape at `i` (a backslash) as a string literal does. */
function readEscape(text: string, i: number): { value: string; end: number } {
  const c = text[i + 1];
  if (c === undefined) return { value: "", end: i + 1 };
  if (c === "\r") return { value: "", end: text[i + 2] === "\n" ? i + 3 : i + 2 };
  if (c === "\n" || c === "\u2028" || c === "\u2029") return { value: "", end: i + 2 };
  if (c === "x") {
    const hex = text.slice(i + 2, i + 4);
    return /^[0-9a-fA-F]{2}$/.test(hex)
      ? { value: String.fromCharCode(parseInt(hex, 16)), end: i + 4 }
      : { value: "x", end: i + 2 };
  }
  if (c === "u") {
    if (text[i + 2] === "{") {
      const close = text.indexOf("}", i + 3);
      const hex = close === -1 ? "" : text.slice(i + 3, close);
      const n = /^[0-9a-fA-F]{1,6}$/.test(hex) ? parseInt(hex, 16) : NaN;
      return n <= 0x10ffff ? { value: String.fromCodePoint(n), end: close + 1 } : { value: "u", end: i + 2 };
    }
    const hex = text.slice(i + 2, i + 6);
    return /^[0-9a-fA-F]{4}$/.test(hex)
      ? { value: String.fromCharCode(parseInt(hex, 16)), end: i + 6 }
      : { value: "u", end: i + 2 };
  }
  const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
  if (octal) {
    let digits = octal[0];
    if (parseInt(digits, 8) > 255) digits = digits.slice(0, 2);
    return { value: String.fromCharCode(parseInt(digits, 8)), end: i + 1 + digits.length };
  }
  return { value: SIMPLE[c] ?? c, end: i + 2 };
}

/** Skips a quoted string from `i` (at the quote), as readString reads it, without building its value. */
function skipString(text: string, i: number): number {
  const q = text.charCodeAt(i);
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === q) return i + 1;
    if (c === 10 || c === 13) return i;
    if (c === 92) i = readEscape(text, i).end - 1;
  }
  return i;
}

/** Skips template characters from `i` to `` ` `` or `${`, as readTemplate reads them. */
function skipTemplate(text: string, i: number): { end: number; open: boolean } {
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 96) return { end: i + 1, open: false };
    if (c === 36 && text.charCodeAt(i + 1) === 123) return { end: i + 2, open: true };
    if (c === 92) i = readEscape(text, i).end - 1;
  }
  return { end: i, open: false };
}

/** Reads template characters from `i` (after a backtick or a closing `}`) to `` ` `` or `${`. */
function readTemplate(text: string, i: number): { value: string; end: number; open: boolean } {
  return readCooked(
    text,
    i,
    (c, at) =>
      c === 96
        ? { end: at + 1, open: false }
        : c === 36 && text.charCodeAt(at + 1) === 123
        ? { end: at + 2, open: true }
        : undefined,
  );
}

/** Reads a regex literal from `i` (at the slash); returns its end (after the flags). */
function readRegex(text: string, i: number): number {
  let inClass = false;
  for (i++; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isLineEnd(c)) return i;
    if (c === 92) i++;
    else if (c === 91) inClass = true;
    else if (c === 93) inClass = false;
    else if (c === 47 && !inClass) break;
  }
  i++;
  while (i < text.length && isIdPart(text.charCodeAt(i))) i++;
  return i;
}

function readWord(text: string, i: number): { word: string; end: number } {
  let end = i;
  while (end < text.length && isIdPart(text.charCodeAt(end))) end += text.charCodeAt(end) === 92 ? 6 : 1;
  const raw = text.slice(i, end);
  // `\u0069mport` is the keyword `import` too.
  const word = raw.includes("\\")
    ? raw.replace(/\\u\{?([0-9a-fA-F]+)\}?/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    : raw;
  return { word, end };
}

/** A token of the look-ahead after a keyword (no regex can occur where the look-ahead looks). */
type Tok = { k: "id"; v: string; end: number } | { k: "str"; v: string; end: number } | {
  k: "tpl";
  v: string;
  end: number;
  open: boolean;
} | { k: "p"; v: string; end: number };

function token(text: string, i: number): Tok {
  i = skip(text, i);
  const c = text.charCodeAt(i);
  if (c === 34 || c === 39) {
    const s = readString(text, i);
    return { k: "str", v: s.value, end: s.end };
  }
  if (c === 96) {
    const t = readTemplate(text, i + 1);
    return { k: "tpl", v: t.value, end: t.end, open: t.open };
  }
  if (isIdStart(c)) {
    const w = readWord(text, i);
    return { k: "id", v: w.word, end: w.end };
  }
  if (c === 63 && text[i + 1] === ".") return { k: "p", v: "?.", end: i + 2 };
  return { k: "p", v: Number.isNaN(c) ? "" : text[i], end: i + 1 };
}

/** What follows `import`/`export`/`require` at `end`; adds the site it makes, if any. */
function lookAhead(
  text: string,
  word: string,
  at: number,
  end: number,
  sites: Map<number, ImportSite>,
): void {
  let t = token(text, end);
  if (word === "require") {
    if (t.v === ".") return; // require.resolve and friends load nothing
    if (t.v !== "(") return void sites.set(at, { at, kind: "require" }); // aliased: `const r = require`
    const arg = token(text, t.end);
    const after = arg.k === "str" || (arg.k === "tpl" && !arg.open) ? token(text, arg.end) : undefined;
    const literal = after && (after.v === ")" || after.v === ",");
    return void sites.set(at, { at, kind: "require", ...(literal ? { specifier: arg.v } : {}) });
  }
  if (word === "import") {
    if (t.v === ".") return; // import.meta
    if (t.v === "(") {
      const arg = token(text, t.end);
      const after = arg.k === "str" || (arg.k === "tpl" && !arg.open) ? token(text, arg.end) : undefined;
      const literal = after && (after.v === ")" || after.v === ",");
      return void sites.set(at, { at, kind: "dynamic", ...(literal ? { specifier: arg.v } : {}) });
    }
    if (t.k === "str") return void sites.set(at, { at, kind: "static", specifier: t.v });
  } else if (t.v !== "*" && t.v !== "{" && t.v !== "type") return; // `export const …` imports nothing
  // The clause before `from`: names, braces, commas, `*`, `as`, `type`, `defer`, `source`.
  for (let n = 0; n < 100_000 && (t.k === "id" || "{},*".includes(t.v)) && t.v !== ""; n++) {
    const next = token(text, t.end);
    if (t.k === "id" && t.v === "from" && next.k === "str") {
      return void sites.set(at, { at, kind: "static", specifier: next.v });
    }
    t = next;
  }
}

/** Every import site of `text` (a module's source), in the order of the text. */
export function scanImports(text: string): ImportSite[] {
  const sites = new Map<number, ImportSite>();
  const seen = new Set<string>();
  const work: State[] = [{ pos: 0, re: 1, afterDot: false, templates: [] }];
  const push = (s: State): void => {
    const key = `${s.pos}:${s.re}:${s.afterDot ? 1 : 0}:${s.templates.join(",")}`;
    if (!seen.has(key)) (seen.add(key), work.push(s));
  };
  while (work.length > 0) run(text, work.pop()!, push, sites);
  return [...sites.values()].sort((a, b) => a.at - b.at);
}

/** Lexes from `s` until the end, or until the reading forks (then both forks are pushed). */
function run(text: string, s: State, push: (s: State) => void, sites: Map<number, ImportSite>): void {
  let { pos: i, re, afterDot } = s;
  let templates = s.templates;
  const n = text.length;
  for (;;) {
    i = skip(text, i);
    if (i >= n) return;
    const c = text.charCodeAt(i);
    const dot = afterDot;
    afterDot = false;
    if (c === 47) { // a lone slash (comments were skipped)
      if (re === 2) {
        push({ pos: i, re: 0, afterDot: false, templates });
        push({ pos: i, re: 1, afterDot: false, templates });
        return;
      }
      if (re === 1) (i = readRegex(text, i), re = 0);
      else {
        i += text.charCodeAt(i + 1) === 61 ? 2 : 1; // `/` or `/=`
        re = 1;
      }
      continue;
    }
    if (c === 34 || c === 39) (i = skipString(text, i), re = 0);
    else if (c === 96) {
      const t = skipTemplate(text, i + 1);
      i = t.end;
      if (t.open) (templates = [...templates, 0], re = 1);
      else re = 0;
    } else if (isIdStart(c)) {
      const w = readWord(text, i);
      if (!dot && (w.word === "import" || w.word === "export" || w.word === "require")) {
        lookAhead(text, w.word, i, w.end, sites);
      }
      i = w.end;
      re = dot ? 0 : REGEX_AFTER.has(w.word) ? 1 : EITHER_AFTER.has(w.word) ? 2 : 0;
    } else if (c >= 48 && c <= 57) {
      while (i < n && (isIdPart(text.charCodeAt(i)) || text[i] === ".")) i++;
      re = 0;
    } else if (c === 46 && text.charCodeAt(i + 1) >= 48 && text.charCodeAt(i + 1) <= 57) {
      i++;
      while (i < n && isIdPart(text.charCodeAt(i))) i++;
      re = 0;
    } else if (c === 123) {
      if (templates.length) templates = [...templates.slice(0, -1), templates[templates.length - 1] + 1];
      (i++, re = 1);
    } else if (c === 125) {
      const top = templates.length ? templates[templates.length - 1] : -1;
      if (top === 0) {
        templates = templates.slice(0, -1);
        const t = skipTemplate(text, i + 1);
        i = t.end;
        if (t.open) (templates = [...templates, 0], re = 1);
        else re = 0;
      } else {
        if (top > 0) templates = [...templates.slice(0, -1), top - 1];
        (i++, re = 2); // end of a block (regex may follow) or of an object literal (division)
      }
    } else if (c === 41) (i++, re = 2); // `if (x) /re/` or `(a) / b`
    else if (c === 93) (i++, re = 0);
    else if (c === 46) {
      const spread = text.startsWith("...", i);
      i += spread ? 3 : 1;
      afterDot = !spread; // a property name follows
      re = spread ? 1 : 0;
    } else if (
      c === 63 && text[i + 1] === "." && !(text.charCodeAt(i + 2) >= 48 && text.charCodeAt(i + 2) <= 57)
    ) {
      (i += 2, afterDot = true, re = 0);
    } else if ((c === 43 || c === 45) && text.charCodeAt(i + 1) === c) {
      if (c === 45 && text[i + 2] === ">") push({ pos: lineEnd(text, i), re: 1, afterDot: false, templates });
      (i += 2, re = 2); // `a++ / b` or `++/re/.lastIndex`
    } else if (c === 60 && text.startsWith("<!--", i)) {
      push({ pos: lineEnd(text, i), re: 1, afterDot: false, templates }); // a comment in scripts
      (i++, re = 1);
    } else if (c === 33 && text[i + 1] !== "=") (i++, re = 2); // TypeScript's `x! / y`
    else (i++, re = 1);
  }
}
