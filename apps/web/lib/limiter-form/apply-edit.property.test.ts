import {
  actionNode,
  BASE_SET,
  descriptorNode,
  matcherNode,
  parseSmartLimiter,
  smartLimiterSpecNode,
  STRATEGIES,
  type Duration,
  type ObjectNode,
} from '@governor/crd-types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyEdit, type FormEdit } from './apply-edit';
import { CLUSTERS_ANNOTATION, type ClusterChoice } from './clusters';
import {
  integer,
  readLimiterForm,
  SHADOW_ANNOTATION,
  type LimiterForm,
  type LimitForm,
  type LimitRef,
} from './form-state';
import { cloneJson, isJsonObject, type JsonObject, type JsonValue } from './json';
import { writtenLimiter } from './limiter-arbitrary';
import { readField, spellingsOf, type FieldName } from './spelling';
import { limiterParts } from './structure';

const formOf = (o: JsonObject): LimiterForm => {
  const r = readLimiterForm(o);
  if (!r.ok) throw new Error(r.reason);
  return r.form;
};

const sameRef = (a: LimitRef, b: LimitRef) => a.set === b.set && a.index === b.index;

/** The written limits, in order, with their sets. */
function limitsOf(o: JsonObject): { at: LimitRef; descriptor: JsonObject }[] {
  const r = limiterParts(o);
  if (!r.ok) throw new Error(r.reason);
  return r.parts.limits.map((l) => ({ at: l.at, descriptor: l.descriptor }));
}
const descriptorAt = (o: JsonObject, at: LimitRef): JsonObject | undefined =>
  limitsOf(o).find((l) => sameRef(l.at, at))?.descriptor;
const setsOf = (o: JsonObject): JsonObject => {
  const sets = isJsonObject(o.spec) ? readField(smartLimiterSpecNode, o.spec, 'sets') : undefined;
  return isJsonObject(sets) ? sets : {};
};
const without = (o: JsonObject, keys: readonly string[]): JsonObject =>
  Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));

const dnsName = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/);
const setName = fc.oneof(fc.constantFrom(BASE_SET, 'v1', 'v2'), fc.stringMatching(/^[a-z][a-z0-9-]{0,6}$/));
const port = fc.integer({ min: 0, max: 65_535 });
const duration: fc.Arbitrary<Duration> = fc
  .tuple(
    fc.integer({ min: 0, max: 86_400 }),
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 999_999_999 })),
  )
  .map(([seconds, nanos]) => (nanos === 0 ? { seconds } : { seconds, nanos }));

const clusterChoice: fc.Arbitrary<ClusterChoice> = fc.oneof(
  fc.constant({ mode: 'here' as const }),
  fc.constant({ mode: 'all' as const }),
  fc
    .uniqueArray(fc.oneof(fc.constantFrom('east', 'west'), dnsName), { maxLength: 3 })
    .map((names) => ({ mode: 'some' as const, names })),
);

type EditKind = FormEdit['kind'];
const ONE_FIELD_EDITS: readonly EditKind[] = [
  'name',
  'namespace',
  'shadow',
  'clusters',
  'quota',
  'fillInterval',
  'strategy',
  'condition',
  'port',
  'headerName',
  'headerValue',
  'headerInvert',
];

/** The edits of the given kinds the form can make of a policy (a policy without limits has no limit edits). */
function editOf(form: LimiterForm, kinds: readonly EditKind[]): fc.Arbitrary<FormEdit> {
  const text = fc.string({ maxLength: 20 });
  const refs = form.limits.map((l) => l.at);
  const limitEdit = <V>(value: fc.Arbitrary<V>, make: (at: LimitRef, v: V) => FormEdit) =>
    refs.length === 0 ? undefined : fc.tuple(fc.constantFrom(...refs), value).map(([a, v]) => make(a, v));
  const byKind: Record<EditKind, fc.Arbitrary<FormEdit> | undefined> = {
    name: dnsName.map((value) => ({ kind: 'name', value })),
    namespace: fc.constantFrom('default', 'bookinfo', '').map((value) => ({ kind: 'namespace', value })),
    shadow: fc.boolean().map((value) => ({ kind: 'shadow', value })),
    clusters: clusterChoice.map((value) => ({ kind: 'clusters', value })),
    addLimit: port.map((p) => ({ kind: 'addLimit', port: p })),
    set: limitEdit(setName, (a, value) => ({ kind: 'set', at: a, value })),
    quota: limitEdit(text, (a, value) => ({ kind: 'quota', at: a, value })),
    fillInterval: limitEdit(duration, (a, value) => ({ kind: 'fillInterval', at: a, value })),
    strategy: limitEdit(fc.constantFrom(...STRATEGIES), (a, value) => ({ kind: 'strategy', at: a, value })),
    condition: limitEdit(text, (a, value) => ({ kind: 'condition', at: a, value })),
    port: limitEdit(fc.option(port, { nil: undefined }), (a, value) => ({ kind: 'port', at: a, value })),
    headerName: limitEdit(fc.oneof(fc.constant(''), text), (a, value) => ({
      kind: 'headerName',
      at: a,
      value,
    })),
    headerValue: limitEdit(fc.oneof(fc.constant(''), text), (a, value) => ({
      kind: 'headerValue',
      at: a,
      value,
    })),
    headerInvert: limitEdit(fc.boolean(), (a, value) => ({ kind: 'headerInvert', at: a, value })),
    removeLimit: limitEdit(fc.constant(null), (a) => ({ kind: 'removeLimit', at: a })),
  };
  const available = kinds.flatMap((k) => byKind[k] ?? []);
  return available.length > 0 ? fc.oneof(...available) : fc.constant({ kind: 'shadow', value: false });
}

