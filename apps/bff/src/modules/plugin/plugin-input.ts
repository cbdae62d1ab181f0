/**
 * A PluginManager or EnvoyPlugin as the editor sends it (YAML text or an object): its kind, the object as
 * written, and where each field path is in the YAML, so that every issue points at a line and column.
 */
import { objectInputSchema, readObjectInput, type ObjectInput, type ReadObject } from '../../api/edits';
import { PLUGIN_KINDS, type PluginKind } from './service';

export { MAX_OBJECT_BYTES as MAX_PLUGIN_BYTES, warningIssue } from '../../api/edits';

export const pluginInputSchema = objectInputSchema;
export type PluginInput = ObjectInput;
export type ReadInput = ReadObject<PluginKind>;

export const readPluginInput = (input: PluginInput): ReadInput => readObjectInput(input, PLUGIN_KINDS);
