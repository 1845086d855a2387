import fs from 'node:fs/promises'
import {performance} from 'node:perf_hooks'

import {busy, errnoCode} from '../core/errors.js'
import type {Logger} from '../core/logger.js'
import type {VolumeStore} from '../core/volume/store.js'
import {MAX_BODY_BYTES, parseBody, type RawBody} from './body.js'
import {errorStatus} from './error-status.js'
import {UnknownEndpointError, isUserError, toDotError} from './errors.js'
import {type Exchange, LeanServer} from './http/lean-server.js'
import type {ParsedRequest} from './http/request-parser.js'
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
/** A request must be complete this long after its first byte (an idle connection is never timed out). */
const REQUEST_TIMEOUT_MS = 60_000
const LOGGED_BODY_CHARS = 300

/**
 * The HTTP side of the plugin on a unix socket: routing, the always-JSON-always-200 answer, per-request
 * logging, rollback of a Mount whose answer never reached dockerd, and a graceful close.
 * Volume work is the store's (which also queues per volume in front of the cross-process lock).
 */
export class PluginServer {
  private readonly server: LeanServer
  private inFlight = 0
  private drained: (() => void) | undefined
  private readonly rollbacks = new Set<Promise<void>>()
  private socketIno: number | undefined

  constructor(
    private readonly store: VolumeStore,
    private readonly logger: Logger,
    private readonly observe?: RequestObserver,
  ) {
    this.server = new LeanServer({
      maxBodyBytes: MAX_BODY_BYTES,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      onRequest: (request, exchange) => void this.handle(request, exchange),
      // Not even HTTP (or a head over the limit): still a JSON answer with status 200, then close.
      onUnreadable: (code, message) => {
        this.logger.warn(`unreadable HTTP request: ${code}: ${message}`)
        return JSON.stringify({Err: `unreadable HTTP request (${code}): ${message}; expected POST /VolumeDriver.<Method> with a JSON body`})
      },
      onIncomplete: (url) => this.logger.debug(`${endpointOf(url)}: the client went away before the request was answered: the client closed the connection before sending the whole request`),
    })
  }

  /** Listens on `socketPath` (prepared by prepareSocket) with mode 0660, owned by root. */
  async listen(socketPath: string): Promise<void> {
    const server = this.server.net
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        reject(errnoCode(err) === 'EADDRINUSE' ? busy(`another server started listening on ${socketPath} at the same time; refusing to share it`) : err)
      }
      server.once('error', onError)
      this.server.listen(socketPath, () => {
        server.off('error', onError)
        resolve()
      })
    })
    await fs.chmod(socketPath, 0o660)
    if (process.getuid?.() === 0) await fs.chown(socketPath, 0, 0)
    this.socketIno = (await fs.stat(socketPath)).ino
    server.on('error', (err) => this.logger.error(`server: ${err.message}`))
  }

  /**
   * Stops accepting, lets in-flight requests finish (their locks are released as they complete), closes
   * the kept-alive connections and removes the socket. Mounts stay: containers are using them.
   */
  async close(socketPath: string): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(resolve))
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

  private async handle(request: ParsedRequest, exchange: Exchange): Promise<void> {
    this.inFlight++
    const started = performance.now()
    const endpoint = endpointOf(request.url)
    const raw: RawBody = {text: request.tooLarge ? '' : request.body.toString('utf8'), tooLarge: request.tooLarge}
    let outcome: RequestOutcome = 'ok'
    try {
      const route = ROUTES[endpoint]
      if (!route) {
        throw new UnknownEndpointError(`unknown endpoint ${JSON.stringify(endpoint)}; this plugin answers /Plugin.Activate and /VolumeDriver.{Create,Remove,Mount,Unmount,Path,Get,List,Capabilities}`)
      }
      const body = route.needsBody || raw.tooLarge ? parseBody(raw) : {}
      const result = await route.handle(this.store, body)
      // A Mount whose answer dockerd never reads is a mount nobody will unmount: roll it back (§9.8).
      if (exchange.gone) {
        outcome = 'client-gone'
        this.rollback(endpoint, result)
        return
      }
      const undo = result.undo
      exchange.answer(JSON.stringify(result.response), undo && ((ok) => ok || this.rollback(endpoint, result)))
      if (result.summary) this.logger.info(result.summary)
      this.logRequest(endpoint, raw.text, result.response, started)
    } catch (err) {
      if (exchange.gone) {
        outcome = 'client-gone'
        this.logger.debug(`${endpoint}: the client went away before the request was answered: ${(err as Error).message}`)
        return
      }
      const error = toDotError(err)
      const response: ErrResponse = {Err: error.message}
      outcome = isUserError(error.code) ? 'refused' : 'error'
      exchange.answer(JSON.stringify(response), undefined, errorStatus(error, request.contentType))
      this.logRequest(endpoint, raw.text, response, started)
      if (!isUserError(error.code)) {
        this.logger.error(`${endpoint}: ${error.message}`)
        const cause = (error.cause as Error | undefined)?.stack
        if (cause) this.logger.debug(cause)
      } else if (!(PROBES.has(endpoint) && (error.code === 'not-found' || error.code === 'invalid'))) {
        this.logger.warn(`${endpoint} refused: ${error.message}`)
      }
    } finally {
      // The one place every request ends: the per-request observer (metrics) is called here.
      this.observe?.(endpoint, outcome, (performance.now() - started) / 1000)
      this.inFlight--
      if (this.inFlight === 0) this.drained?.()
    }
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

/** The path of a request target, without its query. */
function endpointOf(url: string): string {
  const query = url.indexOf('?')
  return query < 0 ? url : url.slice(0, query)
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
