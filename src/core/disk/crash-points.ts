/**
 * The crash protocol: every step of a change, what is on disk if the process dies right there (or
 * the power goes), and what start-up (`dot serve`, reconcile) and `dot gc` do about it. Both run the
 * same repairs (repair/reconcile.ts); `dot gc` also asks dockerd which volumes it still uses
 * (repair/gc.ts). A power cut also unmounts everything: start-up then drops every record.
 *
 * | operation | dies at (DOT_CRASH_AT)        | on disk                                                   | start-up and `dot gc`                            |
 * |-----------|-------------------------------|-----------------------------------------------------------|--------------------------------------------------|
 * | create    | create:after-tmp              | empty `.tmp-<name>-*`, its flock gone with the process    | deleted ("leftover of an interrupted create")    |
 * | create    | create:before-rename          | complete `.tmp-<name>-*` (upper/, activemounts/,          | deleted, as above                                |
 * |           |                               | metadata.json, the metadata's xattr copy)                 |                                                  |
 * | create    | create:after-image            | `.tmp-<name>-*` with limit/ and limit.img (size=)         | deleted, as above (the image was never mounted)  |
 * | create    | create:after-rename           | the volume, complete, its metadata also in an xattr of    | nothing. After a power cut the volume is gone    |
 * |           |                               | its directory (the copy). Not fsynced where the root      | (and nothing of its use) or there; its           |
 * |           |                               | keeps metadata in order (ext4 with a journal, xfs,        | metadata.json may read empty or zero-filled:     |
 * |           |                               | tmpfs; docs/rules.md rule 7); elsewhere, and for size=,   | with the copy it is read from the copy and       |
 * |           |                               | flushed after the answer, before the first mount          | rewritten (next row); without one (a volume not  |
 * |           |                               |                                                           | flushed yet, which never has changes) reported,  |
 * |           |                               |                                                           | never deleted                                    |
 * | repair    | repair:before-metadata-rename | metadata.json still empty; `.metadata.json.tmp` in the    | rewritten again ("metadata.json empty or         |
 * |           |                               | volume directory, written from the copy and fsynced       | zero-filled"), the temp replaced                 |
 * | remove    | (records dropped)             | volume without records, overlay maybe still mounted       | overlay unmounted (never detached)               |
 * | remove    | remove:after-unmount          | volume intact, no records, nothing mounted                | nothing; `dot rm` again finishes it              |
 * | remove    | remove:after-limit-unmount    | as above, its limit's image or tmpfs unmounted too        | nothing; `dot rm` again finishes it              |
 * | remove    | remove:after-rename           | `.trash-<name>-*`, whole or partly deleted                | deleted ("leftover of an interrupted delete")    |
 * | mount     | (stale records dropped)       | volume without records                                    | nothing                                          |
 * | mount     | limit:after-mount             | the image loop-mounted on limit/ (AUTOCLEAR device)       | nothing: an image stays mounted until `dot rm`   |
 * | mount     | mount:after-limit             | image or tmpfs mounted on limit/, no overlay, no record   | a tmpfs: unmounted ("tmpfs with no overlay");    |
 * |           |                               |                                                           | an image: nothing (it stays mounted)             |
 * | mount     | mount:after-wipe (volatile)   | old upper/ in `.trash-<name>-upper-*`, no upper/          | trash deleted; the next mount makes upper/       |
 * |           |                               | (size=: in `limit/.trash-*` on the image itself)          | (size=: deleted at the image's next mount)       |
 * | mount     | mount:before-mount            | upper/, workdir/, mountpoint/ made, nothing mounted       | nothing                                          |
 * | mount     | mount:after-mount             | overlay mounted, no record                                | overlay unmounted ("mounted with no records")    |
 * | mount     | mount:after-record            | overlay mounted and recorded: a use that outlives us      | nothing (after a reboot: records dropped)        |
 * | unmount   | unmount:after-record          | record gone, overlay still mounted                        | unmounted once no record is left                 |
 * | unmount   | unmount:before-tmpfs          | no record, no overlay, the tmpfs still mounted            | unmounted ("tmpfs with no overlay")              |
 * | unmount   | unmount:after-unmount         | no record, nothing mounted                                | nothing                                          |
 * | any       | mid record write              | `activemounts/.<id>.*` temp file                          | deleted when the volume is not mounted           |
 * | recover   | (copying)                     | `.recover-<name>-*` with view/ mounted read-only; the     | view detached, entry deleted; the volume itself  |
 * |           |                               | flock on it gone with the process                         | is never touched by a recover                    |
 * | import    | import:after-extract          | `.tmp-import-<name>-*` with the checked layer/, durable;  | deleted (`.tmp-*` sweep); import again           |
 * |           |                               | the volume untouched                                      |                                                  |
 * | import    | import:after-plan             | `.tmp-import-*` with layer/ and apply.json (fsynced)      | the apply finished under the volume's lock       |
 * | import    | import:entry-trashed          | layer/ part moved into upper/, the rest still in layer/;  | (interrupted-import.ts), then the scratch        |
 * |           |                               | what upper/ lost kept in trash/                           | deleted; import again changes nothing more       |
 * | import    | import:after-apply            | upper/ complete; `.tmp-import-*` left over                | deleted (`.tmp-*` sweep)                         |
 * | reset     | reset:after-backup            | backup layer complete; the volume untouched               | nothing; reset again completes it                |
 * | reset     | reset:after-exchange          | empty upper/; the old one inside `.tmp-reset-<name>-*`    | deleted (`.tmp-*` sweep): the reset is done      |
 * | commit    | commit:after-redirects        | commit.json; base has copies at renamed paths; upper/     | reported ("a commit ... was cut off"), left      |
 * |           |                               | over the base shows what it showed                        | alone: commit again completes it                 |
 * | commit    | commit:after-deletions        | as above, and what upper/ hides is gone from the base     | as above                                         |
 * | commit    | commit:after-copy             | as above, and every upper/ entry durable in the base      | as above                                         |
 * | commit    | commit:entry-removed          | as above, upper/ partly emptied (entries durable first)   | as above                                         |
 * | export    | (writing the layer)           | `.tmp-export-<name>-*` with a view mounted; the volume    | view detached, entry deleted                     |
 * |           |                               | never changed                                             |                                                  |
 * | snapshot  | snapshot:after-fresh-made     | empty `layers/.fresh-*`, index unchanged                  | deleted (not named by the index): no snapshot    |
 * | snapshot  | snapshot:after-index          | index names the new layer and `pending` (upper/ -> layer, | renames finished, `pending` cleared: the         |
 * |           |                               | fresh -> upper/); nothing renamed yet                     | snapshot exists, the view is unchanged           |
 * | snapshot  | snapshot:after-upper-moved    | upper/ is the layer; no upper/; fresh waiting             | fresh renamed to upper/, as above                |
 * | snapshot  | snapshot:after-fresh-in       | done but `pending` still in the index                     | `pending` cleared                                |
 * | rollback  | rollback:after-backup         | the backup file complete; volume as it was                | nothing (a `.fresh-*` is not made yet)           |
 * | rollback  | rollback:after-fresh-made     | `layers/.fresh-*` (the tag's top), index unchanged        | deleted: no rollback                             |
 * | rollback  | rollback:after-index          | index without the later layers, `pending` (upper/ ->      | renames finished, the dropped layers and upper   |
 * |           |                               | `.dropped-*`, fresh -> upper/)                            | deleted: rolled back                             |
 * | rollback  | rollback:after-upper-moved    | old upper in `layers/.dropped-*`; no upper/               | as above                                         |
 * | rollback  | rollback:after-fresh-in       | done but `pending` still in the index                     | `pending` cleared, dropped layers deleted        |
 * | snap. rm  | snapshot-rm:after-merge       | merged layer built under a name the index lacks           | deleted: the snapshot stays                      |
 * | snap. rm  | snapshot-rm:after-index       | index without the tag, naming the merged layer (into the  | the merged-away layers deleted; into the upper:  |
 * |           |                               | upper: with `pending`)                                    | renames finished first                           |
 * | snap. rm  | snapshot-rm:after-upper-moved | (into the upper) old upper in `.dropped-*`; no upper/     | merged layer renamed to upper/, the rest deleted |
 * | snap. rm  | snapshot-rm:after-fresh-in    | done but `pending` still in the index                     | `pending` cleared, merged-away layers deleted    |
 * | any       | (a device left attached)      | a loop device backed by an image below the root that no   | detached (losetup -d); none can stay from a kill |
 * |           |                               | mount uses (only without AUTOCLEAR: never made by dot)    | of dot, whose devices autoclear                  |
 * | import    | import:* into a size=         | as for the root's import, but in `limit/.tmp-import-*` on | finished (apply.json) or deleted, by `dot gc` or |
 * |           | volume                        | the image                                                 | at the image's next mount, before any use        |
 * | any       | (trash with a mount)          | `.trash-*`/`.tmp-*` with an image or tmpfs on limit/      | unmounted (lazily), then deleted                 |
 *
 * The snapshot rows: the index write (layers/index.json, fsynced, renamed into place) decides; what the
 * index does not name is garbage; `pending` is finished by whoever reads it next, a mount included
 * (snapshot/switch.ts). A first mount, reset and import finish a `pending` before they touch upper/.
 *
 * Every row is valid or detectably dirty: records mean use (mount, then record; unrecord, then
 * unmount), and whatever is half made or half deleted lives under a scratch name (disk/layout.ts).
 * test/integration/crash-points.test.ts (the store's points), changes-crash.test.ts (import, reset,
 * commit) and snapshots-crash.test.ts (snapshot, rollback, snapshot rm) kill a process at each point and
 * check the last column; unit/crash-table.test.ts that every point has a row here.
 */

