/** A one-line progress bar on stderr (a plain line per run when stderr is not a terminal). */
export class Progress {
  private done = 0;
  private readonly started = Date.now();
  private readonly tty = process.stderr.isTTY === true;

  constructor(
    private readonly total: number,
    private readonly write: (s: string) => void = (s) => process.stderr.write(s),
  ) {}

  private bar(): string {
    const width = 20;
    const filled = Math.round((this.done / Math.max(1, this.total)) * width);
    const elapsed = (Date.now() - this.started) / 1000;
    const eta = this.done > 0 ? (elapsed / this.done) * (this.total - this.done) : 0;
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${this.done}/${this.total} ${Math.round(elapsed)}s elapsed${this.done > 0 ? `, ~${Math.round(eta)}s left` : ""}`;
  }

  start(label: string): void {
    if (this.tty) this.write(`\r\x1b[K${this.bar()} ${label} ...`);
  }

  finish(label: string, outcome: string): void {
    this.done++;
    if (this.tty) this.write(`\r\x1b[K${this.bar()} ${label}: ${outcome}\n`);
    else this.write(`${this.bar()} ${label}: ${outcome}\n`);
  }
}
