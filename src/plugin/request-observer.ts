/**
 * How a request ended, as the metrics count it: answered without Err, refused for the caller's
 * mistake or a normal state (not found, in use), failed inside (internal), or abandoned by the client.
 */
export type RequestOutcome = 'ok' | 'refused' | 'error' | 'client-gone'

/**
 * The one hook the request path calls, once per request when it is done: endpoint (the URL path),
 * outcome and wall-clock seconds. It must return at once and never throw; `dot serve --metrics`
 * installs one, otherwise nothing is called.
 */
export type RequestObserver = (endpoint: string, outcome: RequestOutcome, seconds: number) => void
