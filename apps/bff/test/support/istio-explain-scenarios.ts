/**
 * Meshes and EnvoyFilters beyond Slime's examples, for checking Governor's explanation of where patches
 * land against istiod: each match field (context, listener port and name, filter chain name, destination
 * port, transport and application protocols, filter and sub-filter, route configuration port and name,
 * virtual host name and domain, route name and action, cluster service, subset and port, proxy version),
 * each operation, a root-namespace EnvoyFilter, a sniffed and a TCP port, and a gateway behind a Service
 * that maps its ports.
 */

/** A sidecar's mesh: HTTP, gRPC, sniffed and TCP ports, a ServiceEntry, a VirtualService, subsets. */
export const SIDECAR_MESH = `
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}, {name: grpc-admin, port: 7070, targetPort: 7070}, {port: 8000, targetPort: 8001}, {name: tcp-db, port: 5432, targetPort: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: default}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: other}
spec:
  selector: {app: web}
  ports: [{name: http-web, port: 80, targetPort: 8080, appProtocol: http}]
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-1, namespace: default, labels: {app: reviews, version: v1}}
spec: {containers: [{name: reviews, image: x}]}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: ratings-1, namespace: default, labels: {app: ratings}}
spec: {containers: [{name: ratings, image: x}]}
status: {phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: other, labels: {app: web}}
spec: {containers: [{name: web, image: x}]}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings, namespace: default}
spec:
  hosts: [ratings]
  http:
  - name: v1
    match: [{name: jason, headers: {end-user: {exact: jason}}}, {uri: {prefix: /a}}]
    route: [{destination: {host: ratings}}]
  - match: [{uri: {prefix: /old}}]
    redirect: {uri: /new}
  - route: [{destination: {host: ratings}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews.default.svc.cluster.local
  subsets: [{name: v1, labels: {version: v1}}]
`;

/** Patches of every kind and most match fields, for the Pod `default/reviews-1`. */
export const SIDECAR_FILTERS = `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: all, namespace: default}
spec:
  workloadSelector: {labels: {app: reviews}}
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, listener: {portNumber: 9080, filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.router}}}}}
    patch: {operation: INSERT_BEFORE, value: {name: a.filter}}
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, listener: {filterChain: {transportProtocol: tls, filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch: {operation: INSERT_FIRST, value: {name: b.filter}}
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, listener: {filterChain: {destinationPort: 8001, filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.cors}}}}}
    patch: {operation: INSERT_AFTER, value: {name: c.filter}}
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_OUTBOUND, listener: {portNumber: 80, filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.router}}}}}
    patch: {operation: INSERT_BEFORE, value: {name: d.filter}}
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_OUTBOUND, listener: {name: 0.0.0.0_7070, filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.fault}}}}}
    patch: {operation: REMOVE}
  - applyTo: HTTP_FILTER
    match: {context: ANY, listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: a.filter}}}}}
    patch: {operation: REPLACE, value: {name: a2.filter}}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {vhost: {name: ratings.default.svc.cluster.local:9080, route: {name: v1.jason}}}}
    patch: {operation: MERGE, value: {route: {timeout: 3s}}}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {vhost: {name: ratings.default.svc.cluster.local:9080, route: {action: REDIRECT}}}}
    patch: {operation: MERGE, value: {decorator: {operation: xx}}}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {portNumber: 9080, vhost: {route: {action: ROUTE}}}}
    patch: {operation: MERGE, value: {decorator: {operation: yy}}}
  - applyTo: VIRTUAL_HOST
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {vhost: {domainName: api.example.com}}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: vh, value: v}}]}}
  - applyTo: ROUTE_CONFIGURATION
    match: {context: SIDECAR_INBOUND, routeConfiguration: {portNumber: 8001}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: rc, value: v}}]}}
  - applyTo: ROUTE_CONFIGURATION
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {name: "80"}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: rc, value: v}}]}}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_INBOUND, routeConfiguration: {vhost: {name: "inbound|http|8000"}}}
    patch: {operation: INSERT_FIRST, value: {name: first, match: {prefix: /}, direct_response: {status: 200}}}
  - applyTo: NETWORK_FILTER
    match: {context: SIDECAR_INBOUND, listener: {portNumber: 5432, filterChain: {filter: {name: envoy.filters.network.tcp_proxy}}}}
    patch: {operation: INSERT_BEFORE, value: {name: e.filter, typed_config: {"@type": type.googleapis.com/udpa.type.v1.TypedStruct, type_url: x}}}
  - applyTo: FILTER_CHAIN
    match: {context: SIDECAR_OUTBOUND, listener: {portNumber: 9080}}
    patch: {operation: MERGE, value: {transport_socket_connect_timeout: 3s}}
  - applyTo: LISTENER
    match: {context: SIDECAR_OUTBOUND, listener: {portNumber: 5432}}
    patch: {operation: MERGE, value: {per_connection_buffer_limit_bytes: 1024}}
  - applyTo: LISTENER
    match: {context: SIDECAR_INBOUND}
    patch: {operation: MERGE, value: {per_connection_buffer_limit_bytes: 1024}}
  - applyTo: CLUSTER
    match: {context: SIDECAR_OUTBOUND, cluster: {service: reviews.default.svc.cluster.local, subset: v1}}
    patch: {operation: MERGE, value: {connect_timeout: 3s}}
  - applyTo: CLUSTER
    match: {context: SIDECAR_INBOUND, cluster: {portNumber: 9080}}
    patch: {operation: MERGE, value: {connect_timeout: 3s}}
  - applyTo: CLUSTER
    match: {context: SIDECAR_OUTBOUND}
    patch: {operation: ADD, value: {name: my-cluster, type: STATIC, connect_timeout: 1s}}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {vhost: {route: {name: v1}}}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: v1, value: v}}]}}
`;

