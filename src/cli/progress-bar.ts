import {formatBytes} from './human-size.js'

/**
 * A one-line progress bar on stderr for long copies, drawn only when stderr is a terminal (never into
 * a log or a pipe), redrawn at most 10 times a second and erased when done.
 */
export class ProgressBar {
  private lastDraw = 0
  private drawn = false

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  static enabled(stream: NodeJS.WriteStream = process.stderr): boolean {
    return stream.isTTY === true
  }

  update(done: number, total: number): void {
    const now = Date.now()
    if (now - this.lastDraw < 100) return
    this.lastDraw = now
    const width = Math.max(10, Math.min(40, (this.stream.columns || 80) - this.label.length - 30))
    const ratio = total > 0 ? Math.min(1, done / total) : 0
    const filled = Math.round(ratio * width)
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled)
    this.stream.write(`\r${this.label} [${bar}] ${Math.round(ratio * 100)}% ${formatBytes(done)}/${formatBytes(total)}\u001B[K`)
    this.drawn = true
  }

  finish(): void {
    if (this.drawn) this.stream.write('\r\u001B[K')
    this.drawn = false
  }
}
