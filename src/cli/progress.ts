/**
 * Progress for long commands: a single redrawn bar on a terminal, plain lines elsewhere (CI
 * logs, pipes), so nothing is lost in a log and nothing flickers in a terminal.
 */
export class Progress {
  private lastBar = '';

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    readonly tty = !!stream.isTTY && !process.env.CI,
  ) {}

  /** A line that stays (in both modes). */
  line(text: string): void {
    this.clear();
    this.stream.write(`${text}\n`);
    if (this.tty && this.lastBar) this.stream.write(this.lastBar);
  }

  /** The redrawn bar (terminal only). */
  bar(done: number, total: number, text: string): void {
    if (!this.tty) return;
    const width = 24;
    const filled = total > 0 ? Math.round((done / total) * width) : 0;
    this.lastBar = `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${text}`;
    this.stream.write(`\x1b[2K${this.lastBar}`);
  }

  clear(): void {
    if (this.tty && this.lastBar) this.stream.write('\x1b[2K\r');
  }

  done(): void {
    this.clear();
    this.lastBar = '';
  }
}