/** Destructive and ordered operations, a root-namespace EnvoyFilter and proxy versions. */
export const SIDECAR_OPERATIONS = `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: root, namespace: istio-system}
spec:
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: ANY, listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.cors}}}}}
    patch: {operation: MERGE, value: {name: envoy.filters.http.cors, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}}}
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, proxy: {proxyVersion: '^1\\.2[0-9].*'}, listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch: {operation: ADD, value: {name: old.filter}}
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_INBOUND, proxy: {proxyVersion: '^1\\.3.*'}, listener: {portNumber: 9080, filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch: {operation: ADD, value: {name: new.filter}}
---
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ops, namespace: default}
spec:
  workloadSelector: {labels: {app: reviews}}
  configPatches:
  - applyTo: NETWORK_FILTER
    match: {context: SIDECAR_INBOUND, listener: {filterChain: {name: virtualInbound, filter: {name: istio.metadata_exchange}}}}
    patch: {operation: REMOVE}
  - applyTo: NETWORK_FILTER
    match: {context: SIDECAR_OUTBOUND, listener: {portNumber: 15001, filterChain: {filter: {name: envoy.filters.network.tcp_proxy}}}}
    patch: {operation: INSERT_FIRST, value: {name: first.net}}
  - applyTo: FILTER_CHAIN
    match: {context: SIDECAR_OUTBOUND, listener: {name: virtualOutbound}}
    patch: {operation: ADD, value: {name: added-chain, filter_chain_match: {destination_port: 1234}, filters: [{name: envoy.filters.network.tcp_proxy, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: x, cluster: BlackHoleCluster}}]}}
  - applyTo: LISTENER
    match: {context: SIDECAR_OUTBOUND}
    patch: {operation: ADD, value: {name: new-listener, address: {socket_address: {address: 0.0.0.0, port_value: 7777}}}}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {vhost: {name: allow_any}}}
    patch: {operation: REMOVE}
  - applyTo: VIRTUAL_HOST
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {portNumber: 8000, vhost: {name: reviews.default.svc.cluster.local:8000}}}
    patch: {operation: REMOVE}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_INBOUND, routeConfiguration: {vhost: {route: {name: default}}}}
    patch: {operation: INSERT_BEFORE, value: {name: before-default, match: {prefix: /b}, direct_response: {status: 201}}}
  - applyTo: LISTENER_FILTER
    match: {context: SIDECAR_INBOUND, listener: {portNumber: 15006, listenerFilter: envoy.filters.listener.tls_inspector}}
    patch: {operation: INSERT_AFTER, value: {name: my.listener.filter}}
  - applyTo: HTTP_FILTER
    match: {context: SIDECAR_OUTBOUND, listener: {filterChain: {applicationProtocols: "http/1.1,h2c", filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: istio.alpn}}}}}
    patch: {operation: REMOVE}
  - applyTo: CLUSTER
    match: {context: SIDECAR_INBOUND, cluster: {service: reviews.default.svc.cluster.local}}
    patch: {operation: MERGE, value: {connect_timeout: 4s}}
  - applyTo: CLUSTER
    match: {context: ANY, cluster: {name: BlackHoleCluster}}
    patch: {operation: MERGE, value: {connect_timeout: 4s}}
  - applyTo: EXTENSION_CONFIG
    patch: {operation: ADD, value: {name: ext-cfg, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors}}}
`;

