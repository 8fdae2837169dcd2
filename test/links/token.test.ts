// Approval link tokens: round trip, tampering, wrong secret, expiry, malformed input (the nonce store: store.test.ts).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { linkNonce, linkUrl, signLink, verifyLink, type LinkClaims } from '../../api/links/token.ts';

const SECRET = 'test-secret-0123456789abcdef';
const claims = (over: Partial<LinkClaims> = {}): LinkClaims => ({
  workflowId: 'onboarding-abc',
  stepId: 'etsApproval',
  approver: 'edith',
  exp: Math.floor(Date.now() / 1000) + 3600,
  nonce: linkNonce('onboarding-abc/3', 'edith', 'etsApproval'),
  ...over,
});

describe('approval link tokens', () => {
  it('round-trips the claims and stays compact and URL-safe', () => {
    const c = claims();
    const token = signLink(c, SECRET);
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    assert.ok(token.length < 200, `token length ${token.length}`);
    assert.deepEqual(verifyLink(token, SECRET), { ok: true, claims: c, expired: false });
    assert.equal(linkUrl('https://wf.example.org/', token), `https://wf.example.org/approve/${token}`);
  });

  it('refuses a tampered payload or signature, and another secret', () => {
    const token = signLink(claims(), SECRET);
    const [payload, sig] = token.split('.') as [string, string];
    const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), a: 'mallory' })).toString('base64url');
    assert.deepEqual(verifyLink(`${forged}.${sig}`, SECRET), { ok: false, reason: 'bad-signature' });
    const flipped = sig.slice(0, -2) + (sig.at(-2) === 'A' ? 'B' : 'A') + sig.at(-1);
    assert.deepEqual(verifyLink(`${payload}.${flipped}`, SECRET), { ok: false, reason: 'bad-signature' });
    assert.deepEqual(verifyLink(token, 'another-secret-0123456789'), { ok: false, reason: 'bad-signature' });
    // Every other last character, padding bits included: one signature has one spelling.
    for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.replace(sig.at(-1)!, '')) {
      assert.deepEqual(verifyLink(`${payload}.${sig.slice(0, -1)}${c}`, SECRET), { ok: false, reason: 'bad-signature' }, c);
    }
    for (const bad of ['', 'abc', `${payload}.`, `${payload}.${sig}x`, `${payload}.${sig}.x`, '../../etc/passwd']) {
      assert.equal(verifyLink(bad, SECRET).ok, false, bad);
    }
  });

  it('reports expiry (the approval deadline) while still verifying the signature', () => {
    const token = signLink(claims({ exp: Math.floor(Date.now() / 1000) - 1 }), SECRET);
    const r = verifyLink(token, SECRET);
    assert.ok(r.ok && r.expired);
    const fresh = signLink(claims({ exp: 2_000_000_000 }), SECRET);
    assert.ok(verifyLink(fresh, SECRET, 2_000_000_000 * 1000 - 1).ok);
    const at = verifyLink(fresh, SECRET, 2_000_000_000 * 1000);
    assert.ok(at.ok && at.expired, 'expired exactly at exp');
  });

  it('derives one nonce per notice and approver', () => {
    assert.equal(linkNonce('wf/1', 'edith', 's'), linkNonce('wf/1', 'edith', 's'));
    assert.notEqual(linkNonce('wf/1', 'edith', 's'), linkNonce('wf/2', 'edith', 's'));
    assert.notEqual(linkNonce('wf/1', 'edith', 's'), linkNonce('wf/1', 'grace', 's'));
  });
});