/**
 * Injected crash points for the crash-safety tests: with `DOT_CRASH_AT=<point>` in its environment the
 * process kills itself with SIGKILL when it reaches that point, leaving the disk exactly as a real crash
 * (or power cut, for what was not fsynced) would. Points are named `<operation>:<step>`, e.g.
 * `mount:after-mount`; `CRASH_POINTS` lists them all.
 */
export const CRASH_POINTS = [
  'create:after-tmp',
  'create:after-image',
  'create:before-rename',
  'create:after-rename',
  'repair:before-metadata-rename',
  'remove:after-unmount',
  'remove:after-limit-unmount',
  'remove:after-rename',
  'limit:after-mount',
  'mount:after-limit',
  'mount:after-wipe',
  'mount:before-mount',
  'mount:after-mount',
  'mount:after-record',
  'unmount:after-record',
  'unmount:before-tmpfs',
  'unmount:after-unmount',
  'import:after-extract',
  'import:after-plan',
  'import:entry-trashed',
  'import:after-apply',
  'reset:after-backup',
  'reset:after-exchange',
  'commit:after-redirects',
  'commit:after-deletions',
  'commit:after-copy',
  'commit:entry-removed',
  'snapshot:after-fresh-made',
  'snapshot:after-index',
  'snapshot:after-upper-moved',
  'snapshot:after-fresh-in',
  'rollback:after-backup',
  'rollback:after-fresh-made',
  'rollback:after-index',
  'rollback:after-upper-moved',
  'rollback:after-fresh-in',
  'snapshot-rm:after-merge',
  'snapshot-rm:after-index',
  'snapshot-rm:after-upper-moved',
  'snapshot-rm:after-fresh-in',
] as const
export type CrashPoint = (typeof CRASH_POINTS)[number]

/** The points only a volume with a size limit or on tmpfs reaches (test/integration/size-limit-crash.test.ts). */
export const LIMIT_CRASH_POINTS: readonly CrashPoint[] = ['create:after-image', 'limit:after-mount', 'mount:after-limit', 'unmount:before-tmpfs', 'remove:after-limit-unmount']

export type CrashHook = (point: CrashPoint) => void

export function crashHookFromEnv(env = process.env): CrashHook {
  const target = env.DOT_CRASH_AT
  if (!target) return () => {}
  return (point) => {
    if (point === target) process.kill(process.pid, 'SIGKILL')
  }
}
