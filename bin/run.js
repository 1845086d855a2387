#!/usr/bin/env node
// Two command lines are answered before oclif loads, since loading @oclif/core costs ~90-150 ms (its
// CJS module graph) and they need none of it:
// - `dot --version`: only package.json; the line is exactly oclif's (config.userAgent);
// - `dot serve` as a service runs it (dist/src/cli/serve-without-oclif.js): dockerd waits for it.
// Everything else, including a serve command line the fast path does not fully understand, goes
// through oclif as usual.
const args = process.argv.slice(2)

// A write error on stdout outside our commands (help, --version, an unknown command: oclif's own
// listener rethrows it) is one line and exit 1, as in our commands (src/cli/stdout-guard.ts), not a
// stack trace. A reader that went away (EPIPE) is quiet. `dot serve` keeps Node's own handling.
if (args[0] !== 'serve') process.on('uncaughtException', (err) => {
  if (err?.syscall !== 'write' || typeof err.code !== 'string') {
    process.stderr.write(`${err?.stack ?? err}\n`)
    process.exit(1)
  }
  if (err.code !== 'EPIPE') process.stderr.write(`dot: writing the output: ${err.message.replace(/^[A-Z]+: /, '').replace(/, write$/, '')} (${err.code})\n`)
  process.exit(err.code === 'EPIPE' ? 0 : 1)
})

async function withoutOclif() {
  if (args.length === 1 && args[0] === '--version') {
    const {readFileSync} = await import('node:fs')
    const {name, version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
    process.stdout.write(`${name}/${version} ${process.platform}-${process.arch === 'ia32' ? 'x86' : process.arch} node-${process.version}\n`)
    return true
  }
  if (args[0] === 'serve') {
    const {serveWithoutOclif} = await import('../dist/src/cli/serve-without-oclif.js')
    return serveWithoutOclif(args.slice(1))
  }
  return false
}

if (!(await withoutOclif())) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
