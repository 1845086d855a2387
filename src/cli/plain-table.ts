/**
 * A plain, docker-ls-like table (columns separated by two spaces, no box drawing, no colour of its
 * own), as `dot ls` and `dot gc` print them. cli-table3 loads only when a table is drawn.
 */
export async function borderlessTable(): Promise<new (head: string[], options?: {colWidths?: number[]; wordWrap?: boolean}) => PlainTable> {
  const {default: Table} = await import('cli-table3')
  const names = ['top', 'top-mid', 'top-left', 'top-right', 'bottom', 'bottom-mid', 'bottom-left', 'bottom-right', 'left', 'left-mid', 'mid', 'mid-mid', 'right', 'right-mid', 'middle']
  const chars = Object.fromEntries(names.map((n) => [n, '']))
  return class implements PlainTable {
    private readonly table: InstanceType<typeof Table>
    constructor(head: string[], options: {colWidths?: number[]; wordWrap?: boolean} = {}) {
      // cli-table3 colours headers and borders itself by default (even into a pipe): all colour is ours.
      // Its colWidths include the padding.
      this.table = new Table({
        head,
        style: {head: [], border: [], compact: true, 'padding-left': 0, 'padding-right': 2},
        chars,
        ...(options.colWidths ? {colWidths: options.colWidths.map((w) => w + 2), wordWrap: options.wordWrap ?? false} : {}),
      })
    }
    push(row: string[]): void {
      this.table.push(row)
    }
    /** Trailing padding would end every line in spaces; scripts diffing the output should not see them. */
    render(): string {
      return this.table
        .toString()
        .split('\n')
        .map((line) => line.trimEnd())
        .join('\n')
    }
  }
}

export interface PlainTable {
  push(row: string[]): void
  render(): string
}
