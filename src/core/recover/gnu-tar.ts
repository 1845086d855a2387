/**
 * GNU tar does the copying for `dot recover`, both for `--tar` and (piped into a second tar) for `--to`.
 * Why tar and not a tar library or cp -a: it already preserves everything a volume can hold (types,
 * modes, numeric owners, nanosecond mtimes, symlinks, hard links, xattrs including file capabilities,
 * ACLs) and finds the holes of sparse files with SEEK_HOLE, so a 1 GiB sparse file stays a few blocks.
 * It reads an explicit list of paths without recursing (`--no-recursion -T`), which `--changes-only`
 * needs and `cp -a` has no way to express; one tool for every output means `--to` and `--tar` give
 * the same tree by construction. The pax format has no limits on path length, size or ids.
 */
const COMMON = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls']

/** Archives `dir` (or only the `./`-relative paths of a NUL-separated list file) to stdout. */
export function tarCreateArgs(dir: string, listFile?: string): string[] {
  const what = listFile ? ['--no-recursion', '--null', '--verbatim-files-from', `--files-from=${listFile}`] : ['.']
  return [
    '--create',
    '--file=-',
    `--directory=${dir}`,
    '--format=posix',
    // atime and ctime in pax headers would make two archives of the same tree differ.
    '--pax-option=delete=atime,delete=ctime',
    '--sparse',
    ...COMMON,
    ...what,
  ]
}

/** Extracts stdin into `dir` as root would want it: owners and modes as archived, nothing masked. */
export function tarExtractArgs(dir: string): string[] {
  return ['--extract', '--file=-', `--directory=${dir}`, '--same-owner', '--same-permissions', ...COMMON]
}

/** GNU tar's exit status 1 on create means "some files changed while being read": a warning. */
export const TAR_EXIT_DIFFERS = 1
