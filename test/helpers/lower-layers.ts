import {unescapeMountinfo} from '../../src/core/kernel/mountinfo.js'

/**
 * The lower layers an overlay's super options (mountinfo) name, topmost first, in either form:
 * one `lowerdir+=` per layer (the new mount API: each path as the kernel resolved it), or mount(2)'s
 * `lowerdir=a:b` (the string as given, its ":", "," and "\" escaped with a backslash).
 */
export function lowerLayers(superOptions: string): string[] {
  const layers: string[] = []
  for (const option of superOptions.split(',')) {
    if (option.startsWith('lowerdir+=')) layers.push(unescapeMountinfo(option.slice('lowerdir+='.length)))
    else if (option.startsWith('lowerdir=')) layers.push(...splitLowerdir(unescapeMountinfo(option.slice('lowerdir='.length))))
  }
  return layers
}

/** Whether the option string uses `lowerdir+=` (the new mount API) rather than mount(2)'s `lowerdir=`. */
export function usesLowerdirAppend(superOptions: string): boolean {
  return superOptions.split(',').some((option) => option.startsWith('lowerdir+='))
}

/** Splits at unescaped ":" and drops the backslashes, as overlayfs does (fs/overlayfs/params.c). */
function splitLowerdir(value: string): string[] {
  const layers: string[] = []
  let current = ''
  for (let i = 0; i < value.length; i++) {
    if (value[i] === '\\' && i + 1 < value.length) current += value[++i]
    else if (value[i] === ':') {
      layers.push(current)
      current = ''
    } else current += value[i]
  }
  layers.push(current)
  return layers
}
