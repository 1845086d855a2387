import {RequestError} from './errors.js'
import type {RequestBody} from './wire.js'

/** Requests are a name, an ID and a few options; anything bigger is refused unread (with an Err). */
export const MAX_BODY_BYTES = 1024 * 1024

export interface RawBody {
  text: string
  /** The client sent more than MAX_BODY_BYTES; `text` is empty then. */
  tooLarge: boolean
}

/**
 * Parses the JSON object a VolumeDriver call carries. dockerd retries a dropped connection with an
 * empty body (docs/plugin-protocol.md §1.4), so an empty body is a clear Err, never a crash or a silent success.
 */
export function parseBody(raw: RawBody): RequestBody {
  if (raw.tooLarge) throw new RequestError(`request body is larger than ${MAX_BODY_BYTES} bytes; a volume request is a small JSON object`)
  const text = raw.text.trim()
  if (text === '') {
    throw new RequestError('empty request body; expected a JSON object such as {"Name": "myvol"} (dockerd sends an empty body when it retries a dropped request)')
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new RequestError(`request body is not valid JSON: ${(err as Error).message}`)
  }
  if (json === null) return {}
  if (typeof json !== 'object' || Array.isArray(json)) {
    throw new RequestError(`request body must be a JSON object, got ${Array.isArray(json) ? 'an array' : typeof json}`)
  }
  return json as RequestBody
}
