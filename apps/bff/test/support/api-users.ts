/** Users of the API for the tests that call it over HTTP, as clients do. */
import type { DemoBffOptions } from './demo-bff';

/** Bearer tokens of the two users of {@link EDITOR_AND_VIEWER}. */
export const EDITOR_TOKEN = 'editor-token-0123456789';
export const VIEWER_TOKEN = 'viewer-token-0123456789';
/** The one browser origin {@link EDITOR_AND_VIEWER} allows. */
export const ORIGIN = 'http://127.0.0.1:3999';

/** An editor of `default` and a viewer of every namespace, calling from {@link ORIGIN}. */
export const EDITOR_AND_VIEWER = {
  users: [
    { name: 'ed', role: 'editor', namespaces: ['default'], token: EDITOR_TOKEN },
    { name: 'vic', role: 'viewer', namespaces: '*', token: VIEWER_TOKEN },
  ],
  allowedOrigins: [ORIGIN],
} satisfies DemoBffOptions;
