#!/usr/bin/env node
console.log('cordon: not yet');