const withLimits = writtenLimiter.filter((w) => formOf(w).limits.length > 0);
const policyAndEdit = (policies: fc.Arbitrary<JsonObject>, kinds: readonly EditKind[]) =>
  policies.chain((w) => editOf(formOf(w), kinds).map((edit) => ({ w, edit })));

/** The one matcher the form edits, if a limit has exactly one. */
function soleMatcher(d: JsonObject | undefined): JsonObject | undefined {
  const match = d ? readField(descriptorNode, d, 'match') : undefined;
  return Array.isArray(match) && match.length === 1 && isJsonObject(match[0]) ? match[0] : undefined;
}

/** What the form should show after an edit of one field: the same, with that field as edited. */
function expectedForm(before: LimiterForm, edit: FormEdit, w: JsonObject): LimiterForm {
  const limit = (change: (l: LimitForm) => LimitForm) => ({
    ...before,
    limits: before.limits.map((l) => ('at' in edit && sameRef(l.at, edit.at) ? change(l) : l)),
  });
  switch (edit.kind) {
    case 'name':
    case 'namespace':
    case 'shadow':
    case 'clusters':
      return { ...before, [edit.kind]: edit.value };
    case 'quota':
    case 'fillInterval':
    case 'strategy':
    case 'condition':
    case 'port':
      return limit((l) => ({ ...l, [edit.kind]: edit.value }));
    case 'headerName':
      return limit((l) => ({ ...l, header: l.header && { ...l.header, name: edit.value } }));
    case 'headerValue':
      return limit((l) => ({ ...l, header: l.header && { ...l.header, value: edit.value } }));
    case 'headerInvert':
      // Inverting needs a matcher to invert: with none, there is nothing to change.
      return limit((l) => ({
        ...l,
        header:
          l.header && (soleMatcher(descriptorAt(w, l.at)) ? { ...l.header, invert: edit.value } : l.header),
      }));
    default:
      throw new Error(`not a one-field edit: ${edit.kind}`);
  }
}

/** The object without the field an edit changes: what must be exactly as it was. */
function withoutEdited(o: JsonObject, edit: FormEdit): JsonObject {
  const c = cloneJson(o);
  const metadata = isJsonObject(c.metadata) ? c.metadata : {};
  const d = 'at' in edit ? descriptorAt(c, edit.at) : undefined;
  const action = d && readField(descriptorNode, d, 'action');
  const drop = (from: JsonObject | undefined | JsonValue, keys: readonly string[]) => {
    if (isJsonObject(from)) for (const k of keys) delete from[k];
  };
  switch (edit.kind) {
    case 'name':
    case 'namespace':
      delete metadata[edit.kind];
      break;
    case 'shadow':
    case 'clusters': {
      const a = metadata.annotations;
      if (isJsonObject(a)) delete a[edit.kind === 'shadow' ? SHADOW_ANNOTATION : CLUSTERS_ANNOTATION];
      if (a === null || (isJsonObject(a) && Object.keys(a).length === 0)) delete metadata.annotations;
      break;
    }
    case 'quota':
    case 'strategy':
    case 'fillInterval':
      drop(action, spellingsOf(actionNode, edit.kind));
      break;
    case 'condition':
      drop(d, ['condition']);
      break;
    case 'port':
      drop(d, spellingsOf(descriptorNode, 'target'));
      break;
    case 'headerName':
    case 'headerValue':
    case 'headerInvert':
      drop(d, spellingsOf(descriptorNode, 'match'));
      break;
    default:
      throw new Error(`not a one-field edit: ${edit.kind}`);
  }
  return c;
}

