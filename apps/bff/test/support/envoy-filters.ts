/** EnvoyFilter patches in the shape Slime's plugin module renders them, for tests that write or expect one. */

/** An HTTP filter inserted before the router of the connection managers in `context` (on `port`, if given). */
export const insertBeforeRouter = (
  context: string,
  port: number | undefined,
  value: Record<string, unknown>,
) => ({
  applyTo: 'HTTP_FILTER',
  match: {
    context,
    listener: {
      ...(port !== undefined ? { portNumber: port } : {}),
      filterChain: {
        filter: {
          name: 'envoy.filters.network.http_connection_manager',
          subFilter: { name: 'envoy.filters.http.router' },
        },
      },
    },
  },
  patch: { operation: 'INSERT_BEFORE', value },
});
