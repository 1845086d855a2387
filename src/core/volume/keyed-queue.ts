/**
 * Runs tasks one at a time per key, in arrival order; different keys run in parallel. Used in front of
 * the cross-process lock so that simultaneous Mounts of one volume queue here instead of polling the
 * flock.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, task: () => T | Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const result = previous.then(task, task)
    const tail = result.catch(() => {})
    this.tails.set(key, tail)
    // Forget the key once its queue drains, so the map does not grow with every volume ever touched.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }

  get size(): number {
    return this.tails.size
  }
}
