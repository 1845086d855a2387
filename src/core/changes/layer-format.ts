/**
 * The OCI image layer format (image-spec layer.md, "Representing Changes"): a tar whose regular entries
 * are added or changed paths, `.wh.<name>` an empty file recording the deletion of `<name>`, and
 * `.wh..wh..opq` in a directory recording that it hides everything its lower layers held there.
 */
export const WHITEOUT_PREFIX = '.wh.'
export const OPAQUE_MARKER = '.wh..wh..opq'
/** The end of a tar archive: two zero blocks (GNU tar writes exactly these with 512-byte records). */
export const TAR_END_BYTES = 1024

const XATTRS = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--xattrs-exclude=trusted.overlay.*']

/** GNU tar archiving exactly the `./`-relative paths of a NUL-separated list in `dir` (no recursion). */
export function layerCreateArgs(dir: string, listFile: string): string[] {
  return [
    '--create',
    '--file=-',
    '--blocking-factor=1',
    `--directory=${dir}`,
    '--format=posix',
    // atime and ctime in pax headers would make two layers of the same tree differ.
    '--pax-option=delete=atime,delete=ctime',
    '--sparse',
    ...XATTRS,
    '--no-recursion',
    '--null',
    '--verbatim-files-from',
    `--files-from=${listFile}`,
  ]
}

/**
 * GNU tar extracting a layer into an empty scratch directory as root wants it: owners, modes, xattrs
 * and times as archived, nothing masked. It never writes outside `dir`: it strips leading `/`, skips
 * members with `..`, and extracts symlinks pointing elsewhere as placeholders until the end, so no
 * later member can be written through one (the layer is also checked entry by entry as it streams).
 */
export function layerExtractArgs(dir: string): string[] {
  return ['--extract', '--file=-', `--directory=${dir}`, '--same-owner', '--same-permissions', ...XATTRS]
}
