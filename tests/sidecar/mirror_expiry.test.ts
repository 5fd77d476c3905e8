/**
 * The live mirror honours expiry like every other read: a message that
 * expires while queued for a slow watcher is not sent once the watcher
 * drains; the frames after it still are, in order.
 */
import { expect, test } from "bun:test";
import { encode } from "../../sdk/codec/codec.ts";
import type { AISPMessage } from "../../sdk/envelope/envelope.ts";
import { Mirror, type MirrorSocket } from "../../sidecar/web/mirror.ts";

/** A socket that buffers until `drain()`; while it holds anything, sends wait. */
class SlowSocket implements MirrorSocket {
  sent: string[] = [];
  buffered = 0;
  sendText(text: string): number {
    this.sent.push(text);
    this.buffered += text.length;
    return -1; // queued under back-pressure
  }
  getBufferedAmount(): number {
    return this.buffered;
  }
  drain(): void {
    this.buffered = 0;
  }
}

function msg(i: number, expiresAt?: number): AISPMessage {
  const m: AISPMessage = { v: 1, id: `m-${i}`, opId: `m-${i}`, type: "task", sender: "coder", receiver: "tester", timestamp: Date.now() };
  if (expiresAt !== undefined) m.expiresAt = expiresAt;
  return m;
}

test("a message that expires while queued for a slow watcher is not sent", async () => {
  const mirror = new Mirror({ highWater: 1 });
  const socket = new SlowSocket();
  const w = mirror.attach(socket);
  const soon = Date.now() + 300;
  for (const m of [msg(0), msg(1, soon), msg(2, Date.now() + 60_000), msg(3)]) mirror.publish({ stream: "tasks", entryId: `1-${m.id}`, msg: m, bytes: encode(m) });
  await new Promise((r) => setTimeout(r, 0));
  expect(socket.sent.map((t) => JSON.parse(t).message.id)).toEqual(["m-0"]); // the rest waits for the socket
  await new Promise((r) => setTimeout(r, soon - Date.now() + 50));
  for (let i = 0; i < 5 && w.queued > 0; i++) {
    socket.drain();
    w.flush();
  }
  expect(socket.sent.map((t) => JSON.parse(t).message.id)).toEqual(["m-0", "m-2", "m-3"]);
  expect(w.droppedTotal).toBe(0); // expired is not "dropped for being slow"
});
