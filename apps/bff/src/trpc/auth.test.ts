import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { allows, Auth, AuthError } from './auth';

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
    const hashed = createHash('sha256').update('ops-token-0123456789').digest('hex');
    writeFileSync(
      file,
      `users:\n  - { name: ada, role: editor, namespaces: [default], token: ada-token-0123456789 }\n  - { name: ops, role: viewer, tokenSha256: ${hashed} }\n`,
    );
    const auth = new Auth({ usersFile: file });
    expect(auth.authenticate('ada-token-0123456789')).toEqual({
      name: 'ada',
      role: 'editor',
      namespaces: ['default'],
    });
    expect(auth.authenticate('ops-token-0123456789')).toEqual({
      name: 'ops',
      role: 'viewer',
      namespaces: '*',
    });
    writeFileSync(file, 'users:\n  - { name: eve, role: root, token: eve-token-0123456789 }\n');
    expect(() => new Auth({ usersFile: file })).toThrow(AuthError);
    expect(() => new Auth({ usersFile: file })).toThrow(/users\.0\.role/);
    writeFileSync(file, 'users:\n  - { name: eve, role: viewer, token: short }\n');
    expect(() => new Auth({ usersFile: file })).toThrow(/at least 16/);
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

  it('ranks roles within namespaces', () => {
    const editor = { name: 'e', role: 'editor' as const, namespaces: ['a'] };
    expect(allows(editor, 'viewer', 'a')).toBe(true);
    expect(allows(editor, 'editor', 'a')).toBe(true);
    expect(allows(editor, 'editor', 'b')).toBe(false);
    expect(allows(editor, 'admin', 'a')).toBe(false);
    expect(allows({ name: 'x', role: 'admin', namespaces: '*' }, 'editor', 'anything')).toBe(true);
  });
});
