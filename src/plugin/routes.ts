import {createVolume} from '../core/changes/create-from.js'
import type {Volume, VolumeStore} from '../core/volume/store.js'
import {validateName} from '../core/disk/names.js'
import {quoted} from '../core/errors.js'
import {RequestError} from './errors.js'
import {
  type ActivateResponse,
  type CapabilitiesResponse,
  type GetResponse,
  IMPLEMENTS,
  type ListResponse,
  type MountpointResponse,
  type RequestBody,
  type WireVolume,
} from './wire.js'

/** What a route produced; `undo` reverses its effect if the answer never reaches dockerd (§9.8). */
export interface RouteResult {
  response: object
  undo?: () => Promise<void>
  /** A short human summary for the info log, for calls that change something. */
  summary?: string
}

export interface Route {
  /** Whether the route reads a JSON body; Activate, Capabilities and List carry nothing they need. */
  needsBody: boolean
  handle(store: VolumeStore, body: RequestBody): Promise<RouteResult>
}

/** The endpoints, keyed by the exact path dockerd POSTs to (docs/plugin-protocol.md §3). */
export const ROUTES: Record<string, Route> = {
  '/Plugin.Activate': {
    needsBody: false,
    // No timeout on dockerd's side and it holds the driver lookup lock meanwhile: answer at once.
    handle: async () => ({response: {Implements: IMPLEMENTS} satisfies ActivateResponse}),
  },

  '/VolumeDriver.Capabilities': {
    needsBody: false,
    handle: async () => ({response: {Capabilities: {Scope: 'local'}} satisfies CapabilitiesResponse}),
  },

  '/VolumeDriver.Create': {
    needsBody: true,
    async handle(store, body) {
      const name = requestName(body)
      await createVolume(store, name, body.Opts) // the store logs the creation; -o from= seeds it with a layer
      return {response: {}}
    },
  },

  '/VolumeDriver.Remove': {
    needsBody: true,
    async handle(store, body) {
      const name = requestName(body)
      // dockerd vouches for its own mount IDs only: records of mounts made by hand still refuse (§9.13).
      await store.remove(name, {byDocker: true}) // the store logs the removal
      return {response: {}}
    },
  },

  '/VolumeDriver.Mount': {
    needsBody: true,
    async handle(store, body) {
      const name = requestName(body)
      const id = requestId(body)
      // Always absolute (the root is resolved when the store opens): an empty or relative answer would
      // make runc bind the container's bundle directory (§9.3).
      const mountpoint = await store.mount(name, id)
      return {
        response: {Mountpoint: mountpoint} satisfies MountpointResponse,
        undo: () => store.dropUse(name, id),
        summary: `mounted volume "${name}" for id ${id} at ${mountpoint}`,
      }
    },
  },

  '/VolumeDriver.Unmount': {
    needsBody: true,
    async handle(store, body) {
      const name = requestName(body)
      const id = requestId(body)
      // An ID that is not mounted is a success inside the store (§9.4).
      await store.dropUse(name, id)
      return {response: {}, summary: `unmount of volume "${name}" for id ${id} done`}
    },
  },

  '/VolumeDriver.Path': {
    needsBody: true,
    async handle(store, body) {
      const name = requestName(body)
      const volume = await store.get(name)
      // Not mounted: "" (as go-plugins-helpers' PathResponse always has the key), never a path that is not an overlay.
      return {response: {Mountpoint: volume.mountpoint ?? ''} satisfies MountpointResponse}
    },
  },

  '/VolumeDriver.Get': {
    needsBody: true,
    async handle(store, body) {
      const name = requestName(body)
      // Unknown names answer Err (store.get throws not-found): that is what lets dockerd Create (§9.1).
      return {response: {Volume: toWire(name, await store.get(name), true)} satisfies GetResponse}
    },
  },

  '/VolumeDriver.List': {
    needsBody: false,
    async handle(store) {
      // Names and mountinfo only: `docker volume ls` must not read every volume, let alone walk uppers.
      const volumes = await store.listBrief()
      return {response: {Volumes: volumes.map((v) => (v.mountpoint ? {Name: v.name, Mountpoint: v.mountpoint} : {Name: v.name}))} satisfies ListResponse}
    },
  },
}

/** The volume name of a request, validated by the core's rules before it names any path (§9.11). */
function requestName(body: RequestBody): string {
  if (!('Name' in body)) throw new RequestError('request has no "Name"; expected {"Name": "<volume>", ...}')
  return validateName(body.Name)
}

/** The mount ID of a Mount or Unmount: a JSON string (its form is the core's to check). */
function requestId(body: RequestBody): string {
  const id: unknown = body.ID
  if (id === undefined) throw new RequestError('mount ID is empty: the request has no "ID"; expected {"Name": "<volume>", "ID": "<mount id>"}')
  if (typeof id !== 'string') throw new RequestError(`mount ID must be a string, got ${quoted(id)}`)
  return id
}

/** A volume as dockerd reads it. `name` is the requested name, echoed exactly (§9.1). */
export function toWire(name: string, volume: Volume, withStatus: boolean): WireVolume {
  const wire: WireVolume = {Name: name}
  if (volume.mountpoint) wire.Mountpoint = volume.mountpoint
  const created = volume.createdAt
  // RFC 3339 (toISOString is its UTC form) or absent; an empty string would make dockerd purge the volume.
  if (created instanceof Date && !Number.isNaN(created.getTime())) wire.CreatedAt = created.toISOString()
  if (withStatus) {
    wire.Status = {base: volume.base, volatile: volume.volatile, mounted: volume.mounted, activeMounts: volume.mounts, upper: volume.upper, snapshots: volume.snapshots}
    if (volume.sizeLimit !== undefined) Object.assign(wire.Status, {sizeLimit: volume.sizeLimit, limitUsed: volume.limitUsed ?? 0})
    if (volume.tmpfs) wire.Status.tmpfs = true
  }
  return wire
}
