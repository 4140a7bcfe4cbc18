// Validates the custom resources in rendered manifests (YAML streams on the command line) against
// their CRD schemas as kubernetes-models ships them: ServiceMonitor and PrometheusRule
// (monitoring.coreos.com/v1). kubernetes-validate only warns about custom resources; this fails.
// Any other custom resource fails too: a kind nobody validates must not slip through.
//   node validate_crs.mjs FILE...   (NPM_PREFIX: where need_npm installed the packages)
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const prefix = process.env.NPM_PREFIX;
const load = (path) => import(pathToFileURL(`${prefix}/node_modules/${path}`).href);
const { parseAllDocuments } = await load("yaml/dist/index.js");
const v1 = "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
const models = {
  "monitoring.coreos.com/v1/ServiceMonitor": (await load(`${v1}/ServiceMonitor.js`)).ServiceMonitor,
  "monitoring.coreos.com/v1/PrometheusRule": (await load(`${v1}/PrometheusRule.js`)).PrometheusRule,
};
const builtIn = /^(v1|apps\/v1|policy\/v1|networking\.k8s\.io\/v1|rbac\.authorization\.k8s\.io\/v1|batch\/v1|autoscaling\/v2)$/;

let failures = 0;
let checked = 0;
for (const file of process.argv.slice(2)) {
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    const obj = doc.toJS();
    if (!obj || builtIn.test(obj.apiVersion)) continue;
    const name = `${file}: ${obj.apiVersion}/${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`;
    const Model = models[`${obj.apiVersion}/${obj.kind}`];
    if (!Model) {
      console.error(`${name}: no schema to validate this kind against`);
      failures++;
      continue;
    }
    try {
      new Model(obj).validate();
      checked++;
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      failures++;
    }
  }
}
if (failures) process.exit(1);
console.log(`${checked} custom resources valid against their CRD schemas`);
