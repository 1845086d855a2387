import fs from 'node:fs/promises'
import http, {type IncomingMessage, type ServerResponse} from 'node:http'
import {performance} from 'node:perf_hooks'

import {busy, errnoCode} from '../core/errors.js'
import type {Logger} from '../core/logger.js'
import type {VolumeStore} from '../core/volume/store.js'
import {ClientGoneError, parseBody, readBody} from './body.js'
import {RequestError, isUserError, toDotError} from './errors.js'
import {ROUTES, type RouteResult} from './routes.js'
import type {RequestObserver, RequestOutcome} from './request-observer.js'
import type {ErrResponse} from './wire.js'

/**
 * Requests whose refusal is routine: dockerd probes every driver with Get for names it does not know
 * (§1.2), including names that are not ours to accept. Logged at debug only.
 */
const PROBES = new Set(['/VolumeDriver.Get', '/VolumeDriver.Path'])
/** How long a shutdown waits for in-flight requests (dockerd's own limit for Mount is 2 minutes). */
const DRAIN_TIMEOUT_MS = 120_000
const LOGGED_BODY_CHARS = 300

/**
 * The HTTP side of the plugin on a unix socket: routing, the always-JSON-always-200 answer, per-request
 * logging, rollback of a Mount whose answer never reached dockerd, and a graceful close.
 * Volume work is the store's (which also queues per volume in front of the cross-process lock).
 */
export class PluginServer {
  private readonly server: http.Server
  private inFlight = 0
  private drained: (() => void) | undefined
  private closing = false
  private readonly rollbacks = new Set<Promise<void>>()
  private socketIno: number | undefined

