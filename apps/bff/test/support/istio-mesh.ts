/** A small mesh for the proxy model's and the explanation's unit tests. */
import { parseAllDocuments } from 'yaml';
import type { KubeObject } from '../../src/istio/proxy-model';

export const objectsOf = (text: string): KubeObject[] =>
  parseAllDocuments(text).map((d) => d.toJS() as KubeObject);

export const MESH = objectsOf(`
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: default}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: hello, namespace: other}
spec:
  selector: {app: hello}
  ports: [{port: 80, targetPort: web}]
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: default}
spec:
  selector: {app: db}
  ports: [{name: tcp-db, port: 5432}]
---
apiVersion: v1
kind: Pod
metadata: {name: reviews-1, namespace: default, labels: {app: reviews, version: v1}}
spec: {containers: [{name: reviews}]}
---
apiVersion: v1
kind: Pod
metadata: {name: hello-1, namespace: other, labels: {app: hello}}
spec: {containers: [{name: hello, ports: [{name: web, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: gw-1, namespace: gw, labels: {istio: ingress}}
spec: {containers: [{name: istio-proxy}]}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: default}
spec:
  hosts: [api.example.com]
  ports: [{number: 9080, name: http, protocol: HTTP}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: v1
    match: [{name: jason, headers: {end-user: {exact: jason}}}, {uri: {prefix: /a}}]
    route: [{destination: {host: reviews}}]
  - redirect: {uri: /b}
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: gw}
spec:
  selector: {istio: ingress}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*/a.test.com", "gw/b.test.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: default}
spec:
  hosts: [a.test.com]
  gateways: [gw/ingress]
  http:
  - name: r1
    route: [{destination: {host: reviews}}]
`);