/** The keys an object holds a field under: the author's spelling(s) of it. */
function spellingIn<N extends ObjectNode>(node: N, o: JsonValue | undefined, name: FieldName<N>): string[] {
  return isJsonObject(o) ? spellingsOf(node, name).filter((k) => k in o) : [];
}

/** Checks of the edited field itself: kept in its spelling, and the parts of it the form does not show kept. */
function expectFieldKept(before: JsonObject, after: JsonObject, edit: FormEdit): void {
  if (!('at' in edit)) return;
  const b = descriptorAt(before, edit.at);
  const a = descriptorAt(after, edit.at);
  const actionOf = (d: JsonObject | undefined) => d && readField(descriptorNode, d, 'action');
  if (edit.kind === 'quota' || edit.kind === 'strategy' || edit.kind === 'fillInterval') {
    const had = spellingIn(actionNode, actionOf(b), edit.kind);
    if (had.length > 0) expect(spellingIn(actionNode, actionOf(a), edit.kind)).toEqual(had);
  }
  if (edit.kind === 'fillInterval') {
    const fill = (d: JsonObject | undefined) => {
      const action = actionOf(d);
      const v = isJsonObject(action) ? readField(actionNode, action, 'fillInterval') : undefined;
      return isJsonObject(v) ? without(v, ['seconds', 'nanos']) : {};
    };
    expect(fill(a)).toEqual(fill(b));
  }
  if (edit.kind === 'port') {
    // The rest of the target the limit had (its own, or spec.target's) is what it has now.
    const own = a && readField(descriptorNode, a, 'target');
    const specTarget = isJsonObject(before.spec)
      ? readField(smartLimiterSpecNode, before.spec, 'target')
      : undefined;
    const had = (b && readField(descriptorNode, b, 'target')) ?? specTarget ?? {};
    if (isJsonObject(own) && isJsonObject(had))
      expect(without(own, ['port'])).toEqual(without(had, ['port']));
    else expect(own).toEqual(b && readField(descriptorNode, b, 'target'));
  }
  if (edit.kind === 'headerName' || edit.kind === 'headerValue' || edit.kind === 'headerInvert') {
    const field = edit.kind === 'headerValue' ? 'exactMatch' : 'invertMatch';
    const edited = edit.kind === 'headerName' ? ['name'] : spellingsOf(matcherNode, field);
    const mb = soleMatcher(b);
    const ma = soleMatcher(a);
    if (mb && ma) {
      expect(without(ma, edited)).toEqual(without(mb, edited));
      const had = spellingIn(matcherNode, mb, field);
      if (had.length > 0) expect(spellingIn(matcherNode, ma, field)).toEqual(had);
    }
  }
}

const specOutsideSets = (o: JsonObject): JsonObject =>
  without(isJsonObject(o.spec) ? o.spec : {}, spellingsOf(smartLimiterSpecNode, 'sets'));
const descriptorList = (set: JsonValue | undefined): JsonValue[] =>
  isJsonObject(set) && Array.isArray(set.descriptor) ? set.descriptor : [];

