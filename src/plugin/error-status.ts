import type {DotError} from '../core/errors.js'
import {UnknownEndpointError} from './errors.js'

/**
 * The HTTP status of an `{"Err": ...}` answer. An unknown path is 404 for every client: dockerd reads a
 * 404 as "this plugin does not implement that call" (moby pkg/plugins IsNotFound). Otherwise dockerd
 * reads `Err` whatever the status and shows a 200's message as is (a 500's gets a `VolumeDriver.<Method>: `
 * prefix), so it gets 200. Podman reads the body of an error only when the status is not 200: a refused
 * Create answered with 200 would be a volume it lists but the plugin does not have. Podman sends a
 * Content-Type header (application/vnd.docker.plugins.v1.1+json) and dockerd never does
 * (docs/plugin-protocol.md §1.5): that tells them apart.
 */
export function errorStatus(error: DotError, contentType: string | undefined): number {
  if (error instanceof UnknownEndpointError) return 404
  return contentType === undefined ? 200 : 500
}
