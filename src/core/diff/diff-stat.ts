import fs from 'node:fs/promises'
import path from 'node:path'

import type {Change, ChangeKind, Changes} from './changes.js'

export interface KindStat {
  entries: number
  /** Sum of the sizes of the regular files among the entries (st_size; for D, the base's file). */
  bytes: number
}

export interface RenameStat {
  from: string
  to: string
  /** Entries that moved with the directory (itself included), each otherwise listed as D and A. */
  entries: number
  bytes: number
}

export interface DiffStat {
  added: KindStat
  changed: KindStat
  deleted: KindStat
  renamed: RenameStat[]
}

const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`)

/**
 * `dot diff --stat`: counts and bytes by kind, with each directory renamed under redirect_dir counted
 * once as a rename instead of every entry it held as deleted at the old path and added at the new.
 * What the upper layer holds below the new path (a file written after the rename) stays a change of
 * its own; what the base held and the view shows elsewhere now is part of the rename.
 */
export async function diffStat(changes: Changes, upper: string, base: string): Promise<DiffStat> {
  const stat: DiffStat = {added: {entries: 0, bytes: 0}, changed: {entries: 0, bytes: 0}, deleted: {entries: 0, bytes: 0}, renamed: []}
  const moved = new Set<string>()
  for (const {from, to} of changes.renames) {
    const rename: RenameStat = {from, to, entries: 0, bytes: 0}
    const suffixes = new Set<string>()
    for (const change of changes.changes) {
      if (change.kind !== 'D' && under(change.path, to) && (change.path === to || !(await exists(path.join(upper, change.path))))) {
        moved.add(`${change.kind} ${change.path}`)
        suffixes.add(change.path.slice(to.length))
        rename.entries++
        rename.bytes += await fileBytes(path.join(base, from, change.path.slice(to.length)))
      }
    }
    // The old path of each entry that moved; an entry deleted from the renamed directory stays a D.
    for (const change of changes.changes) {
      if (change.kind === 'D' && under(change.path, from) && suffixes.has(change.path.slice(from.length))) moved.add(`D ${change.path}`)
    }
    stat.renamed.push(rename)
  }
  const byKind: Record<ChangeKind, KindStat> = {A: stat.added, C: stat.changed, D: stat.deleted}
  for (const change of changes.changes) {
    if (moved.has(`${change.kind} ${change.path}`)) continue
    byKind[change.kind].entries++
    byKind[change.kind].bytes += await fileBytes(path.join(change.kind === 'D' ? base : upper, change.path), change.kind !== 'D' ? lowerOf(change, changes, base) : undefined)
  }
  return stat
}

/** Where the base holds an entry the view shows from a renamed directory (when the upper has none). */
function lowerOf(change: Change, changes: Changes, base: string): string | undefined {
  const rename = changes.renames.find((r) => under(change.path, r.to))
  return rename ? path.join(base, rename.from, change.path.slice(rename.to.length)) : undefined
}

async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  )
}

/** A regular file's size; 0 for anything else or a path that is gone. `fallback` is tried second. */
async function fileBytes(p: string, fallback?: string): Promise<number> {
  for (const candidate of fallback ? [p, fallback] : [p]) {
    const st = await fs.lstat(candidate).catch(() => undefined)
    if (st) return st.isFile() ? st.size : 0
  }
  return 0
}
