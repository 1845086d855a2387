/** Where a terminal's width comes from: only a terminal has one; a pipe gets full values. */
export function terminalColumns(stream: {isTTY?: boolean; columns?: number} = process.stdout): number | undefined {
  return stream.isTTY && stream.columns ? stream.columns : undefined
}

/** "/srv/very/long/path" -> "/srv/ve…ng/path": both ends kept, as they tell paths apart. */
export function shortenMiddle(text: string, width: number): string {
  const chars = [...text]
  if (chars.length <= width) return text
  if (width <= 1) return '…'.slice(0, width)
  const tail = Math.floor((width - 1) / 2)
  const head = width - 1 - tail
  return `${chars.slice(0, head).join('')}…${tail > 0 ? chars.slice(-tail).join('') : ''}`
}

export function shortenEnd(text: string, width: number): string {
  const chars = [...text]
  return chars.length <= width ? text : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`
}

export interface ColumnSpec {
  /** The widest cell (header included). */
  natural: number
  /** Never narrower than this (a column that cannot shrink has min = natural). */
  min: number
}

/**
 * Column widths that fit `total` terminal columns with `gap` spaces between columns: the steps of
 * `order` shrink one column each, down to the step's minimum (or the column's), until the line fits;
 * a column may appear twice, with a larger minimum first. When even the minimums do not fit, the
 * minimums (the line then wraps, as little as it can).
 */
export function fitWidths(columns: ColumnSpec[], total: number, order: (number | [number, number])[], gap = 2): number[] {
  const widths = columns.map((c) => c.natural)
  let excess = widths.reduce((a, b) => a + b, 0) + gap * (columns.length - 1) - total
  for (const step of order) {
    if (excess <= 0) break
    const [i, min] = Array.isArray(step) ? step : [step, columns[step].min]
    const give = Math.min(excess, widths[i] - Math.max(min, columns[i].min))
    if (give > 0) {
      widths[i] -= give
      excess -= give
    }
  }
  return widths
}
