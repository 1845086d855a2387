import fs from 'node:fs'

import {Args, Flags} from '@oclif/core'

import {DotCommand} from '../cli/base-command.js'
import {exitInterrupted, interruptible} from '../cli/interrupt.js'
import {type ImportResult, importVolume} from '../core/changes/import.js'
import {errnoCode, invalid, notFound} from '../core/errors.js'

export default class Import extends DotCommand<typeof Import> {
  static override summary = "Apply an OCI image layer onto a volume's changes"
  static override description = [
    'Reads a layer (as `dot export` writes it) from stdin or --from FILE and applies it over the volume\'s',
    'changes: entries replace what the volume shows at their path, `.wh.NAME` deletes, `.wh..wh..opq` hides',
    'what the directory held. A volume in use is refused (exit 5). The layer is extracted and checked in a',
    'scratch directory first: absolute paths, "..", hard links to anything but an earlier entry, symlinks',
    'pointing out of the volume (unless --allow-links-out), device nodes (unless --allow-devices), overlayfs',
    'xattrs and a truncated stream are refused (exit 2) and leave the volume as it was. Runs as root.',
    '--json: {"volume", "from"?, "entries", "whiteouts", "opaques"}.',
  ].join(' ')
  static override examples = ['<%= config.bin %> import data < data-changes.tar', '<%= config.bin %> import data --from /backup/data.tar', 'ssh host dot export a | <%= config.bin %> import b']
  static override args = {name: Args.string({description: 'volume name', required: true})}
  static override flags = {
    from: Flags.string({description: 'read the layer from this file instead of stdin', helpValue: 'FILE'}),
    'allow-devices': Flags.boolean({description: 'accept character and block device nodes', default: false}),
    'allow-links-out': Flags.boolean({description: 'accept symlinks that are absolute or climb out of the volume', default: false}),
  }

  async run(): Promise<ImportResult> {
    const {flags} = this
    if (!flags.from && process.stdin.isTTY) throw invalid('refusing to read a layer from a terminal; redirect it (dot import NAME < FILE), pipe it, or use --from FILE')
    const input = flags.from ? openLayer(flags.from) : process.stdin
    const store = await this.openStore()
    const {name} = this.args
    const policy = {allowDevices: flags['allow-devices'], allowLinksOut: flags['allow-links-out'], from: flags.from}
    const result = await interruptible(
      (signal) => importVolume(store, name, input, {...policy, signal}),
      (signal) => exitInterrupted('dot import', `volume "${name}" is unchanged`, signal),
    )
    this.print(`applied ${result.entries} entries onto volume "${result.volume}"`)
    return result
  }
}

export function openLayer(file: string): fs.ReadStream {
  try {
    const fd = fs.openSync(file, 'r')
    if (fs.fstatSync(fd).isDirectory()) throw invalid(`${file} is a directory; give a layer tar file`)
    return fs.createReadStream('', {fd})
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw notFound(`no such layer file: ${file}`, {from: file})
    throw err
  }
}
