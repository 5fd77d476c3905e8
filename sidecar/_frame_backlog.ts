/**
 * The frames a session has read but must not handle yet (back-pressure):
 * runs of length-prefixed frames copied out of the socket's buffers, kept as
 * bytes (a million small frames cost their bytes, not a million objects).
 *
 * @module
 */

/** Whole frames waiting to be handled, oldest first. */
export class FrameBacklog {
  #runs: Uint8Array[] = [];
  /** Read position in `#runs[0]`. */
  #pos = 0;
  #bytes = 0;

  /** True while a frame waits. */
  get waiting(): boolean {
    return this.#runs.length > 0;
  }

  /** Bytes held (the copies), counted against ampd's budget for frames not yet handled. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Keeps `frames[from..]`: consecutive in one buffer, each after its 4-byte
   * length, so the run is kept as one copy.
   */
  keep(frames: readonly Uint8Array[], from: number): void {
    const first = frames[from];
    const last = frames[frames.length - 1];
    const run = new Uint8Array(first.buffer, first.byteOffset - 4, last.byteOffset + last.length - first.byteOffset + 4).slice();
    this.#runs.push(run);
    this.#bytes += run.length;
  }

  /** Takes the oldest frame out; only while `waiting`. */
  take(): Uint8Array {
    const run = this.#runs[0];
    const pos = this.#pos;
    const size = ((run[pos] << 24) | (run[pos + 1] << 16) | (run[pos + 2] << 8) | run[pos + 3]) >>> 0;
    const end = pos + 4 + size;
    if (end >= run.length) {
      this.#runs.shift();
      this.#pos = 0;
      this.#bytes -= run.length;
    } else this.#pos = end;
    return run.subarray(pos + 4, end);
  }

  /** Drops every frame. */
  clear(): void {
    this.#runs = [];
    this.#pos = 0;
    this.#bytes = 0;
  }
}