describe('applyEdit over generated SmartLimiters', () => {
  it('an edit of one field changes that field and nothing else', () => {
    fc.assert(
      fc.property(policyAndEdit(fc.oneof(writtenLimiter, withLimits), ONE_FIELD_EDITS), ({ w, edit }) => {
        const snapshot = cloneJson(w);
        const after = applyEdit(w, edit);
        expect(w).toEqual(snapshot);
        expect(parseSmartLimiter(after).ok).toBe(true);
        expect(formOf(after)).toEqual(expectedForm(formOf(w), edit, w));
        expect(withoutEdited(after, edit)).toEqual(withoutEdited(w, edit));
        expectFieldKept(w, after, edit);
      }),
      { numRuns: 500 },
    );
  });

  it('moving a limit to another set moves that limit as written, and nothing else', () => {
    fc.assert(
      fc.property(policyAndEdit(withLimits, ['set']), ({ w, edit }) => {
        if (edit.kind !== 'set') throw new Error('a set edit expected');
        const after = applyEdit(w, edit);
        expect(parseSmartLimiter(after).ok).toBe(true);
        expect(without(after, ['spec'])).toEqual(without(w, ['spec']));
        expect(specOutsideSets(after)).toEqual(specOutsideSets(w));
        const [from, to] = [edit.at.set, edit.value];
        const before = setsOf(w);
        const now = setsOf(after);
        for (const s of new Set([...Object.keys(before), ...Object.keys(now)]))
          if (s !== from && s !== to) expect(now[s]).toEqual(before[s]);
        const fromLeft = descriptorList(before[from]).filter((_, i) => i !== edit.at.index);
        if (to === from) {
          expect(after).toEqual(w);
          return;
        }
        if (!(to in before) && fromLeft.length === 0) {
          // A set's only limit: the set is renamed in place, with everything in it.
          expect(now[to]).toEqual(before[from]);
          expect(Object.keys(now)).toEqual(Object.keys(before).map((k) => (k === from ? to : k)));
        } else {
          expect(descriptorList(now[to])).toEqual([...descriptorList(before[to]), descriptorAt(w, edit.at)]);
          if (isJsonObject(before[to]))
            expect(without(now[to] as JsonObject, ['descriptor'])).toEqual(
              without(before[to], ['descriptor']),
            );
          if (from in now)
            expect(now[from]).toEqual({ ...(before[from] as JsonObject), descriptor: fromLeft });
          else expect(without(before[from] as JsonObject, ['descriptor'])).toEqual({});
        }
        const { at: _, ...shown } = formOf(w).limits.find((l) => sameRef(l.at, edit.at))!;
        const { at: __, ...shownNow } = formOf(after)
          .limits.filter((l) => l.at.set === to)
          .at(-1)!;
        expect(shownNow).toEqual(shown);
      }),
      { numRuns: 200 },
    );
  });

  it('adding a limit appends one to _base and leaves every other limit as written', () => {
    fc.assert(
      fc.property(policyAndEdit(writtenLimiter, ['addLimit']), ({ w, edit }) => {
        if (edit.kind !== 'addLimit') throw new Error('an addLimit edit expected');
        const after = applyEdit(w, edit);
        expect(parseSmartLimiter(after).ok).toBe(true);
        expect(without(after, ['spec'])).toEqual(without(w, ['spec']));
        expect(specOutsideSets(after)).toEqual(specOutsideSets(w));
        const others = (o: JsonObject) => limitsOf(o).filter((l) => l.at.set !== BASE_SET);
        expect(others(after)).toEqual(others(w));
        const before = formOf(w).limits;
        const index = before.filter((l) => l.at.set === BASE_SET).length;
        const specTarget = isJsonObject(w.spec)
          ? readField(smartLimiterSpecNode, w.spec, 'target')
          : undefined;
        const now = formOf(after).limits;
        const added = now.find((l) => sameRef(l.at, { set: BASE_SET, index }));
        expect(added).toEqual({
          at: { set: BASE_SET, index },
          quota: '10',
          fillInterval: { seconds: 1 },
          strategy: 'single',
          condition: 'true',
          // A limit added to a policy with a default target takes that target's port.
          port: isJsonObject(specTarget) ? integer(specTarget.port) : edit.port,
          header: { name: '', value: '', invert: false },
        });
        expect(now.filter((l) => l !== added)).toEqual(before);
        const base = (o: JsonObject) => setsOf(o)[BASE_SET];
        expect(descriptorList(base(after)).slice(0, index)).toEqual(descriptorList(base(w)));
        if (isJsonObject(base(w)))
          expect(without(base(after) as JsonObject, ['descriptor'])).toEqual(
            without(base(w) as JsonObject, ['descriptor']),
          );
      }),
      { numRuns: 200 },
    );
  });

  it('removing a limit removes that limit only', () => {
    fc.assert(
      fc.property(policyAndEdit(withLimits, ['removeLimit']), ({ w, edit }) => {
        if (edit.kind !== 'removeLimit') throw new Error('a removeLimit edit expected');
        const after = applyEdit(w, edit);
        expect(parseSmartLimiter(after).ok).toBe(true);
        expect(without(after, ['spec'])).toEqual(without(w, ['spec']));
        expect(specOutsideSets(after)).toEqual(specOutsideSets(w));
        const left = limitsOf(w).filter((l) => !sameRef(l.at, edit.at));
        expect(limitsOf(after).map((l) => l.descriptor)).toEqual(left.map((l) => l.descriptor));
        const before = setsOf(w);
        const now = setsOf(after);
        for (const s of Object.keys(before)) if (s !== edit.at.set) expect(now[s]).toEqual(before[s]);
        expect(formOf(after).limits).toHaveLength(formOf(w).limits.length - 1);
      }),
      { numRuns: 200 },
    );
  });
});
