/**
 * Dead letters for the live mirror. `GroupReader` (shared with the
 * in-process bus) writes a dead letter with its backend's `add()`, beside
 * the ops that `add_op.ts` hooks; ampd hands it a tapped backend whose
 * `add()` also reports what it stored, so the mirror shows dead letters as
 * they are written. Every other call goes to the backend unchanged.
 *
 * @module
 */
import type { AddOptions, AddResult, NewEntry, StreamBackend } from "../sdk/backend/types.ts";

/** Called after a tapped `add()` stored an entry (not for duplicates). */
export type AddTap = (stream: string, entry: NewEntry, result: AddResult) => void;

/**
 * `backend`, with `onAdd` called after each `add()` that stored an entry.
 * A listener that throws is ignored: it never fails the add.
 *
 * @example
 * ```ts
 * const groups = new GroupReader(tapAdds(backend, (stream, entry) => console.log("dead letter in", stream)));
 * ```
 */
export function tapAdds(backend: StreamBackend, onAdd: AddTap): StreamBackend {
  const add = async (stream: string, entry: NewEntry, options?: AddOptions): Promise<AddResult> => {
    const r = await backend.add(stream, entry, options);
    if (!r.duplicate) {
      try {
        onAdd(stream, entry, r);
      } catch {
        // the mirror never fails a dead-letter move
      }
    }
    return r;
  };
  // Methods are bound to the backend once (its #private fields need it as `this`).
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(backend, {
    get(target, key) {
      if (key === "add") return add;
      const known = bound.get(key);
      if (known !== undefined) return known;
      const v = Reflect.get(target, key, target);
      if (typeof v !== "function") return v;
      const f = (v as (...a: unknown[]) => unknown).bind(target);
      bound.set(key, f);
      return f;
    },
  });
}
