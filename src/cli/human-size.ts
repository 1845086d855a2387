const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const

/**
 * Bytes in binary units as `du -h` and `docker system df` readers expect: "0 B", "512 B", "4.0 KiB",
 * "12 MiB". One decimal below 10 of a unit, none above (the digit would be noise).
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?'
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  if (unit === 0) return `${bytes} B`
  // 1023.96 KiB would round to "1024 KiB": carry it into the next unit instead.
  const text = value < 10 ? value.toFixed(1) : Math.round(value).toString()
  if (text === '1024' && unit < UNITS.length - 1) return `1.0 ${UNITS[unit + 1]}`
  return `${text} ${UNITS[unit]}`
}
