/**
 * Injected crash points for the crash-safety tests: with `DOT_CRASH_AT=<point>` in its environment the
 * process kills itself with SIGKILL when it reaches that point, leaving the disk exactly as a real crash
 * (or power cut, for what was not fsynced) would. Points are named `<operation>:<step>`, e.g.
 * `mount:after-mount`; `CRASH_POINTS` lists them all.
 */
export const CRASH_POINTS = [
  'create:after-tmp',
  'create:before-rename',
  'create:after-rename',
  'remove:after-unmount',
  'remove:after-rename',
  'mount:after-wipe',
  'mount:before-mount',
  'mount:after-mount',
  'mount:after-record',
  'unmount:after-record',
  'unmount:after-unmount',
] as const
export type CrashPoint = (typeof CRASH_POINTS)[number]

export type CrashHook = (point: CrashPoint) => void

export function crashHookFromEnv(env = process.env): CrashHook {
  const target = env.DOT_CRASH_AT
  if (!target) return () => {}
  return (point) => {
    if (point === target) process.kill(process.pid, 'SIGKILL')
  }
}
