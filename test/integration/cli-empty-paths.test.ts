import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import {after, before, describe, test} from 'node:test'

import {assertRoot, rootOnly} from '../helpers/requirements.js'
import {runDot} from '../helpers/run-dot.js'
import {TempRoot} from '../helpers/temp-root.js'
import {isOneLine} from './cli-fixtures.js'
import {fingerprint} from './store-fixtures.js'

/**
 * A path given as "" (`--root "$UNSET"`, `--to "$DIR"`) would otherwise be the working directory:
 * `dot gc --root ""` swept the `.trash-*` and `.tmp-*` entries there, `dot export --to ""` wrote
 * to stdout, `dot import --from ""` read stdin. Each is invalid input (exit 2) and the working
 * directory is left as it was; a store root that is a file is invalid input too, not an ENOTDIR.
 */
describe('CLI: an empty path or a root that is not a directory is refused', rootOnly(), () => {
  let tmp: TempRoot
  let cwd: string
  let root: string

  before(async () => {
    assertRoot()
    tmp = new TempRoot('dot-test-empty-paths-')
    root = tmp.root
    const base = tmp.base('base', {'a.txt': 'a\n'})
    assert.equal((await runDot(['create', 'v', '--base', base, '--root', root])).code, 0)
    cwd = path.join(tmp.dir, 'cwd')
    for (const dir of ['.trash-x-abc123', '.tmp-y-abc123/inner', 'vol/upper']) fs.mkdirSync(path.join(cwd, dir), {recursive: true})
    fs.writeFileSync(path.join(cwd, '.trash-x-abc123', 'precious.txt'), 'keep me\n')
    fs.writeFileSync(path.join(cwd, 'vol', 'metadata.json'), JSON.stringify({BaseDirPath: base, Volatile: false}))
    fs.writeFileSync(path.join(tmp.dir, 'file.txt'), 'a file\n')
  })
  after(() => tmp?.cleanup())

  for (const [what, args, message] of [
    ['gc --root ""', ['gc', '--root', ''], /--root is empty/],
    ['ls --root ""', ['ls', '--root', ''], /--root is empty/],
    ['rm --root ""', ['rm', 'vol', '--force', '--root', ''], /--root is empty/],
    ['recover --to ""', ['recover', 'v', '--to', '', '--root', '$ROOT'], /--to is empty/],
    ['export --to ""', ['export', 'v', '--to', '', '--root', '$ROOT'], /--to is empty/],
    ['import --from ""', ['import', 'v', '--from', '', '--root', '$ROOT'], /--from is empty/],
    ['reset --backup ""', ['reset', 'v', '--backup', '', '--root', '$ROOT'], /--backup is empty/],
    ['ls --root FILE', ['ls', '--root', '$FILE'], /the store root ".*file\.txt" is not a directory/],
    ['gc --root FILE', ['gc', '--root', '$FILE'], /the store root ".*file\.txt" is not a directory/],
  ] as const) {
    test(`dot ${what}: exit 2, one line, the working directory untouched`, async () => {
      const before = fingerprint(cwd)
      const rootBefore = fingerprint(root)
      const argv = args.map((a) => a.replace('$ROOT', root).replace('$FILE', path.join(tmp.dir, 'file.txt')))
      const result = await runDot(argv, {cwd, timeoutMs: 20_000})
      assert.equal(result.code, 2, `${result.stdout}${result.stderr}`)
      assert.equal(result.stdout, '')
      assert.ok(isOneLine(result.stderr), result.stderr)
      assert.match(result.stderr, message)
      assert.deepEqual(fingerprint(cwd), before, 'the working directory is unchanged')
      assert.deepEqual(fingerprint(root), rootBefore, 'the store root is unchanged')
    })
  }
})
