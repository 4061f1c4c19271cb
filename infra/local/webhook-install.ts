/**
 * The function server as the local cluster's admission webhook (issue 12), as `--real` does it on kube-apiserver:
 * a serving certificate for 127.0.0.1 signed by the data directory's CA (the one the cluster serves with, see
 * ./security), and infra/kubernetes/40-admission.yaml applied to the cluster with every webhook's clientConfig
 * pointing at the function server's HTTPS listener and that CA as its caBundle.
 */
import { join } from "node:path";
import { installAdmissionWebhook, removeAdmissionWebhook } from "../real/install";
import { ensureCa, ensureServingCert } from "../real/pki";
import type { LocalCluster } from "./cluster";

export const LOCAL_CA_NAME = "vmpool-local-ca";

export interface LocalAdmission {
  /** PEM of the CA the configuration's caBundle carries. */
  readonly caPem: string;
  /** PEM certificate and key the function server's HTTPS listener serves. */
  readonly webhookTls: { readonly cert: string; readonly key: string };
  /** Applies the webhook configuration pointing at `url` (https://127.0.0.1:<port>/hooks/admission). */
  install(url: string): Promise<void>;
  /** Removes it (a stopped function server should not be called). */
  remove(): Promise<void>;
}

/** The admission webhook's credentials in `<dataDir>/pki` and how to install it on `cluster`. */
export function localAdmission(cluster: LocalCluster, dataDir: string): LocalAdmission {
  const dir = join(dataDir, "pki");
  const caPem = ensureCa(dir, LOCAL_CA_NAME);
  const webhookTls = ensureServingCert({ dir }, "webhook");
  const admin = {
    url: cluster.url,
    ...(cluster.security ? { ca: cluster.security.ca, token: cluster.security.token } : {}),
  };
  return {
    caPem,
    webhookTls,
    install: async (url) => {
      await installAdmissionWebhook(admin, url, caPem);
    },
    remove: () => removeAdmissionWebhook(admin),
  };
}
