import { describe, expect, it } from 'vitest';
import { originForm } from '../../src/proxy/request-target.js';

describe('originForm', () => {
  it('passes origin-form targets through unchanged', () => {
    for (const t of ['/', '/v1/chat/completions', '/echo?%ZZ=%FF', '//double/slash', '/a b']) expect(originForm(t)).toBe(t);
  });
  it('takes the path and query of an http(s) absolute-form target', () => {
    expect(originForm('http://evil.example/v1/models?x=1')).toBe('/v1/models?x=1');
    expect(originForm('HTTPS://evil.example:8443')).toBe('/');
  });
  it('refuses asterisk-form, authority-form and other schemes', () => {
    for (const t of ['*', 'example.com:443', 'v1/models', 'ftp://x/y', 'http://[::1', '']) expect(originForm(t), t).toBeNull();
  });
});