  constructor(
    private readonly store: VolumeStore,
    private readonly logger: Logger,
    private readonly observe?: RequestObserver,
  ) {
    this.server = http.createServer((req, res) => void this.handle(req, res))
    // dockerd never times idle keep-alive connections out (Go's zero Transport), and a server-side close
    // racing its next request turns into an empty-body retry (§9.7): never close idle connections.
    this.server.keepAliveTimeout = 0
    this.server.headersTimeout = 60_000
    this.server.requestTimeout = 60_000
    // Not even HTTP (or headers over Node's limit): still a JSON answer with status 200, then close.
    this.server.on('clientError', (err: Error & {code?: string}, socket) => {
      this.logger.warn(`unreadable HTTP request: ${err.code ?? err.message}`)
      if (!socket.writable) return
      const text = JSON.stringify({Err: `unreadable HTTP request (${err.code ?? err.message}); expected POST /VolumeDriver.<Method> with a JSON body`})
      socket.end(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`)
    })
  }

  /** Listens on `socketPath` (prepared by prepareSocket) with mode 0660, owned by root. */
  async listen(socketPath: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        reject(errnoCode(err) === 'EADDRINUSE' ? busy(`another server started listening on ${socketPath} at the same time; refusing to share it`) : err)
      }
      this.server.once('error', onError)
      this.server.listen({path: socketPath}, () => {
        this.server.off('error', onError)
        resolve()
      })
    })
    await fs.chmod(socketPath, 0o660)
    if (process.getuid?.() === 0) await fs.chown(socketPath, 0, 0)
    this.socketIno = (await fs.stat(socketPath)).ino
    this.server.on('error', (err) => this.logger.error(`server: ${err.message}`))
  }

  /**
   * Stops accepting, lets in-flight requests finish (their locks are released as they complete), closes
   * the kept-alive connections and removes the socket. Mounts stay: containers are using them.
   */
  async close(socketPath: string): Promise<void> {
    this.closing = true
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeIdleConnections()
    if (this.inFlight > 0) {
      this.logger.info(`waiting for ${this.inFlight} request(s) in flight`)
      const drained = new Promise<void>((resolve) => (this.drained = resolve))
      let timer: NodeJS.Timeout | undefined
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)))
      await Promise.race([drained, timeout])
      clearTimeout(timer)
      if (this.inFlight > 0) this.logger.warn(`closing with ${this.inFlight} request(s) still in flight after ${DRAIN_TIMEOUT_MS / 1000} s`)
    }
    this.server.closeAllConnections()
    await stopped
    await Promise.all(this.rollbacks)
    await removeOwnSocket(socketPath, this.socketIno)
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++
    const started = performance.now()
    const endpoint = (req.url ?? '').split('?')[0]
    let requestText = ''
    let result: RouteResult | undefined
    // A Mount whose answer dockerd never reads is a mount nobody will unmount: roll it back (§9.8).
    let answered = false
    let clientGone = false
    let outcome: RequestOutcome = 'client-gone'
    res.on('finish', () => (answered = true))
    res.on('close', () => {
      if (answered) return
      clientGone = true
      if (result?.undo) this.rollback(endpoint, result)
    })
    try {
      const raw = await readBody(req)
      requestText = raw.text
      const route = ROUTES[endpoint]
      if (!route) {
        throw new RequestError(`unknown endpoint ${JSON.stringify(endpoint)}; this plugin answers /Plugin.Activate and /VolumeDriver.{Create,Remove,Mount,Unmount,Path,Get,List,Capabilities}`)
      }
      const body = route.needsBody ? parseBody(raw) : raw.tooLarge ? parseBody(raw) : {}
      result = await route.handle(this.store, body)
      if (clientGone) {
        if (result.undo) this.rollback(endpoint, result)
        return
      }
      this.send(res, result.response)
      outcome = 'ok'
      if (result.summary) this.logger.info(result.summary)
      this.logRequest(endpoint, requestText, result.response, started)
    } catch (err) {
      if (clientGone || err instanceof ClientGoneError) {
        this.logger.debug(`${endpoint}: the client went away before the request was answered: ${(err as Error).message}`)
        return
      }
      const error = toDotError(err)
      outcome = isUserError(error.code) ? 'refused' : 'error'
      const response: ErrResponse = {Err: error.message}
      this.send(res, response)
      this.logRequest(endpoint, requestText, response, started)
      if (!isUserError(error.code)) {
        this.logger.error(`${endpoint}: ${error.message}`)
        const cause = (error.cause as Error | undefined)?.stack
        if (cause) this.logger.debug(cause)
      } else if (!(PROBES.has(endpoint) && (error.code === 'not-found' || error.code === 'invalid'))) {
        this.logger.warn(`${endpoint} refused: ${error.message}`)
      }
    } finally {
      this.observe?.(endpoint, outcome, (performance.now() - started) / 1000)
      this.inFlight--
      if (this.inFlight === 0) this.drained?.()
    }
  }

  /** Every answer: status 200 and a JSON body (dockerd treats any other status, or no body, as failure). */
  private send(res: ServerResponse, response: object): void {
    if (res.destroyed || res.writableEnded) return
    const text = JSON.stringify(response)
    res.statusCode = 200
    res.setHeader('Content-Type', 'application/vnd.docker.plugins.v1.2+json')
    res.setHeader('Content-Length', Buffer.byteLength(text))
    if (this.closing) res.setHeader('Connection', 'close')
    res.end(text)
  }

  private rollback(endpoint: string, result: RouteResult): void {
    const undo = result.undo
    if (!undo) return
    result.undo = undefined
    this.logger.warn(`${endpoint}: the client went away before the answer was delivered; rolling back (${result.summary ?? 'no summary'})`)
    const done = undo()
      .catch((err: Error) => this.logger.error(`${endpoint}: rolling back failed: ${err.message}`))
      .finally(() => this.rollbacks.delete(done))
    this.rollbacks.add(done)
  }

  private logRequest(endpoint: string, request: string, response: object, started: number): void {
    // Built only when it will be written: re-serialising a large List is not free.
    const level = (this.logger as {level?: string}).level
    if (level !== undefined && level !== 'debug') return
    const ms = (performance.now() - started).toFixed(1)
    const shown = request.trim().slice(0, LOGGED_BODY_CHARS)
    this.logger.debug(`${endpoint} ${shown || '(empty body)'} -> ${JSON.stringify(response).slice(0, LOGGED_BODY_CHARS)} (${ms} ms)`)
  }
}

/** Removes the socket only if it is still the one this server created. */
async function removeOwnSocket(socketPath: string, ino: number | undefined): Promise<void> {
  try {
    const stat = await fs.lstat(socketPath)
    if (stat.isSocket() && (ino === undefined || stat.ino === ino)) await fs.rm(socketPath, {force: true})
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err
  }
}
