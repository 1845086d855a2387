#!/usr/bin/env node
// Runs the compiled commands like bin/run.js, but in development mode (full stack traces, no manifest
// cache). Build first: `npm run build`.
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
