import {accessSync, closeSync, constants, ftruncateSync, openSync, readdirSync, readFileSync, statfsSync, statSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'

import {MOUNT_SOURCE_PREFIX} from '../disk/layout.js'
import {DotError, errnoCode} from '../errors.js'
import type {Mounter} from './mounter.js'

/*
 * The file system a size-limited volume's changes live on: a sparse ext4 image, loop-mounted by
 * mount(8) (`-o loop`: util-linux finds a free device with LOOP_CTL_GET_FREE, attaches it with
 * LO_FLAGS_AUTOCLEAR and holds it open until mount(2) returns, so a process killed half way leaks no
 * device, and the unmount detaches it), or a tmpfs.
 */

const LOOP_CONTROL = '/dev/loop-control'
const MKFS = 'mkfs.ext4'

/** Why this host cannot honour the limit asked for, or undefined when it can. Reads only. */
export function limitRefusal(options: {size?: number; tmpfs?: boolean}, root: string, env = process.env): string | undefined {
  if (options.size === undefined) return undefined
  if (options.tmpfs) {
    const total = os.totalmem()
    return options.size > total ? `size ${options.size} bytes is more than this host's memory (${total} bytes): a tmpfs of that size can never be filled` : undefined
  }
  try {
    accessSync(LOOP_CONTROL, constants.R_OK | constants.W_OK)
  } catch (err) {
    return `this host has no usable loop devices (${LOOP_CONTROL}: ${errnoCode(err) ?? (err as Error).message}); load the loop module (modprobe loop), or run without size=`
  }
  if (findOnPath(MKFS, env) === undefined) return `${MKFS} is not on PATH (${env.PATH ?? ''}); install e2fsprogs, or run without size=`
  const free = freeBytes(root)
  if (free !== undefined && options.size > free) {
    return `size ${options.size} bytes is more than the free space of the file system holding ${root} (${free} bytes): the image could never be filled`
  }
  return undefined
}

function findOnPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(':').filter(Boolean)) {
    const file = path.join(dir, command)
    try {
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // next directory
    }
  }
  return undefined
}

/** Free bytes (for unprivileged users too) of the file system holding `dir` or its nearest parent. */
function freeBytes(dir: string): number | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    try {
      const s = statfsSync(d)
      return s.bavail * s.bsize
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT' || d === '/') return undefined
    }
  }
}

/**
 * A sparse image of `bytes` with an empty ext4 on it. The journal is kept: the changes are user data,
 * and a power cut must not leave an image that needs fsck before it can be mounted. `-m 0`: no blocks
 * reserved for root, the user gets the whole size (less the file system's own metadata).
 */
export async function makeImage(file: string, bytes: number): Promise<void> {
  const fd = openSync(file, 'wx', 0o600)
  try {
    ftruncateSync(fd, bytes)
  } finally {
    closeSync(fd)
  }
  const {execa} = await import('execa')
  const args = ['-q', '-F', '-m', '0', '-E', 'nodiscard,root_owner=0:0', '-L', 'docker-on-top', file]
  const result = await execa(MKFS, args, {reject: false, stdin: 'ignore'})
  if (result.exitCode !== 0) throw new DotError('internal', `${MKFS} ${file} failed: ${oneLine(result.stderr) || result.shortMessage}`)
}

/** Loop-mounts the image on `dir`. */
export async function mountImage(name: string, image: string, dir: string): Promise<void> {
  const {execa} = await import('execa')
  const args = ['-t', 'ext4', '-o', 'loop,nosuid,nodev', image, dir]
  const result = await execa('mount', args, {reject: false, stdin: 'ignore'})
  if (result.exitCode !== 0) throw new DotError('internal', `mounting the size limit of volume "${name}" (${image}): ${oneLine(result.stderr) || result.shortMessage}`, {name})
}

/** Mounts a tmpfs for the changes on `dir`, of `bytes` when given (else the kernel's default, half the memory). */
export async function mountTmpfs(mounter: Mounter, name: string, dir: string, bytes: number | undefined): Promise<void> {
  const data = ['mode=0700', ...(bytes === undefined ? [] : [`size=${bytes}`])].join(',')
  await mounter.mount({source: `${MOUNT_SOURCE_PREFIX}${name}`, target: dir, fstype: 'tmpfs', data})
}

/** Whether something is mounted on `dir` (it sits on another device than its parent). */
export function mountedOn(dir: string): boolean {
  const stat = statSync(dir, {throwIfNoEntry: false})
  return stat !== undefined && stat.dev !== statSync(path.dirname(dir)).dev
}

/** Used and total bytes of the file system mounted on `dir`. */
export function fsUsage(dir: string): {used: number; total: number} {
  const s = statfsSync(dir)
  return {used: (s.blocks - s.bfree) * s.bsize, total: s.blocks * s.bsize}
}

/** Loop devices whose backing file is below `root`, with that file (from /sys/block/loop*). */
export function loopDevicesUnder(root: string): Array<{device: string; file: string}> {
  const prefix = root.endsWith('/') ? root : `${root}/`
  const found: Array<{device: string; file: string}> = []
  let names: string[]
  try {
    names = readdirSync('/sys/block').filter((n) => n.startsWith('loop'))
  } catch {
    return found
  }
  for (const n of names) {
    try {
      const file = readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trim()
      if (file.startsWith(prefix)) found.push({device: `/dev/${n}`, file: file.replace(/ \(deleted\)$/, '')})
    } catch {
      // not attached
    }
  }
  return found
}

/** Detaches a loop device nobody mounts (losetup -d): only for devices a crash left without AUTOCLEAR. */
export async function detachLoop(device: string): Promise<void> {
  const {execa} = await import('execa')
  const result = await execa('losetup', ['-d', device], {reject: false, stdin: 'ignore'})
  if (result.exitCode !== 0) throw new DotError('internal', `losetup -d ${device}: ${oneLine(result.stderr) || result.shortMessage}`)
}

function oneLine(text: unknown): string {
  return String(text ?? '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ')
}

