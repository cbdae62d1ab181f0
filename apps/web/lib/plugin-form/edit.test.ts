import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  applyPluginEdit,
  editPluginText,
  issuePath,
  readPluginText,
  settingAt,
  type SettingPath,
} from './edit';

const RATINGS = `# Half of ratings' requests fail.
apiVersion: microservice.slime.io/v1alpha1
kind: PluginManager
metadata: { name: ratings-fault, namespace: default }
spec:
  workloadLabels: { app: ratings }
  plugin:
    - enable: false
      name: envoy.filters.http.fault
      listenerType: Inbound
      port: 9080
      type_url: type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
      inline:
        settings:
          abort:
            http_status: 503 # Service Unavailable
            percentage: { denominator: HUNDRED, numerator: 50 }
    - name: auth
      wasm: { url: oci://registry.example/auth:1.0, settings: { realm: mesh } }
`;

const NUMERATOR: SettingPath = [
  { key: 'abort', jsonName: 'abort' },
  { key: 'percentage', jsonName: 'percentage' },
  { key: 'numerator', jsonName: 'numerator' },
];

describe('readPluginText', () => {
  it('reads every plugin of a PluginManager', () => {
    const r = readPluginText(RATINGS);
    if (!r.ok) throw new Error(r.reason);
    expect(r.kind).toBe('PluginManager');
    expect(r.listPath).toBe('spec.plugin');
    expect(r.entries[0]).toMatchObject({
      name: 'envoy.filters.http.fault',
      enable: false,
      listenerType: 'Inbound',
      port: 9080,
      source: 'inline',
      typeUrl: 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
    });
    expect(settingAt(r.entries[0]!.settings, NUMERATOR)).toBe(50);
    expect(r.entries[1]).toMatchObject({ name: 'auth', source: 'wasm', settings: undefined });
  });

  it('reads an EnvoyPlugin’s plugins, with listener_type as Slime spells it too', () => {
    const r = readPluginText(`kind: EnvoyPlugin
spec:
  plugins: [{ name: envoy.filters.http.cors, listener_type: Gateway }]
`);
    expect(r).toMatchObject({ ok: true, listPath: 'spec.plugins', entries: [{ listenerType: 'Gateway' }] });
  });

  it('says why it cannot show other text', () => {
    expect(readPluginText('a: [')).toMatchObject({ ok: false });
    expect(readPluginText('kind: SmartLimiter')).toMatchObject({ ok: false });
    expect(readPluginText('kind: PluginManager\nspec: { plugin: 3 }')).toMatchObject({ ok: false });
  });
});

describe('editPluginText', () => {
  it('rewrites only the edited setting: comments, flow style and other fields stay', () => {
    const after = editPluginText(RATINGS, { kind: 'setting', index: 0, path: NUMERATOR, value: 25 });
    expect(after).toBe(RATINGS.replace('numerator: 50', 'numerator: 25'));
  });

  it('edits name, enable, listener type and port', () => {
    let t = editPluginText(RATINGS, { kind: 'enable', index: 0, value: true });
    t = editPluginText(t, { kind: 'listenerType', index: 0, value: 'Gateway' });
    t = editPluginText(t, { kind: 'port', index: 0, value: undefined });
    t = editPluginText(t, { kind: 'name', index: 1, value: 'authn' });
    const o = parse(t);
    expect(o.spec.plugin[0]).toMatchObject({ enable: true, listenerType: 'Gateway' });
    expect(o.spec.plugin[0].port).toBeUndefined();
    expect(o.spec.plugin[1]).toEqual({
      name: 'authn',
      wasm: { url: 'oci://registry.example/auth:1.0', settings: { realm: 'mesh' } },
    });
    expect(t).toContain('# Service Unavailable');
  });

  it('writes new settings under their proto names, creating the messages on the way', () => {
    const t = editPluginText(RATINGS, {
      kind: 'setting',
      index: 0,
      path: [
        { key: 'delay', jsonName: 'delay' },
        { key: 'fixed_delay', jsonName: 'fixedDelay' },
      ],
      value: '1s',
    });
    expect(parse(t).spec.plugin[0].inline.settings.delay).toEqual({ fixed_delay: '1s' });
  });

  it('keeps the author’s lowerCamel spelling and drops the other spelling', () => {
    const written = {
      kind: 'PluginManager',
      spec: { plugin: [{ name: 'f', inline: { settings: { abort: { httpStatus: 503 } } } }] },
    };
    const path: SettingPath = [
      { key: 'abort', jsonName: 'abort' },
      { key: 'http_status', jsonName: 'httpStatus' },
    ];
    expect(applyPluginEdit(written, { kind: 'setting', index: 0, path, value: 429 }).spec).toEqual({
      plugin: [{ name: 'f', inline: { settings: { abort: { httpStatus: 429 } } } }],
    });
    expect(written.spec.plugin[0]!.inline.settings.abort.httpStatus).toBe(503);
  });

  it('unsets a field or a whole message ("set" off), and never adds settings just to remove one', () => {
    const path: SettingPath = [{ key: 'abort', jsonName: 'abort' }];
    let t = editPluginText(RATINGS, { kind: 'setting', index: 0, path, value: undefined });
    expect(parse(t).spec.plugin[0].inline).toEqual({ settings: {} });
    t = editPluginText(t, { kind: 'setting', index: 0, path, value: {} });
    expect(parse(t).spec.plugin[0].inline).toEqual({ settings: { abort: {} } });
    const wasm = editPluginText(RATINGS, { kind: 'setting', index: 1, path: NUMERATOR, value: undefined });
    expect(wasm).toBe(RATINGS);
  });

  it('adds and removes plugins; an edit of a plugin that is not there changes nothing', () => {
    const added = editPluginText(RATINGS, { kind: 'addPlugin', name: 'envoy.filters.http.cors' });
    expect(parse(added).spec.plugin[2]).toEqual({
      name: 'envoy.filters.http.cors',
      enable: true,
      inline: { settings: {} },
    });
    const removed = parse(editPluginText(RATINGS, { kind: 'removePlugin', index: 0 }));
    expect(removed.spec.plugin.map((p: { name: string }) => p.name)).toEqual(['auth']);
    expect(editPluginText(RATINGS, { kind: 'port', index: 5, value: 1 })).toBe(RATINGS);
  });
});

describe('issuePath', () => {
  it('names a setting as the live check does, with the keys as written', () => {
    expect(
      issuePath('spec.plugin', 0, { abort: { httpStatus: 1 } }, [
        { key: 'abort', jsonName: 'abort' },
        { key: 'http_status', jsonName: 'httpStatus' },
      ]),
    ).toBe('spec.plugin[0].inline.settings.abort.httpStatus');
    expect(issuePath('spec.plugins', 2, undefined, NUMERATOR)).toBe(
      'spec.plugins[2].inline.settings.abort.percentage.numerator',
    );
  });
});
