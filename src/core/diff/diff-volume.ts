import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {assertNothingPlanted} from '../disk/planted.js'
import {DotError} from '../errors.js'
import {historyOf, withSingleUpper} from '../snapshot/history.js'
import {checkBase} from '../volume/base-check.js'
import type {StoreContext} from '../volume/context.js'
import {ensureChangesFs} from '../volume/limit.js'
import {type Changes, computeChanges} from './changes.js'
import {type DiffStat, diffStat} from './diff-stat.js'

/**
 * What a volume changes in its base (see `computeChanges`): its whole history (every snapshot layer and
 * the upper layer), or with `since` what changed after that snapshot. A volume without snapshots is
 * read from its upper layer and its base only, with no lock and no mount, so it works on mounted
 * volumes too (then it is a snapshot of a moving target); snapshot layers are squashed into a
 * hard-linked copy first, and the layers under `since` mounted read-only (history.ts). Needs root:
 * overlayfs keeps opaque and redirect marks in `trusted.*` xattrs, which other users cannot see
 * (lgetxattr answers ENODATA, which would silently turn into a wrong diff). With `stat`, the counts
 * and bytes of diff-stat.ts too.
 */
export async function diffVolume(ctx: StoreContext, name: string, options: {since?: string; stat?: boolean} = {}): Promise<Changes & {stat?: DiffStat}> {
  validateName(name)
  assertNothingPlanted(ctx.layout, name)
  const meta = readMetadata(ctx.layout.metadata(name), name)
  if (process.geteuid?.() !== 0) {
    throw new DotError('unsupported', 'dot diff must run as root: overlayfs keeps its opaque-directory marks in trusted.* xattrs, which only root can read')
  }
  await checkBase(meta.base, ctx.layout.root, name)
  await ctx.locks.withLock(name, () => ensureChangesFs(ctx, name, meta)) // a tmpfs volume not in use: no changes
  const {OverlayXattrs} = await import('../kernel/overlay-xattrs.js')
  const history = historyOf(ctx.layout, name, options.since)
  return withSingleUpper(ctx, name, {history, base: meta.base}, async ({upper, base}) => {
    const changes = await computeChanges(upper, base, new OverlayXattrs())
    return options.stat ? {...changes, stat: await diffStat(changes, upper, base)} : changes
  })
}
