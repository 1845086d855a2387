/**
 * The Docker volume plugin protocol on the wire (docs/plugin-protocol.md §2, §3; moby volume/drivers/proxy.go).
 * Keys are capitalised as dockerd sends and expects them. Every response is JSON with status 200 (an
 * error to Podman: 500, see error-status.ts); a
 * failure is `{"Err": message}` (dockerd reads a non-empty Err as failure whatever the status).
 */

/** The subsystems this plugin implements: exactly VolumeDriver (listing others makes dockerd call them). */
export const IMPLEMENTS = ['VolumeDriver'] as const

export interface ErrResponse {
  Err: string
}

export interface ActivateResponse {
  Implements: readonly string[]
}

export interface CapabilitiesResponse {
  Capabilities: {Scope: 'local' | 'global'}
}

/** `Status` is free-form JSON that `docker volume inspect` shows verbatim, and nothing else reads. */
export interface VolumeStatus {
  base: string
  volatile: boolean
  mounted: boolean
  /** Docker mount IDs in use, each with how many times it is mounted (an ID can repeat, §9.4). */
  activeMounts: Record<string, number>
  /** Where the volume's changes live on the host. */
  upper: string
  /** How many snapshots it has (`dot snapshots NAME` lists them). */
  snapshots: number
  /** With size=: the limit of the changes in bytes and what of it is used. */
  sizeLimit?: number
  limitUsed?: number
  /** With tmpfs=true: the changes are in memory while mounted. */
  tmpfs?: boolean
}

export interface WireVolume {
  /** Echoed exactly as requested: dockerd trusts it (§9.1). */
  Name: string
  /** Absolute, and only while mounted. */
  Mountpoint?: string
  /** RFC 3339, or absent; never "" (a bad value makes dockerd purge the volume, §9.2). */
  CreatedAt?: string
  Status?: VolumeStatus
}

export interface GetResponse {
  Volume: WireVolume
}

export interface ListResponse {
  Volumes: WireVolume[]
}

export interface MountpointResponse {
  Mountpoint?: string
}

/** The request body as parsed; fields are checked by the core, never trusted here. */
export type RequestBody = Record<string, unknown>
