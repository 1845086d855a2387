import path from 'node:path'

import {errnoCode} from '../errors.js'
import {writeDurably} from './atomic-write.js'
import {getXattr, setXattr} from '../kernel/xattrs.js'

/**
 * A copy of metadata.json's text on the volume directory itself, set on the scratch directory a create
 * builds before it is renamed into place. An xattr is inode metadata: journaled, in order with the
 * rename, so it survives a power cut wherever the volume does, while the file's data blocks may not
 * have been written yet (ext4's and xfs's delayed allocation: an empty or zero-filled file). Why that
 * is enough: docs/rules.md, rule 7. Volumes of the Go original or an older build have none.
 */
export const METADATA_XATTR = 'trusted.docker-on-top.metadata'

/** Where a repair writes the new metadata.json before renaming it over the old (one name: a crash leaves one). */
export const METADATA_TEMP = '.metadata.json.tmp'

/** Sets the copy on `dir`; whether it worked (trusted.* needs CAP_SYS_ADMIN, some file systems keep no xattrs). */
export function storeMetadataCopy(dir: string, text: string, onError: (message: string) => void): boolean {
  try {
    setXattr(dir, METADATA_XATTR, Buffer.from(text, 'utf8'))
    return true
  } catch (err) {
    onError(`${dir}: cannot keep a copy of the metadata in ${METADATA_XATTR} (${errnoCode(err) ?? (err as Error).message})`)
    return false
  }
}

/** The copy on volume directory `dir` (never followed if a symlink), if it has one. */
export function readMetadataCopy(dir: string): string | undefined {
  try {
    return getXattr(dir, METADATA_XATTR, 1024)?.toString('utf8')
  } catch {
    return undefined // unreadable: as if absent, the file's own error stands
  }
}

/**
 * What a power cut leaves of a new file whose data never reached the disk: nothing, or its length in
 * NUL bytes. Other unparsable text (torn JSON, a bad hand edit) is not that, and is never replaced.
 */
export function lostToPowerCut(text: string): boolean {
  return /^[\0\s]*$/.test(text)
}

/** Replaces metadata.json with `text`, durably (writeDurably, through METADATA_TEMP). */
export function rewriteMetadataFile(file: string, text: string, crash: () => void = () => {}): void {
  writeDurably(file, text, {temp: path.join(path.dirname(file), METADATA_TEMP), mode: 0o644, beforeRename: crash})
}
