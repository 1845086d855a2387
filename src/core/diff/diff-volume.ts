import {readMetadata} from '../disk/metadata.js'
import {validateName} from '../disk/names.js'
import {assertNothingPlanted} from '../disk/planted.js'
import {DotError} from '../errors.js'
import {checkBase} from '../volume/base-check.js'
import type {StoreContext} from '../volume/context.js'
import {type Changes, computeChanges} from './changes.js'

/**
 * What a volume changes in its base (see `computeChanges`). Reads the upper layer and the base only;
 * takes no lock and mounts nothing, so it works on mounted volumes too (then it is a snapshot of a
 * moving target). Needs root: overlayfs keeps opaque and redirect marks in `trusted.*` xattrs, which
 * other users cannot see (lgetxattr answers ENODATA, which would silently turn into a wrong diff).
 */
export async function diffVolume(ctx: StoreContext, name: string): Promise<Changes> {
  validateName(name)
  assertNothingPlanted(ctx.layout, name)
  const meta = readMetadata(ctx.layout.metadata(name), name)
  if (process.geteuid?.() !== 0) {
    throw new DotError('unsupported', 'dot diff must run as root: overlayfs keeps its opaque-directory marks in trusted.* xattrs, which only root can read')
  }
  await checkBase(meta.base, ctx.layout.root, name)
  const {OverlayXattrs} = await import('../kernel/overlay-xattrs.js')
  return computeChanges(ctx.layout.upper(name), meta.base, new OverlayXattrs())
}
