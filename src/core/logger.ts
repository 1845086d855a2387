/** What the core reports about its work; the CLI and `dot serve` decide where it goes. */
export interface Logger {
  debug(message: string): void
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export const silentLogger: Logger = {debug() {}, info() {}, warn() {}, error() {}}