/** A gateway Pod behind a Service mapping 80 to 8080, two Gateways, VirtualServices bound to one. */
export const GATEWAY_MESH = `
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: ingress, namespace: gw}
spec:
  selector: {istio: ingress}
  ports: [{name: http, port: 80, targetPort: 8080}, {name: https, port: 443, targetPort: 8443}]
---
apiVersion: v1
kind: Pod
metadata: {name: gw-1, namespace: gw, labels: {istio: ingress}}
spec: {containers: [{name: istio-proxy, image: x}]}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: main, namespace: gw}
spec:
  selector: {istio: ingress}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: [a.test.com, "*.wild.com"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: empty, namespace: gw}
spec:
  selector: {istio: ingress}
  servers:
  - port: {number: 9000, name: http-empty, protocol: HTTP}
    hosts: [nothing.test.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: gw}
spec:
  hosts: [a.test.com]
  gateways: [main]
  http:
  - name: r1
    match: [{uri: {prefix: /r1}}]
    route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
  - route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: wild, namespace: gw}
spec:
  hosts: [x.wild.com]
  gateways: [gw/main]
  http:
  - name: w
    route: [{destination: {host: productpage.default.svc.cluster.local, port: {number: 9080}}}]
`;

/** Patches for the gateway Pod `gw/gw-1`. */
export const GATEWAY_FILTERS = `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: g, namespace: gw}
spec:
  workloadSelector: {labels: {istio: ingress}}
  configPatches:
  - applyTo: HTTP_FILTER
    match: {context: GATEWAY, listener: {portNumber: 8080, filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.router}}}}}
    patch: {operation: INSERT_BEFORE, value: {name: a.filter}}
  - applyTo: HTTP_FILTER
    match: {context: GATEWAY, listener: {portNumber: 80, filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch: {operation: INSERT_FIRST, value: {name: b.filter}}
  - applyTo: HTTP_ROUTE
    match: {context: GATEWAY, routeConfiguration: {portNumber: 80, vhost: {name: a.test.com:80, route: {name: r1}}}}
    patch: {operation: MERGE, value: {decorator: {operation: "r1x"}}}
  - applyTo: HTTP_ROUTE
    match: {context: GATEWAY, routeConfiguration: {portNumber: 8080, vhost: {route: {name: r1}}}}
    patch: {operation: MERGE, value: {decorator: {operation: "r1y"}}}
  - applyTo: HTTP_ROUTE
    match: {context: GATEWAY, routeConfiguration: {vhost: {name: a.test.com:80}}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: all, value: v}}]}}
  - applyTo: VIRTUAL_HOST
    match: {context: GATEWAY, routeConfiguration: {vhost: {name: x.wild.com:80}}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: vh, value: v}}]}}
  - applyTo: VIRTUAL_HOST
    match: {context: GATEWAY, routeConfiguration: {name: http.9000}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: vh, value: v}}]}}
  - applyTo: ROUTE_CONFIGURATION
    match: {context: GATEWAY, routeConfiguration: {portNumber: 80}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: rc, value: v}}]}}
  - applyTo: HTTP_ROUTE
    match: {context: GATEWAY, routeConfiguration: {vhost: {name: a.test.com:80, route: {name: r1}}}}
    patch: {operation: INSERT_AFTER, value: {name: after, match: {prefix: /z}, direct_response: {status: 200}}}
  - applyTo: VIRTUAL_HOST
    match: {context: GATEWAY, routeConfiguration: {portNumber: 80}}
    patch: {operation: ADD, value: {name: added, domains: [added.test.com]}}
  - applyTo: CLUSTER
    match: {context: GATEWAY, cluster: {service: productpage.default.svc.cluster.local}}
    patch: {operation: MERGE, value: {connect_timeout: 3s}}
  - applyTo: HTTP_ROUTE
    match: {context: SIDECAR_OUTBOUND, routeConfiguration: {vhost: {name: a.test.com:80}}}
    patch: {operation: MERGE, value: {decorator: {operation: "none"}}}
`;

