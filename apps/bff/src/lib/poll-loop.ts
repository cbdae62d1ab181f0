/** A task run again and again until stopped: one run at a time, the interval counted from a run's end. */
export class PollLoop {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private current: Promise<void> = Promise.resolve();

  /** A run that fails is dropped: the task reports its own failures. */
  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop();
  }

  /** Stops; resolves once a run in progress has finished. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.current;
  }

  private loop(): void {
    if (!this.running) return;
    this.current = this.run().then(
      () => undefined,
      () => undefined,
    );
    void this.current.then(() => {
      if (!this.running) return;
      this.timer = setTimeout(() => this.loop(), this.intervalMs);
      this.timer.unref();
    });
  }
}
