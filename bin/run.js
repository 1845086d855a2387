#!/usr/bin/env node
// `dot --version` is answered before oclif loads: it needs only package.json, and loading @oclif/core
// costs ~90 ms (its CJS module graph). The line is exactly oclif's (config.userAgent); any other
// argument, `--version` among others included, goes through oclif as usual.
if (process.argv.length === 3 && process.argv[2] === '--version') {
  const {readFileSync} = await import('node:fs')
  const {name, version} = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  process.stdout.write(`${name}/${version} ${process.platform}-${process.arch === 'ia32' ? 'x86' : process.arch} node-${process.version}\n`)
} else {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
