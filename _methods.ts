// What a proxy gives for a function read from its object: bound to the
// object (so that `#private` fields, built-ins such as `Map`, and detached
// calls work), a class as it is, or a function with properties of its own
// wrapped so that calls get the object as `this`. Decided once per function
// (every context's object shares its class's methods), and cached per slot
// while the object holds the same function.

import type { Slot } from "./_slots.ts";

/** Bound the cache so that a dictionary-like object read with ever new keys
 * cannot grow it without limit. */
const CACHE_LIMIT = 256;

/**
 * What the proxy gives for a function read from the wrapped object, once
 * per function: a method bound to the object, so that `#private` fields
 * and built-ins such as `Map` work and a detached call still has its
 * object; a class as it is (it cannot be called, so `this` is moot, and it
 * keeps its identity and statics); a function that carries properties of
 * its own (a logger with levels, a test stub) wrapped so that calls get
 * the object as `this` while its properties stay visible.
 */
export function method<T>(
  slot: Slot<T>,
  prop: PropertyKey,
  fn: unknown,
): unknown {
  const hit = slot.cache.get(prop);
  let given: unknown;
  if (hit !== undefined && hit.fn === fn) given = hit.given;
  else {
    given = forCalls(fn as (...args: unknown[]) => unknown, slot.obj);
    if (hit !== undefined) {
      hit.fn = fn;
      hit.given = given;
    } else if (slot.cache.size < CACHE_LIMIT) {
      slot.cache.set(prop, { fn, given });
    }
  }
  slot.lastKey = prop;
  slot.lastFn = fn;
  slot.lastGiven = given;
  return given;
}

/**
 * What the proxy gives for `value`, just read (once) from the slot's
 * object as `prop`: a function as `method` gives it, anything else as it
 * is.
 */
export function given<T>(
  slot: Slot<T>,
  prop: PropertyKey,
  value: unknown,
): unknown {
  if (typeof value === "function") {
    // the function called last: no lookup
    if (value === slot.lastFn) return slot.lastGiven;
    return method(slot, prop, value);
  }
  if (value === undefined && prop === "toJSON") {
    // JSON.stringify(proxy) serialises the object itself (an array stays
    // an array), not the proxy's empty target
    const obj = slot.obj;
    return slot.toJSON ??= () => obj;
  }
  return value;
}

const BIND = 0;
const AS_IS = 1;
const WRAP = 2;
/** How each function met so far is given (see `method`); per function, as
 * every context's object shares its class's methods. */
const kinds = new WeakMap<object, number>();

/** What the proxy gives for `fn`, read from `obj` (see `method`). */
function forCalls(fn: (...args: unknown[]) => unknown, obj: unknown): unknown {
  let kind = kinds.get(fn);
  if (kind === undefined) {
    kind = kindOf(fn);
    kinds.set(fn, kind);
  }
  if (kind === BIND) return fn.bind(obj);
  if (kind === AS_IS) return fn;
  return new globalThis.Proxy(fn, {
    apply: (target, _this, args) => Reflect.apply(target, obj, args),
  });
}

function kindOf(fn: (...args: unknown[]) => unknown): number {
  let source = "";
  try {
    source = Function.prototype.toString.call(fn);
  } catch {
    // not inspectable: treated as a function
  }
  if (source.startsWith("class")) return AS_IS;
  for (const key of Reflect.ownKeys(fn)) {
    if (key !== "length" && key !== "name" && key !== "prototype") return WRAP;
  }
  return BIND;
}
