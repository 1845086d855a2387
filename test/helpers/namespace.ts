import {type ChildProcess, spawn} from 'node:child_process'

/**
 * A process in a mount namespace of its own (unshare -m, private propagation) that runs `script` and then
 * sleeps, as a container of any engine holds its mounts; resolves once it is ready. Kill it to let go.
 */
export async function inNamespace(script: string, children: ChildProcess[]): Promise<ChildProcess> {
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', `${script} && echo ready && exec sleep 600`], {stdio: ['ignore', 'pipe', 'pipe']})
  children.push(child)
  let err = ''
  child.stderr!.on('data', (d) => (err += d))
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes('ready') && resolve())
    child.on('exit', (code) => reject(new Error(`unshare exited ${code}: ${err}`)))
  })
  return child
}

/** Kills them and waits until each has exited (its namespace, and the mounts only it held, are gone then). */
export async function killAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.splice(0).map((child) => {
      if (child.exitCode !== null || child.signalCode !== null) return undefined
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGKILL')
      return exited
    }),
  )
}
