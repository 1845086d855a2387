import fs from 'node:fs'
import path from 'node:path'

/**
 * A comparable picture of a directory tree: for each entry its type, mode, size, mtime and (for files
 * and links) content. Equal snapshots before and after a test mean nothing wrote to the base.
 */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {}
  const walk = (rel: string) => {
    const full = path.join(dir, rel)
    const st = fs.lstatSync(full)
    const head = `mode=${st.mode.toString(8)} uid=${st.uid} mtime=${st.mtimeMs} ctime=${st.ctimeMs}`
    if (st.isDirectory()) {
      out[rel || '.'] = `dir ${head}`
      for (const entry of fs.readdirSync(full).sort()) walk(path.join(rel, entry))
    } else if (st.isSymbolicLink()) {
      out[rel] = `link ${head} -> ${fs.readlinkSync(full)}`
    } else {
      out[rel] = `file ${head} size=${st.size} ${fs.readFileSync(full, 'utf8')}`
    }
  }
  walk('')
  return out
}