/**
 * Sniffed ports (one by a named target port), a Service with a cluster IP and a TCP port, two Services on
 * one Pod port.
 */
export const SNIFFED_MESH = `
apiVersion: v1
kind: Service
metadata: {name: a, namespace: default}
spec:
  selector: {app: a}
  ports: [{port: 80, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata: {name: b, namespace: default}
spec:
  selector: {app: b}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: c, namespace: default}
spec:
  selector: {app: c}
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 80, targetPort: 8080}, {name: tcp-x, port: 3306, targetPort: 3306}]
---
apiVersion: v1
kind: Service
metadata: {name: a-alias, namespace: default}
spec:
  selector: {app: a}
  ports: [{name: http, port: 8080, targetPort: 9999}]
---
apiVersion: v1
kind: Pod
metadata: {name: a-1, namespace: default, labels: {app: a}}
spec: {containers: [{name: a, image: x, ports: [{name: web, containerPort: 9999}]}]}
status: {phase: Running}
`;

/** Patches that match everything of their kind, for the Pod `default/a-1`. */
export const CATCH_ALL_FILTERS = `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: x, namespace: default}
spec:
  configPatches:
  - applyTo: FILTER_CHAIN
    match: {context: ANY}
    patch: {operation: MERGE, value: {transport_socket_connect_timeout: 3s}}
  - applyTo: HTTP_ROUTE
    match: {context: ANY}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: a, value: v}}]}}
  - applyTo: LISTENER
    match: {context: ANY}
    patch: {operation: MERGE, value: {per_connection_buffer_limit_bytes: 1024}}
  - applyTo: CLUSTER
    match: {context: ANY}
    patch: {operation: MERGE, value: {connect_timeout: 4s}}
`;

/**
 * A gateway with two terminating HTTPS servers on one port and an HTTP one, a second Gateway on the same
 * port, one VirtualService bound to both (its hosts merged into one virtual host, its routes twice).
 */
export const GATEWAY_TLS_MESH = `
apiVersion: v1
kind: Service
metadata: {name: productpage, namespace: default}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Pod
metadata: {name: gw-2, namespace: gw, labels: {istio: ingress2}}
spec: {containers: [{name: istio-proxy, image: x}]}
status: {phase: Running}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: tls, namespace: gw}
spec:
  selector: {istio: ingress2}
  servers:
  - port: {number: 443, name: https-a, protocol: HTTPS}
    hosts: [a.test.com]
    tls: {mode: SIMPLE, credentialName: a-cert}
  - port: {number: 443, name: https-b, protocol: HTTPS}
    hosts: [b.test.com]
    tls: {mode: SIMPLE, credentialName: b-cert}
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: other, namespace: default}
spec:
  selector: {istio: ingress2}
  servers:
  - port: {number: 80, name: http2, protocol: HTTP}
    hosts: [c.test.com]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: all, namespace: gw}
spec:
  hosts: [a.test.com, b.test.com, c.test.com]
  gateways: [tls, default/other]
  http:
  - name: r
    route: [{destination: {host: productpage.default.svc.cluster.local}}]
`;

/** Patches for the gateway Pod `gw/gw-2`: portName, gateway, SNI. */
export const GATEWAY_TLS_FILTERS = `
apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: x, namespace: gw}
spec:
  configPatches:
  - applyTo: HTTP_ROUTE
    match: {context: GATEWAY, routeConfiguration: {portNumber: 443, portName: https-a}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: a, value: v}}]}}
  - applyTo: HTTP_ROUTE
    match: {context: GATEWAY, routeConfiguration: {gateway: gw/tls}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: b, value: v}}]}}
  - applyTo: HTTP_FILTER
    match: {context: GATEWAY, listener: {filterChain: {sni: b.test.com, filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch: {operation: INSERT_FIRST, value: {name: f}}
  - applyTo: VIRTUAL_HOST
    match: {context: GATEWAY, routeConfiguration: {portNumber: 80}}
    patch: {operation: MERGE, value: {request_headers_to_add: [{header: {key: c, value: v}}]}}
  - applyTo: FILTER_CHAIN
    match: {context: GATEWAY}
    patch: {operation: MERGE, value: {transport_socket_connect_timeout: 3s}}
`;
