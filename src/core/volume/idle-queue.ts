import {performance} from 'node:perf_hooks'

/** How long the store must have had no operation before deferred work starts. */
export const IDLE_MS = 100
/** With this many jobs waiting, or one waiting this long, they run even while operations keep coming. */
const MAX_WAITING = 500
const MAX_AGE_MS = 30_000

/**
 * Work that can wait (deleting a removed volume's trash) runs when the store is idle: it shares the
 * two CPUs and the thread pool with the requests dockerd is waiting on, and deleting a volume right
 * after its Remove answered slowed the next container's Create, Get and Mount. Jobs run one at a time,
 * each once the store has been quiet for IDLE_MS (`touch` marks an operation); a long backlog or an
 * old job runs anyway, so trash never piles up under constant load. `hurry` runs everything now.
 */
export class IdleQueue {
  private readonly jobs: {run: () => Promise<void>; since: number; done: () => void}[] = []
  private lastActive = 0
  private timer: NodeJS.Timeout | undefined
  private running = false
  /** Set by `hurry` until the queue is empty. */
  private idleBypass = false

  constructor(private readonly idleMs = IDLE_MS) {}

  /** An operation happened: deferred work waits for the next quiet moment. */
  touch(): void {
    this.lastActive = performance.now()
  }

  /** Queues `run`; resolves when it has run (its errors are its own to handle). */
  add(run: () => Promise<void>): Promise<void> {
    return new Promise((resolve) => {
      this.jobs.push({run, since: performance.now(), done: resolve})
      this.schedule()
    })
  }

  /** Runs every queued job now, without waiting for quiet (`settled`, `close`). */
  hurry(): void {
    this.idleBypass = true
    this.schedule(0)
  }

  private schedule(delay?: number): void {
    if (this.running || this.jobs.length === 0) return
    if (this.timer) {
      if (delay !== 0) return
      clearTimeout(this.timer)
    }
    const wait = delay ?? Math.max(0, this.lastActive + this.idleMs - performance.now())
    this.timer = setTimeout(() => void this.tick(), wait)
  }

  private async tick(): Promise<void> {
    this.timer = undefined
    const job = this.jobs[0]
    if (!job) return
    const now = performance.now()
    const due = this.idleBypass || now - this.lastActive >= this.idleMs || this.jobs.length >= MAX_WAITING || now - job.since >= MAX_AGE_MS
    if (!due) {
      this.schedule()
      return
    }
    this.jobs.shift()
    this.running = true
    try {
      await job.run()
    } finally {
      this.running = false
      job.done()
      if (this.jobs.length === 0) this.idleBypass = false
      this.schedule(this.idleBypass ? 0 : undefined)
    }
  }
}
