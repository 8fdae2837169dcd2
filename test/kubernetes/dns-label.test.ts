// dnsLabel: examples and properties (fast-check): always a DNS-1123 label, deterministic, and
// distinct inputs (same number of parts) never give the same label.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dnsLabel, isDnsLabel } from '../../activities/kubernetes/builders/index.ts';

describe('dnsLabel', () => {
  it('keeps an already valid input readable, unchanged', () => {
    assert.equal(dnsLabel('log100', 'ecote'), 'log100-ecote');
    assert.equal(dnsLabel('log100-01', 'ecote'), 'log100-01-ecote');
    assert.equal(dnsLabel('a'), 'a');
  });

  it('strips accents, lowercases, replaces invalid characters, collapses dashes; hashes lossy inputs', () => {
    const label = dnsLabel('LOG100-01', 'Élise  Côté-Ñúñez');
    assert.match(label, /^log100-01-elise-cote-nunez--[a-z0-9]{10}$/);
    assert.notEqual(dnsLabel('log100', 'Élise'), dnsLabel('log100', 'elise'));
    assert.notEqual(dnsLabel('log100', 'a b'), dnsLabel('log100', 'a_b'));
  });

  it('truncates long inputs to 63 characters with a stable hash', () => {
    const long = 'Jean-Sébastien Alexandre-Maximilien de la Tour-Montmorency-Laval';
    const a = dnsLabel('GTI777-02', long);
    const b = dnsLabel('GTI777-02', `${long}e`);
    assert.equal(a.length, 63);
    assert.ok(isDnsLabel(a) && isDnsLabel(b));
    assert.equal(a.slice(0, 40), b.slice(0, 40));
    assert.notEqual(a, b);
    assert.equal(dnsLabel('GTI777-02', long), a);
  });

  it('gives a label for input with no usable character', () => {
    const label = dnsLabel('李', '王');
    assert.ok(isDnsLabel(label), label);
    assert.notEqual(label, dnsLabel('李', '张'));
  });

  it('never lets the dash between parts make two inputs collide', () => {
    assert.notEqual(dnsLabel('a-b', 'c'), dnsLabel('a', 'b-c'));
  });

  const text = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.stringMatching(/^[a-z0-9-]{0,70}$/),
    fc.constantFrom('Élise', 'elise', 'ÉLISE', 'e-lise', 'é', 'e', '', '-', 'Ω', 'x'.repeat(63), 'x'.repeat(64)),
  );

  it('property: always a valid DNS-1123 label, and deterministic', () => {
    fc.assert(
      fc.property(fc.array(text, { minLength: 1, maxLength: 3 }), (parts) => {
        const label = dnsLabel(...parts);
        assert.ok(isDnsLabel(label), `${JSON.stringify(parts)} -> ${label}`);
        assert.equal(dnsLabel(...parts), label);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: distinct (course, student) inputs give distinct labels (large sample)', () => {
    const seen = new Map<string, string>();
    fc.assert(
      fc.property(text, text, (course, student) => {
        const key = JSON.stringify([course, student]);
        const label = dnsLabel(course, student);
        const before = seen.get(label);
        assert.ok(before === undefined || before === key, `${before} and ${key} both give ${label}`);
        seen.set(label, key);
      }),
      { numRuns: 20_000 },
    );
    assert.ok(seen.size > 10_000);
  });
});
