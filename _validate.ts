// Argument checks shared by Pool and Proxy. Each throws the built-in
// TypeError or RangeError with a message naming the argument and its value.

/** Renders a value for an error message. */
export function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "function") {
    return `function ${value.name || "(anonymous)"}`;
  }
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** Whether a value is a thenable (a promise, or anything with `then`). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function";
}

/** An error's message for a log line or another error's message. */
export function message(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return show(err);
}

/** A duration for a message: milliseconds, to the microsecond. */
export function ms(value: number): string {
  return `${Math.round(value * 1000) / 1000} ms`;
}

function fail(
  what: string,
  name: string,
  expected: string,
  value: unknown,
  range: boolean,
): never {
  const message = `${what} as '${name}' must be ${expected}: current value is ${
    show(value)
  }`;
  throw range ? new RangeError(message) : new TypeError(message);
}

/** A non-negative integer (sizes, counts). */
export function checkCount(what: string, name: string, value: unknown): void {
  if (typeof value !== "number") {
    fail(what, name, "a non-negative integer", value, false);
  }
  if (!Number.isInteger(value) || value < 0) {
    fail(what, name, "a non-negative integer", value, true);
  }
}

/** A positive integer (healthFreq, maxCreating). */
export function checkPositiveCount(
  what: string,
  name: string,
  value: unknown,
): void {
  if (typeof value !== "number") {
    fail(what, name, "a positive integer", value, false);
  }
  if (!Number.isInteger(value) || value < 1) {
    fail(what, name, "a positive integer", value, true);
  }
}

/** A finite, non-negative number of milliseconds; 0 usually means "off". */
export function checkDelay(what: string, name: string, value: unknown): void {
  if (typeof value !== "number") {
    fail(
      what,
      name,
      "a finite non-negative number of milliseconds",
      value,
      false,
    );
  }
  if (!Number.isFinite(value) || value < 0) {
    fail(
      what,
      name,
      "a finite non-negative number of milliseconds",
      value,
      true,
    );
  }
}

/** A wait limit in milliseconds: non-negative, `Infinity` for none. */
export function checkTimeout(what: string, name: string, value: unknown): void {
  if (typeof value !== "number") {
    fail(what, name, "a non-negative number of milliseconds", value, false);
  }
  if (Number.isNaN(value) || value < 0) {
    fail(what, name, "a non-negative number of milliseconds", value, true);
  }
}

/** A ratio in [0, 1). */
export function checkRatio(what: string, name: string, value: unknown): void {
  if (typeof value !== "number") {
    fail(what, name, "a number from 0 up to (excluding) 1", value, false);
  }
  if (!(value >= 0 && value < 1)) {
    fail(what, name, "a number from 0 up to (excluding) 1", value, true);
  }
}

/** A function (a hook). */
export function checkFunction(
  what: string,
  name: string,
  value: unknown,
): void {
  if (typeof value !== "function") fail(what, name, "a function", value, false);
}

/** A boolean flag. */
export function checkBoolean(what: string, name: string, value: unknown): void {
  if (typeof value !== "boolean") fail(what, name, "a boolean", value, false);
}

/** One of a fixed set of strings. */
export function checkOneOf(
  what: string,
  name: string,
  value: unknown,
  allowed: readonly string[],
): void {
  if (typeof value !== "string" || !allowed.includes(value)) {
    fail(
      what,
      name,
      `one of ${allowed.map((a) => `"${a}"`).join(", ")}`,
      value,
      typeof value === "string",
    );
  }
}

/** An AbortSignal (or anything shaped like one). */
export function checkSignal(what: string, name: string, value: unknown): void {
  if (
    typeof value !== "object" || value === null ||
    typeof (value as AbortSignal).aborted !== "boolean" ||
    typeof (value as AbortSignal).addEventListener !== "function"
  ) {
    fail(what, name, "an AbortSignal", value, false);
  }
}

/**
 * The known key a misspelt `key` most likely meant: equal but for case and
 * underscores, else within two edits (Damerau-Levenshtein: an insertion, a
 * deletion, a change or a swap of two neighbours each count one), and at
 * most a third of the key's length; `undefined` when none is that close.
 */
export function nearKey(
  key: string,
  known: Iterable<string>,
): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/_/g, "");
  const k = norm(key);
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(k.length / 3));
  for (const candidate of known) {
    const d = editDistance(k, norm(candidate), bestDistance);
    if (d === 0) return candidate;
    if (d <= bestDistance && (best === undefined || d < bestDistance)) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Damerau-Levenshtein distance (optimal string alignment), capped at max+1. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev2: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, prev2[j - 2] + 1);
      }
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[b.length];
}

/** Rejects keys that are not in `known`, suggesting a near match. */
export function checkKnownKeys(
  what: string,
  options: object,
  known: ReadonlySet<string>,
): void {
  for (const key of Object.keys(options)) {
    if (known.has(key)) continue;
    const near = nearKey(key, known);
    throw new TypeError(
      `${what} as '${key}' is not a known option${
        near !== undefined
          ? `: did you mean '${near}'?`
          : `; the known options are ${[...known].join(", ")}`
      }`,
    );
  }
}

/**
 * Checks that `options` is an object, with only `known` keys when given (a
 * misspelt option would silently do nothing).
 */
export function checkOptionsObject(
  what: string,
  options: unknown,
  known?: ReadonlySet<string>,
): asserts options is object {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(
      `${what} as 'options' must be an object: current value is ${
        show(options)
      }`,
    );
  }
  if (known !== undefined) checkKnownKeys(what, options, known);
}
