/**
 * Asks V8 for a full collection when the process's memory outside the JavaScript heap (resident size less
 * the heap V8 has reserved) has grown by a set amount since the last one.
 *
 * Node's HTTP/2 keeps much of a session's and a stream's state outside the JavaScript heap (nghttp2's
 * structures, Node's C++ stream objects), released only when V8 collects the small JavaScript objects that
 * wrap it. V8 paces its collections by the heap it sees, so when streams and connections are opened and
 * dropped by the thousand each second (a flood of HEADERS, SETTINGS or connections), the native memory
 * behind dead streams piles up for seconds: hundreds of MB for a few seconds of such traffic, all of it
 * garbage. Collecting when that memory has grown by `headroomMiB` keeps the pile to about the headroom,
 * at the cost of one collection (milliseconds) per `headroomMiB` of growth. A heap that grows under load
 * is V8's to manage and does not count; memory that is really in use raises the mark after the
 * collection, so a process that grows for good is not collected again and again.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

let collect: (() => void) | null = null;

/** V8's collector, exposed without a command-line flag (the flag may also be given: it is used then). */
function collector(): () => void {
  if (collect) return collect;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return (collect = exposed);
  v8.setFlagsFromString('--expose-gc');
  collect = vm.runInNewContext('gc') as () => void;
  return collect;
}

/** Resident bytes not reserved for the JavaScript heap. */
function outsideHeap(): number {
  const m = process.memoryUsage();
  return m.rss - m.heapTotal;
}

export class MemoryGuard {
  private mark = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Collections asked for so far. */
  collections = 0;

  constructor(
    private readonly headroomMiB: number,
    private readonly everyMs = 250,
  ) {}

  start(): void {
    if (this.timer) return;
    const gc = collector();
    this.mark = outsideHeap();
    const headroom = this.headroomMiB * 1024 * 1024;
    this.timer = setInterval(() => {
      const outside = outsideHeap();
      if (outside < this.mark) this.mark = outside;
      else if (outside - this.mark > headroom) {
        gc();
        this.collections++;
        this.mark = outsideHeap();
      }
    }, this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
