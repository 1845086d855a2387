import {createRequire} from 'node:module'

type Koffi = typeof import('koffi')

export interface Libc {
  koffi: Koffi
  lib: ReturnType<Koffi['load']>
  /** errno's symbolic name (EBUSY, ...), or `errno N`. */
  errnoName(n: number): string
}

/** musl's libc soname per Node architecture (Alpine names it libc.musl-<arch>.so.1). */
const MUSL_ARCH: Record<string, string> = {x64: 'x86_64', arm64: 'aarch64', arm: 'armhf', ia32: 'x86', riscv64: 'riscv64', ppc64: 'ppc64le', s390x: 's390x'}

let loaded: Libc | undefined

/**
 * The C library through koffi, loaded once, on first use (commands that never call it do not pay for
 * the FFI): glibc's soname first, then musl's. The mounter, the volume lock (flock) and dot diff's
 * xattr reads share it.
 */
export function libc(): Libc {
  if (loaded) return loaded
  const koffi = createRequire(import.meta.url)('koffi') as Koffi
  const names = ['libc.so.6', `libc.musl-${MUSL_ARCH[process.arch] ?? process.arch}.so.1`, 'libc.so']
  const failures: string[] = []
  for (const name of names) {
    try {
      const lib = koffi.load(name)
      const errnoNames = new Map(Object.entries(koffi.os.errno).map(([symbol, n]) => [n, symbol]))
      loaded = {koffi, lib, errnoName: (n) => errnoNames.get(n) ?? `errno ${n}`}
      return loaded
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`)
    }
  }
  throw new Error(`cannot load the C library through koffi (${failures.join('; ')})`)
}
