#!/usr/bin/env node
// The entry point. V8 flags that bound start-up memory (memory/boot.ts) must be set before the rest
// of the program is even parsed: loading ~300 modules grew V8's new space to 16 MiB before the
// first of them ran. So this file imports boot first and the command line (cli-main.ts) after it.
import './memory/boot.js';

await import('./cli-main.js');
