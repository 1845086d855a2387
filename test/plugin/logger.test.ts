import assert from 'node:assert/strict'
import {describe, test} from 'node:test'

import {stderrLogger} from '../../src/plugin/logger.js'

describe('dot serve logger', () => {
  test('under journald: a <priority> prefix per line, no timestamp', () => {
    const lines: string[] = []
    const logger = stderrLogger('debug', {journal: true, write: (line) => lines.push(line)})
    logger.debug('d')
    logger.info('i')
    logger.warn('w')
    logger.error('e')
    assert.deepEqual(lines, ['<7>d\n', '<6>i\n', '<4>w\n', '<3>e\n'])
  })

  test('elsewhere: ISO timestamp and level; the level filters; one event stays one line', () => {
    const lines: string[] = []
    const logger = stderrLogger('warn', {journal: false, write: (line) => lines.push(line)})
    logger.debug('hidden')
    logger.info('hidden')
    logger.warn('two\nlines')
    logger.error('bad')
    assert.equal(lines.length, 2)
    assert.match(lines[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z warn {2}two \| lines\n$/)
    assert.match(lines[1], /^\S+ error bad\n$/)
  })
})
