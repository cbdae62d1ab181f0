import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { allows, Auth, AuthError, LoginThrottle, MAX_SESSIONS_PER_USER } from './auth';

describe('Auth', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'governor-auth-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('creates an admin token once, keeps only its hash (mode 600), and knows it after a restart', () => {
    const d = dir();
    const shown: string[] = [];
    new Auth({ dataDir: d, onAdminTokenCreated: (t) => shown.push(t) });
    expect(shown).toHaveLength(1);
    // gov_ and 24 random bytes in base64url: 36 characters.
    expect(shown[0]).toMatch(/^gov_[A-Za-z0-9_-]{32}$/);
    const file = join(d, 'auth.json');
    expect(readFileSync(file, 'utf8')).not.toContain(shown[0]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = new Auth({ dataDir: d, onAdminTokenCreated: (t) => shown.push(t) });
    expect(shown).toHaveLength(1);
    expect(again.authenticate(shown[0]!)).toMatchObject({ name: 'admin', role: 'admin', namespaces: '*' });
    expect(again.authenticate('gov_wrong')).toBeNull();
  });

  it('reads users with plain or hashed tokens from a file, and names what is wrong in a bad one', () => {
    const d = dir();
    const file = join(d, 'users.yaml');
    const hashed = createHash('sha256').update('ops-token-0123456789-0123456789-01').digest('hex');
    writeFileSync(
      file,
      `users:\n  - { name: ada, role: editor, namespaces: [default], token: ada-token-0123456789-0123456789-01 }\n  - { name: ops, role: viewer, tokenSha256: ${hashed} }\n`,
    );
    const auth = new Auth({ usersFile: file });
    expect(auth.authenticate('ada-token-0123456789-0123456789-01')).toEqual({
      name: 'ada',
      role: 'editor',
      namespaces: ['default'],
    });
    expect(auth.authenticate('ops-token-0123456789-0123456789-01')).toEqual({
      name: 'ops',
      role: 'viewer',
      namespaces: '*',
    });
    writeFileSync(file, 'users:\n  - { name: eve, role: root, token: eve-token-0123456789-0123456789-01 }\n');
    expect(() => new Auth({ usersFile: file })).toThrow(AuthError);
    expect(() => new Auth({ usersFile: file })).toThrow(/users\.0\.role/);
    // 31 characters: refused, with the length needed.
    writeFileSync(file, 'users:\n  - { name: eve, role: viewer, token: t123456789012345678901234567890 }\n');
    expect(() => new Auth({ usersFile: file })).toThrow(/users\.0\.token: tokens are at least 32 characters/);
    writeFileSync(file, 'users:\n  - { name: eve, role: viewer, token: t1234567890123456789012345678901 }\n');
    expect(new Auth({ usersFile: file }).authenticate('t1234567890123456789012345678901')?.name).toBe('eve');
  });

  it('sessions expire; logout ends one', () => {
    let now = 0;
    const auth = new Auth({
      sessionTtlMs: 1000,
      now: () => now,
      users: [{ name: 'a', role: 'viewer', namespaces: '*', token: 'viewer-token-0123456789' }],
    });
    const s = auth.login('viewer-token-0123456789')!;
    expect(auth.session(s.sessionId)?.name).toBe('a');
    now = 999;
    expect(auth.session(s.sessionId)).not.toBeNull();
    now = 1000;
    expect(auth.session(s.sessionId)).toBeNull();
    const t = auth.login('viewer-token-0123456789')!;
    auth.logout(t.sessionId);
    expect(auth.session(t.sessionId)).toBeNull();
    expect(auth.login('nope')).toBeNull();
  });

  describe('LoginThrottle', () => {
    it('refuses an address after its failures until the window ends, then counts afresh', () => {
      let now = 1_000_000;
      const t = new LoginThrottle({ perSource: 3, windowMs: 60_000 }, () => now);
      for (let i = 0; i < 3; i++) {
        expect(t.admit('10.0.0.1')).toBeNull();
        t.failed('10.0.0.1');
      }
      now += 10_000;
      expect(t.admit('10.0.0.1')).toBe(50_000);
      expect(t.admit('10.0.0.2')).toBeNull();
      expect(t.drain()).toEqual([]);
      now += 50_000;
      expect(t.admit('10.0.0.1')).toBeNull();
      expect(t.drain()).toEqual([
        { source: '10.0.0.1', failed: 3, refused: 1, from: 1_000_000, to: 1_060_000 },
      ]);
      expect(t.tracked).toBe(0);
    });

    it('past the global limit refuses addresses that have not logged in lately, and holds a bounded table', () => {
      let now = 0;
      const t = new LoginThrottle(
        { perSource: 5, global: 50, windowMs: 60_000, trustForMs: 3600_000 },
        () => now,
      );
      t.succeeded('10.0.0.250');
      // An attack from many addresses, each staying under its own limit.
      let refused = 0;
      for (let a = 1; a <= 200; a++)
        for (let i = 0; i < 4; i++) {
          if (t.admit(`10.0.${a}.1`) !== null) refused++;
          else t.failed(`10.0.${a}.1`);
        }
      expect(800 - refused).toBe(50);
      expect(t.tracked).toBeLessThanOrEqual(50);
      // Someone who logged in before still may; a newcomer waits for the window's end.
      expect(t.admit('10.0.0.250')).toBeNull();
      expect(t.admit('10.9.9.9')).toBe(60_000);
      now = 60_000;
      expect(t.admit('10.9.9.9')).toBeNull();
      const windows = t.drain();
      // One summary per counted address, one for all the others refused unchecked.
      expect(windows).toHaveLength(13 + 1);
      expect(windows.reduce((n, w) => n + w.failed, 0)).toBe(50);
      expect(windows.reduce((n, w) => n + w.refused, 0)).toBe(refused + 1);
      expect(windows.at(-1)).toMatchObject({ source: null, failed: 0 });
    });
  });

  it('keeps at most 100 sessions per token, dropping the oldest', () => {
    const auth = new Auth({
      users: [{ name: 'a', role: 'viewer', namespaces: '*', token: 'viewer-token-0123456789-0123456789' }],
    });
    const ids = Array.from(
      { length: 150 },
      () => auth.login('viewer-token-0123456789-0123456789')!.sessionId,
    );
    expect(ids.filter((id) => auth.session(id) !== null)).toEqual(ids.slice(50));
    expect(MAX_SESSIONS_PER_USER).toBe(100);
  });

  it('ranks roles within namespaces', () => {
    const editor = { name: 'e', role: 'editor' as const, namespaces: ['a'] };
    expect(allows(editor, 'viewer', 'a')).toBe(true);
    expect(allows(editor, 'editor', 'a')).toBe(true);
    expect(allows(editor, 'editor', 'b')).toBe(false);
    expect(allows(editor, 'admin', 'a')).toBe(false);
    expect(allows({ name: 'x', role: 'admin', namespaces: '*' }, 'editor', 'anything')).toBe(true);
  });
});
